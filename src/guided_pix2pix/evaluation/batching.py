"""Batches of dataset items of any size, for evaluation: same-size items are stacked together."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch

from ..errors import BadOptionError


def collate(items: list[dict]) -> dict:
    """Stack same-size items: tensors to (N, ...), meta to {key: list}, numeric meta to (N,) tensors."""
    batch: dict = {key: torch.stack([item[key] for item in items]) for key in items[0] if key != "meta"}
    metas = [item.get("meta", {}) for item in items]
    meta: dict = {}
    for key in metas[0]:
        values = [m.get(key) for m in metas]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        meta[key] = torch.tensor(values, dtype=torch.float64) if numeric else values
    batch["meta"] = meta
    return batch


def batches_by_size(items: Iterable[dict], batch_size: int) -> Iterator[dict]:
    """Collated batches of up to `batch_size` consecutive items that share (H, W); order is kept."""
    if batch_size < 1:
        raise BadOptionError("--batch-size", f"must be >= 1, got {batch_size}")
    pending: list[dict] = []
    for item in items:
        if pending and (
            len(pending) == batch_size or pending[0]["input"].shape[-2:] != item["input"].shape[-2:]
        ):
            yield collate(pending)
            pending = []
        pending.append(item)
    if pending:
        yield collate(pending)
