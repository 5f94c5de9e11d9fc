"""sRGB <-> CIE-LAB in torch, on (N, 3, H, W) batches, on whatever device the batch is on.

The formulas and constants are scikit-image's (`skimage.color.rgb2lab` / `lab2rgb`: sRGB
companding, the D65 2-degree white point, the 0.008856 / 7.787 linear segment), so results
agree with scikit-image to well under 1e-4 in float32 and to ~1e-12 in float64.

Units: RGB in [0, 1]; L in [0, 100], a and b roughly in [-128, 127].
`normalize_lab` / `denormalize_lab` map LAB to and from the TextureGAN convention used by
the texture task: ((L - 50) / 50, a / 128, b / 128).
"""

from __future__ import annotations

import numpy as np
import torch

# sRGB (linear) -> XYZ, the matrix scikit-image uses; its inverse for the way back.
_XYZ_FROM_RGB = np.array(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]]
)
_RGB_FROM_XYZ = np.linalg.inv(_XYZ_FROM_RGB)
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])  # CIE XYZ of the D65 white, 2-degree observer

_LAB_MEAN = (50.0, 0.0, 0.0)
_LAB_STD = (50.0, 128.0, 128.0)


def _check_batch(batch: torch.Tensor, name: str) -> None:
    if not isinstance(batch, torch.Tensor) or batch.ndim != 4 or batch.shape[1] != 3:
        shape = tuple(batch.shape) if isinstance(batch, torch.Tensor) else type(batch).__name__
        raise ValueError(f"{name}: expected an (N, 3, H, W) tensor, got {shape}")
    if not batch.is_floating_point():
        raise ValueError(f"{name}: expected a floating-point tensor, got {batch.dtype}")


def _mix(matrix: np.ndarray, batch: torch.Tensor) -> torch.Tensor:
    m = torch.as_tensor(matrix, dtype=batch.dtype, device=batch.device)
    return torch.einsum("ij,njhw->nihw", m, batch)  # (3, 3) x (N, 3, H, W) -> (N, 3, H, W)


def _per_channel(values, batch: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(values, dtype=batch.dtype, device=batch.device).view(1, 3, 1, 1)


def rgb_to_lab(batch: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) sRGB in [0, 1] -> (N, 3, H, W) LAB (L in [0, 100]); same dtype and device."""
    _check_batch(batch, "rgb_to_lab")
    linear = torch.where(batch > 0.04045, ((batch + 0.055) / 1.055) ** 2.4, batch / 12.92)
    xyz = _mix(_XYZ_FROM_RGB, linear) / _per_channel(_WHITE_D65, batch)
    f = torch.where(xyz > 0.008856, xyz.clamp_min(0.008856) ** (1.0 / 3.0), 7.787 * xyz + 16.0 / 116.0)
    fx, fy, fz = f[:, 0:1], f[:, 1:2], f[:, 2:3]
    return torch.cat([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], dim=1)  # (N, 3, H, W)


# rows per `rgb_to_lab_array` block: its float64 temporaries (about 100 KB each) stay in the
# CPU cache, where one pass over a whole batch's colours (megabytes) would not
_LAB_BLOCK = 4096


def rgb_to_lab_array(rgb: np.ndarray, normalized: bool = False) -> np.ndarray:
    """(..., 3) float64 numpy sRGB in [0, 1] -> (..., 3) LAB: `rgb_to_lab`'s formulas and
    order of operations in numpy, which costs far less per call than torch on the few
    thousand pixels of one synthetic item (results agree to a few float64 ulps).
    normalized: return `normalize_lab`'s scaling ((L - 50) / 50, a / 128, b / 128) instead.
    Every colour is converted on its own, so converting in blocks changes no value."""
    flat = rgb.reshape(-1, 3)
    if len(flat) <= _LAB_BLOCK:
        return _lab_block(rgb, normalized)
    blocks = [
        _lab_block(flat[start : start + _LAB_BLOCK], normalized) for start in range(0, len(flat), _LAB_BLOCK)
    ]
    return np.concatenate(blocks).reshape(rgb.shape)


def _lab_block(rgb: np.ndarray, normalized: bool) -> np.ndarray:
    """`rgb_to_lab_array` of one block of colours."""
    linear = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = (linear @ _XYZ_FROM_RGB.T) / _WHITE_D65
    f = np.where(xyz > 0.008856, np.maximum(xyz, 0.008856) ** (1.0 / 3.0), 7.787 * xyz + 16.0 / 116.0)
    fx, fy, fz = f[..., 0], f[..., 1], f[..., 2]
    lab = np.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1)
    return (lab - np.array(_LAB_MEAN)) / np.array(_LAB_STD) if normalized else lab


def lab_to_rgb(batch: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) LAB -> (N, 3, H, W) sRGB clipped to [0, 1], as `skimage.color.lab2rgb`.

    Like scikit-image, a negative Z (LAB outside the XYZ gamut) is clipped to zero.
    """
    _check_batch(batch, "lab_to_rgb")
    L, a, b = batch[:, 0:1], batch[:, 1:2], batch[:, 2:3]
    fy = (L + 16.0) / 116.0
    fx = a / 500.0 + fy
    fz = (fy - b / 200.0).clamp_min(0.0)
    f = torch.cat([fx, fy, fz], dim=1)  # (N, 3, H, W)
    xyz = torch.where(f > 0.2068966, f**3, (f - 16.0 / 116.0) / 7.787) * _per_channel(_WHITE_D65, batch)
    linear = _mix(_RGB_FROM_XYZ, xyz)
    rgb = torch.where(
        linear > 0.0031308, 1.055 * linear.clamp_min(0.0031308) ** (1.0 / 2.4) - 0.055, linear * 12.92
    )
    return rgb.clamp(0.0, 1.0)


def normalize_lab(lab: torch.Tensor) -> torch.Tensor:
    """LAB (N, 3, H, W) -> TextureGAN scaling ((L - 50) / 50, a / 128, b / 128), about [-1, 1]."""
    return (lab - _per_channel(_LAB_MEAN, lab)) / _per_channel(_LAB_STD, lab)


def denormalize_lab(lab: torch.Tensor) -> torch.Tensor:
    """Inverse of `normalize_lab`: TextureGAN-scaled LAB -> LAB (L in [0, 100])."""
    return lab * _per_channel(_LAB_STD, lab) + _per_channel(_LAB_MEAN, lab)
