"""Depth errors in centimetres for guided depth upsampling (NYU v2 style), two named protocols.

Both protocols de-normalise each image with its own depth range, crop a border, compute the
error per image over the kept, known pixels, and average the per-image errors:

- Protocol A, the official bFT evaluation (`util.evaluate_depth` of vt-vl-lab/Guided-pix2pix):
  network tensors in [-1, 1] -> [0, 1] -> d_min + x (d_max - d_min) metres -> x 100 cm; both
  prediction and target use the target image's min/max (``min_16x.mat`` / ``max_16x.mat``);
  crop rows 7 : H - 6 and columns 7 : W - 6 (H = 480, W = 640 hard-coded there, i.e. [7:474,
  7:634]; here the same margins at any size); RMSE = sqrt(mean squared error) per image, then
  the mean over images.
- Protocol B, DKN-style (Kim, Ponce & Ham, "Deformable Kernel Networks for Joint Image
  Filtering", IJCV 2020, and later NYU v2 upsampling papers that reuse its `calc_rmse`, e.g.
  FDSR, DCTNet, SGNet): depth normalised per image to [0, 1] by the ground truth's min/max,
  de-normalised with the same min/max, metres x 100; crop 6 pixels on every side ([6:-6,
  6:-6]); RMSE per image, mean over images. Their tensors are in [0, 1]: pass
  ``value_range=(0, 1)`` for those, the default (-1, 1) is this project's contract.

MAE uses the same de-normalisation, crop and averaging with |error|. Unknown depth (the
`valid` mask is False, or the de-normalised target is not finite) is excluded from each
image's mean; the official code has no mask because its NYU targets are inpainted. An image
with no known pixel left after the crop raises an error.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import BadOptionError
from ._common import check_value_range, compute_dtype, reduce


@dataclass(frozen=True)
class DepthProtocol:
    """A depth evaluation protocol: border crop in pixels (top, bottom, left, right)."""

    name: str
    crop: tuple[int, int, int, int]
    source: str


PROTOCOLS: dict[str, DepthProtocol] = {
    "A": DepthProtocol("A", (7, 6, 7, 6), "official bFT util.evaluate_depth, crop [7:H-6, 7:W-6]"),
    "B": DepthProtocol("B", (6, 6, 6, 6), "DKN calc_rmse, crop [6:-6, 6:-6]"),
}


def _as_depth(x, name: str) -> torch.Tensor:
    x = torch.as_tensor(x)
    if x.ndim == 4:
        if x.shape[1] != 1:
            raise BadOptionError(name, f"depth maps need one channel, got shape {tuple(x.shape)}")
        x = x[:, 0]  # (N, 1, H, W) -> (N, H, W)
    elif x.ndim == 2:
        x = x.unsqueeze(0)  # (H, W) -> (1, H, W)
    if x.ndim != 3:
        raise BadOptionError(name, f"expected (N, 1, H, W), (N, H, W) or (H, W), got shape {tuple(x.shape)}")
    return x.to(compute_dtype(x.device))


def depth_in_metres(x, depth_min, depth_max, *, value_range=(-1.0, 1.0)) -> torch.Tensor:
    """Normalised depth maps (N, [1,] H, W) -> metres, using per-image depth_min/depth_max (N,) in metres."""
    x = _as_depth(x, "depth")
    lo, hi = check_value_range(value_range)
    dmin = torch.as_tensor(depth_min, dtype=x.dtype, device=x.device).reshape(-1, 1, 1)  # (N, 1, 1)
    dmax = torch.as_tensor(depth_max, dtype=x.dtype, device=x.device).reshape(-1, 1, 1)
    if dmin.shape[0] not in (1, x.shape[0]) or dmax.shape[0] != dmin.shape[0]:
        raise BadOptionError(
            "depth_min", f"need one min and max per image ({x.shape[0]}), got {dmin.shape[0]}"
        )
    return dmin + (x - lo) / (hi - lo) * (dmax - dmin)


def depth_errors_metric(pred_m, target_m, *, protocol: str = "A", valid=None) -> dict[str, torch.Tensor]:
    """Per-image RMSE and MAE in cm, {"rmse": (N,), "mae": (N,)}, from depth maps in metres.

    Applies the protocol's border crop and excludes unknown pixels (`valid` False, target not
    finite). pred_m, target_m: (N, [1,] H, W) metres; valid: same shape, bool, optional.
    """
    if protocol not in PROTOCOLS:
        raise BadOptionError(
            "protocol", f"unknown depth protocol {protocol!r} (choose from {', '.join(PROTOCOLS)})"
        )
    pred = _as_depth(pred_m, "pred")
    target = _as_depth(target_m, "target").to(pred.device)
    if pred.shape != target.shape:
        raise BadOptionError("target", f"shape {tuple(target.shape)} differs from pred's {tuple(pred.shape)}")
    known = torch.isfinite(target)
    if valid is not None:
        mask = _as_depth(valid, "valid").to(pred.device) != 0
        if mask.shape != known.shape:
            raise BadOptionError(
                "valid", f"shape {tuple(mask.shape)} differs from the depth maps' {tuple(known.shape)}"
            )
        known &= mask
    top, bottom, left, right = PROTOCOLS[protocol].crop
    h, w = pred.shape[-2:]
    if h <= top + bottom or w <= left + right:
        raise BadOptionError("pred", f"{h}x{w} depth map is too small for the protocol {protocol} crop")
    rows, cols = slice(top, h - bottom), slice(left, w - right)
    known = known[:, rows, cols]
    diff_cm = torch.where(known, (pred[:, rows, cols] - target[:, rows, cols]) * 100.0, 0.0)
    count = known.flatten(1).sum(1)  # (N,)
    if bool((count == 0).any()):
        bad = torch.nonzero(count == 0).flatten().tolist()
        raise BadOptionError(
            "valid", f"images {bad} have no known depth pixel inside the protocol {protocol} crop"
        )
    return {
        "rmse": (diff_cm.pow(2).flatten(1).sum(1) / count).sqrt(),
        "mae": diff_cm.abs().flatten(1).sum(1) / count,
    }


def depth_errors(
    pred, target, depth_min, depth_max, *, protocol: str = "A", valid=None, value_range=(-1.0, 1.0)
) -> dict[str, torch.Tensor]:
    """Per-image RMSE and MAE in cm from normalised depth maps; see the module docstring for protocols.

    pred, target: (N, [1,] H, W) in `value_range`; depth_min, depth_max: (N,) metres, the
    target image's range used to normalise it (both maps are de-normalised with it).
    """
    pred_m = depth_in_metres(pred, depth_min, depth_max, value_range=value_range)
    target_m = depth_in_metres(target, depth_min, depth_max, value_range=value_range)
    return depth_errors_metric(pred_m, target_m, protocol=protocol, valid=valid)


def depth_rmse(
    pred, target, depth_min, depth_max, *, protocol="A", valid=None, value_range=(-1.0, 1.0), reduction="mean"
) -> float | torch.Tensor:
    """Depth RMSE in cm: per-image RMSE, then the mean over images (protocol "A" or "B")."""
    errors = depth_errors(
        pred, target, depth_min, depth_max, protocol=protocol, valid=valid, value_range=value_range
    )
    return reduce(errors["rmse"], reduction)


def depth_mae(
    pred, target, depth_min, depth_max, *, protocol="A", valid=None, value_range=(-1.0, 1.0), reduction="mean"
) -> float | torch.Tensor:
    """Depth MAE in cm: per-image mean absolute error, then the mean over images (protocol "A" or "B")."""
    errors = depth_errors(
        pred, target, depth_min, depth_max, protocol=protocol, valid=valid, value_range=value_range
    )
    return reduce(errors["mae"], reduction)
