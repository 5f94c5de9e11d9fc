"""Helpers shared by the metric tests (a plain module: `conftest` names are not unique across folders)."""

from __future__ import annotations

import numpy as np
import torch


def to_tensor(img: np.ndarray) -> torch.Tensor:
    """(H, W) or (H, W, C) array -> (1, C, H, W) float64 tensor with the same values."""
    img = img[:, :, None] if img.ndim == 2 else img
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).double()[None]
