"""What every dataset in this package shares: the error policy and option checks.

A dataset subclasses `ItemDataset` and implements `__len__` and `load_item(index) -> dict`
(the item contract of DESIGN.md). `__getitem__` adds:

- the error policy: ``on_error="raise"`` (default) lets a `BadFileError` through;
  ``on_error="skip"`` logs it on the ``guided_pix2pix.data`` logger, records it in
  `skipped` and serves the next readable item instead, so a batch never holds a wrong item.
  Counts are per process: with DataLoader workers each worker keeps its own.

Augmentation is not a dataset's job: training flips and crops whole batches with
`data.transforms.augment_batch`, drawn per step so that a resumed run is exact.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence, Sized
from typing import cast

import torch

from ..errors import BadFileError, BadOptionError
from ..files.images import MAX_PIXELS

log = logging.getLogger("guided_pix2pix.data")

ON_ERROR = ("raise", "skip")
SPLITS = ("train", "val", "test")
# The largest item count a dataset option may ask for: ten million items. Training draws a
# permutation of the items per epoch (8 bytes each: 80 MB at this bound); larger counts are a
# typo (`count=10000000000` would try to allocate 80 GB) and are refused before anything runs.
MAX_COUNT = 10_000_000
MAX_SEED = 2**63 - 1


def check_choice(option: str, value, allowed: Sequence) -> None:
    if value not in allowed:
        raise BadOptionError(option, f"{value!r} is not one of {', '.join(map(str, allowed))}")


def check_size(option: str, size, minimum: int = 8) -> tuple[int, int]:
    """Validate an (H, W) pair of pixel counts; an int means a square; at most `MAX_PIXELS`
    (files.images: 64 Mpixel) in all, the limit of every image read from a file."""
    if isinstance(size, int) and not isinstance(size, bool):
        size = (size, size)
    try:
        h, w = (int(s) for s in size)
        ok = all(float(s) == int(s) for s in size)
    except (TypeError, ValueError):
        ok = False
    if not ok or h < minimum or w < minimum:
        raise BadOptionError(option, f"expected (height, width) in pixels, each >= {minimum}, got {size!r}")
    if h * w > MAX_PIXELS:
        raise BadOptionError(option, f"{h}x{w} pixels exceeds the limit of {MAX_PIXELS} pixels per image")
    return h, w


def check_count(option: str, value, minimum: int = 1, maximum: int = MAX_COUNT) -> int:
    """An integer in [minimum, maximum]; the default bound is `MAX_COUNT` (ten million)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise BadOptionError(option, f"expected an integer >= {minimum}, got {value!r}")
    if value > maximum:
        raise BadOptionError(option, f"expected an integer <= {maximum}, got {value}")
    return value


class ItemDataset(torch.utils.data.Dataset):
    """Base class. Subclasses set `task`, `channels` and implement `__len__` and `load_item`."""

    task: str = "generic"  # "depth" | "pose" | "texture" | "generic"
    channels: tuple[int, int, int | None] = (0, 0, 0)  # (input_nc, guide_nc, output_nc)

    def __init__(self, on_error: str = "raise"):
        """on_error: "raise" or "skip" (log, count in `skipped`, serve the next readable item)."""
        check_choice("on_error", on_error, ON_ERROR)
        self.on_error = on_error
        self.skipped: list[str] = []

    @property
    def num_skipped(self) -> int:
        return len(self.skipped)

    def record_skip(self, error: BadFileError) -> None:
        """Log and count one unreadable item (used at scan time and at read time)."""
        self.skipped.append(str(error))
        log.warning("skipping item: %s", error)

    def load_item(self, index: int) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def checked_index(self, index: int) -> int:
        """`index` in [0, len) (negative ones counted from the end), or an IndexError."""
        n = len(cast(Sized, self))  # subclasses implement __len__ (torch's Dataset stub has none)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for a dataset of {n} items")
        return index % n

    def __getitem__(self, index: int) -> dict:
        n = len(cast(Sized, self))
        index = self.checked_index(index)
        last = None
        for attempt in range(n):
            try:
                item = self.load_item((index + attempt) % n)
                break
            except BadFileError as exc:
                if self.on_error != "skip":
                    raise
                self.record_skip(exc)
                last = exc
        else:
            assert last is not None  # n >= 1 and every attempt failed
            raise BadFileError(last.path, f"no readable item left to serve (last: {last.problem})")
        return item
