"""File values <-> network values: the one mapping between what image files store and what the
networks see, used by folder datasets, `translate`, `score` and `data synth`.

- integer images: uint8 / 255 and uint16 / 65535 ("white" of the dtype) span the range;
- float arrays (.npy, float TIFF) hold network values directly, in [-1, 1], and must be finite.

`to_signed_unit` reads a file's array into a network tensor, `from_signed_unit` is its exact
inverse for writing (rounded and clipped), and `to_unit` maps a file's array to [0, 1] for
scoring with the same whites.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import BadFileError

INTEGER_WHITE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}  # dtype -> value of white


def to_signed_unit(arr: np.ndarray, path: Path) -> torch.Tensor:
    """(H, W, C) uint8 / uint16 / float array -> (C, H, W) float32 in [-1, 1]; checks floats."""
    if arr.dtype in INTEGER_WHITE:
        x = arr.astype(np.float32) / INTEGER_WHITE[arr.dtype] * 2.0 - 1.0
    else:
        x = arr.astype(np.float32)
        if not np.isfinite(x).all():
            raise BadFileError(path, f"holds {int((~np.isfinite(x)).sum())} NaN or infinite values")
        lo, hi = float(x.min()), float(x.max())
        if lo < -1.0 - 1e-5 or hi > 1.0 + 1e-5:
            raise BadFileError(
                path,
                f"float values must lie in [-1, 1] (found {lo:.4g}..{hi:.4g}); save uint8/uint16 instead",
            )
        x = np.clip(x, -1.0, 1.0)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))  # (H, W, C) -> (C, H, W)


def from_signed_unit(x: torch.Tensor, dtype: np.dtype | type) -> np.ndarray:
    """(C, H, W) network values in [-1, 1] -> (H, W, C) array of `dtype` (the inverse mapping).

    uint8 / uint16: (x + 1) / 2 * white, rounded and clipped; float dtypes: float32, clipped.
    """
    arr = x.detach().float().cpu().numpy().transpose(1, 2, 0)  # (C, H, W) -> (H, W, C)
    dtype = np.dtype(dtype)
    if dtype in INTEGER_WHITE:
        white = INTEGER_WHITE[dtype]
        return np.clip(np.rint((arr + 1.0) / 2.0 * white), 0, white).astype(dtype)
    return np.ascontiguousarray(np.clip(arr, -1.0, 1.0).astype(np.float32))


def to_unit(arr: np.ndarray, float_range: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """(H, W, C) file array -> float64 in [0, 1]: integers by their dtype's white, floats by
    `float_range` = (black, white)."""
    if arr.dtype in INTEGER_WHITE:
        return arr.astype(np.float64) / INTEGER_WHITE[arr.dtype]
    lo, hi = float_range
    return (arr.astype(np.float64) - lo) / (hi - lo)
