"""Running a trained generator on data of any size: shared by `translate`, `evaluate` and the quickstart.

- `locate_generator(path)`: a `save_pretrained` folder, or a run folder (``RUN/generator``,
  else the newest ``RUN/checkpoints/step_*/generator``).
- `resolve_device("auto" | "cpu" | "cuda" | "cuda:1" | "mps")`: "auto" is the best available.
- `padded_size(model, h, w)` / `run_padded(model, input, guide)`: reflect-pad (N, C, H, W)
  batches at the bottom and right to the sizes the backbone accepts (`Generator.body.size_rule`),
  run, crop back to (H, W).
- `batches_by_size(items, batch_size)`: group dataset items of equal spatial size into batches.
- `from_signed_unit`: network values -> file values, the inverse of `FolderDataset`'s
  `to_signed_unit` (uint8 / 255, uint16 / 65535 to [-1, 1]; float arrays used as stored).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch

from .data.transforms import reflect_pad_to
from .errors import BadFileError, BadOptionError
from .nn.generator import CONFIG_NAME, WEIGHTS_NAME, Generator

INTEGER_WHITE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}  # dtype -> value of white


# ----------------------------------------------------------------------------- locating models
def _is_generator_dir(path: Path) -> bool:
    return (path / CONFIG_NAME).is_file() and (path / WEIGHTS_NAME).is_file()


def locate_generator(path: str | Path) -> Path:
    """The generator folder behind `path`: itself, ``path/generator``, or the newest checkpoint's.

    Raises `BadFileError` naming `path` when none of the three holds config.json and
    model.safetensors.
    """
    from .checkpoint import list_checkpoints

    path = Path(path)
    if not path.is_dir():
        raise BadFileError(path, "no such folder (--checkpoint takes a generator folder or a run folder)")
    if _is_generator_dir(path):
        return path
    if _is_generator_dir(path / "generator"):
        return path / "generator"
    for folder in reversed(list_checkpoints(path / "checkpoints")):
        if _is_generator_dir(folder / "generator"):
            return folder / "generator"
    raise BadFileError(
        path,
        f"no generator here: expected {CONFIG_NAME} + {WEIGHTS_NAME}, a generator/ folder, "
        "or checkpoints/step_*/generator/",
    )


def run_folder_of(generator_dir: Path) -> Path | None:
    """The run folder a located generator belongs to (holding config.yaml), if any."""
    for candidate in (generator_dir.parent, generator_dir.parent.parent.parent):
        if (candidate / "config.yaml").is_file():
            return candidate
    return None


def resolve_device(text: str = "auto") -> torch.device:
    """ "auto": CUDA if present, else Apple MPS if present, else CPU; otherwise a torch device name."""
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    try:
        device = torch.device(text)
    except RuntimeError as exc:
        raise BadOptionError("--device", f"unknown device {text!r} (auto, cpu, cuda, cuda:N, mps)") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise BadOptionError("--device", f"{text!r} asked for, but no CUDA device is available")
    return device


def load_generator(path: str | Path, device: torch.device) -> tuple[Generator, Path]:
    """(generator in eval mode on `device`, the folder it came from) for a --checkpoint path."""
    folder = locate_generator(path)
    model = Generator.from_pretrained(folder).to(device).eval()
    return model, folder


# ----------------------------------------------------------------------------- sizes
def padded_size(model: Generator, h: int, w: int) -> tuple[int, int]:
    """The smallest (H', W') >= (h, w) that the model's backbone accepts (pixels)."""
    multiple, minimum, _ = model.body.size_rule(model.config)

    def up(n: int) -> int:
        n = max(n, minimum)
        return -(-n // multiple) * multiple

    return up(h), up(w)


@torch.no_grad()
def run_padded(model: Generator, input: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
    """G(input, guide) for (N, C, H, W) batches of any H, W: pad, run, crop back; float32 output."""
    h, w = input.shape[-2:]
    H, W = padded_size(model, h, w)
    out = model(reflect_pad_to(input, H, W), reflect_pad_to(guide, H, W))
    return out[..., :h, :w].float()


# ----------------------------------------------------------------------------- batching
def collate(items: list[dict]) -> dict:
    """Stack same-size items: tensors to (N, ...), meta to {key: list}, numeric meta to (N,) tensors."""
    batch = {key: torch.stack([item[key] for item in items]) for key in items[0] if key != "meta"}
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


def to_device(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


# ----------------------------------------------------------------------------- file values
def from_signed_unit(x: torch.Tensor, dtype: np.dtype) -> np.ndarray:
    """(C, H, W) network values in [-1, 1] -> (H, W, C) array of `dtype` (the inverse mapping).

    uint8 / uint16: (x + 1) / 2 * white, rounded and clipped; float dtypes: float32 as is.
    """
    arr = x.detach().float().cpu().numpy().transpose(1, 2, 0)  # (C, H, W) -> (H, W, C)
    dtype = np.dtype(dtype)
    if dtype in INTEGER_WHITE:
        white = INTEGER_WHITE[dtype]
        return np.clip(np.rint((arr + 1.0) / 2.0 * white), 0, white).astype(dtype)
    return np.clip(arr, -1.0, 1.0).astype(np.float32)
