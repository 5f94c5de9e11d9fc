"""Input checks and reductions shared by the metric functions.

Conventions for every image metric in this package:

- images are float tensors (N, C, H, W) or a single (C, H, W) image; numpy arrays are accepted
  and converted; integer tensors are converted to float with their values kept (uint8 0..255
  stays 0..255, so pass ``value_range=(0, 255)`` for those);
- ``value_range=(lo, hi)`` says which values are black and white; the default (-1, 1) is the
  generator's output range (DESIGN.md contract);
- computation runs on the tensors' device, in float64 (float32 on Apple MPS, which has no float64);
- ``reduction="mean"`` returns a Python float (mean over images), ``"none"`` a (N,) tensor.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..errors import BadOptionError

REDUCTIONS: dict[str, Callable[[torch.Tensor], float | torch.Tensor]] = {
    "mean": lambda values: float(values.mean()),
    "none": lambda values: values,
}


def reduce(values: torch.Tensor, reduction: str) -> float | torch.Tensor:
    """Apply a named reduction to per-image values (N,)."""
    if reduction not in REDUCTIONS:
        raise BadOptionError(
            "reduction", f"unknown reduction {reduction!r} (choose from {', '.join(REDUCTIONS)})"
        )
    return REDUCTIONS[reduction](values)


def compute_dtype(device: torch.device) -> torch.dtype:
    """float64 for metric arithmetic wherever the device supports it."""
    return torch.float32 if device.type == "mps" else torch.float64


def as_images(x, name: str) -> torch.Tensor:
    """Return `x` as a float (N, C, H, W) tensor in the metric dtype, on its own device."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor):
        raise BadOptionError(name, f"expected a tensor or numpy array, got {type(x).__name__}")
    if x.ndim == 3:
        x = x.unsqueeze(0)  # (C, H, W) -> (1, C, H, W)
    if x.ndim != 4:
        raise BadOptionError(name, f"expected (N, C, H, W) or (C, H, W), got shape {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise BadOptionError(name, "empty batch (N = 0)")
    return x.to(compute_dtype(x.device))


def as_pair(pred, target) -> tuple[torch.Tensor, torch.Tensor]:
    """Both images as (N, C, H, W) tensors of one shape on pred's device."""
    pred = as_images(pred, "pred")
    target = as_images(target, "target").to(pred.device)
    if pred.shape != target.shape:
        raise BadOptionError("target", f"shape {tuple(target.shape)} differs from pred's {tuple(pred.shape)}")
    return pred, target


def check_value_range(value_range) -> tuple[float, float]:
    """Validate (lo, hi) with lo < hi."""
    try:
        lo, hi = (float(v) for v in value_range)
    except (TypeError, ValueError) as exc:
        raise BadOptionError("value_range", f"expected (lo, hi), got {value_range!r}") from exc
    if not lo < hi:
        raise BadOptionError("value_range", f"lo must be below hi, got {value_range!r}")
    return lo, hi


def to_unit(x: torch.Tensor, value_range) -> torch.Tensor:
    """Map images from `value_range` to [0, 1] (not clamped)."""
    lo, hi = check_value_range(value_range)
    return (x - lo) / (hi - lo)


def to_rgb(x: torch.Tensor, name: str) -> torch.Tensor:
    """Repeat a grey channel to three; refuse channel counts other than 1 and 3."""
    if x.shape[1] == 1:
        return x.expand(-1, 3, -1, -1)  # (N, 1, H, W) -> (N, 3, H, W)
    if x.shape[1] != 3:
        raise BadOptionError(name, f"expected 1 or 3 channels, got {x.shape[1]}")
    return x


def jit_load(path, map_location):
    """`torch.jit.load` without its deprecation warning: TorchScript is the format these weights ship in."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*jit.load.*")
        return torch.jit.load(path, map_location=map_location)
