"""Low-resolution depth inputs and the depth normalisation, shared by every depth dataset.

Two down-sampling protocols are in use in the guided depth up-sampling literature:

- protocol ``"A"`` (interval / nearest): keep one depth sample per `scale` x `scale` cell, the
  sample at offset `scale // 2` (MATLAB ``imresize(d, 1/s, 'nearest')``). DJF and the bFT paper
  evaluate this way on NYU v2.
- protocol ``"B"`` (bicubic): anti-aliased bicubic down-sampling, as DKN, FDKN and later papers.

Either way the low-resolution map is up-sampled back to full size with bicubic interpolation
(the official NYU ``input_*x`` files hold such up-sampled maps), so input and target share H x W.

The two grids agree at every size: a map whose side is not a multiple of `scale` is first
extended (edge pixels repeated) to the next multiple, so the low-resolution map has exactly
1 / scale of its pixels per side, is up-sampled by exactly `scale`, and is cropped back. (Up-
sampling ceil(H / scale) samples straight to H pixels would stretch the grid by H / (scale *
ceil(H / scale)) and shift every sample, by up to a pixel and a half on Middlebury's 741 columns.)

Normalisation (`NORMALIZATIONS`), chosen per dataset with ``normalize``:

- ``"target"`` (the default; the official NYU files): each image is scaled to [0, 1] with the
  minimum and maximum of its own full-resolution target depth, the input with the same two
  numbers and then clipped to [0, 1] (the official loader clips the input, bicubic overshoot
  included), and both are mapped to [-1, 1]. The input then depends on the target's range,
  which no user has at inference.
- ``"input"`` (what `translate` does with a sensor's map): the two numbers are the minimum and
  maximum of the *low-resolution samples*, so the input is exactly what inference computes;
  the input is clipped as above, the target is not (a target pixel outside the samples' range
  lies outside [-1, 1], so losses and metrics see the true depth).

Either way ``depth_m = (x + 1) / 2 * (max - min) + min`` undoes it (``meta`` holds the two).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import BadFileError, BadOptionError

DEPTH_RANGE_M = (0.5, 10.0)  # indoor range of the synthetic task and of NYU v2, metres


def _low_size(size: int, scale: int) -> int:
    return max(1, math.ceil(size / scale))


def downsample_interval(depth: torch.Tensor, scale: int) -> torch.Tensor:
    """Protocol A. (N, 1, H, W) -> (N, 1, ceil(H / scale), ceil(W / scale)), one sample per cell.

    The sample of cell i sits at row ``scale * i + scale // 2`` (clamped to the last row when H
    is not a multiple of `scale`), as MATLAB's nearest-neighbour ``imresize`` picks it.
    """
    H, W = depth.shape[-2:]
    rows = torch.clamp(torch.arange(_low_size(H, scale)) * scale + scale // 2, max=H - 1)
    cols = torch.clamp(torch.arange(_low_size(W, scale)) * scale + scale // 2, max=W - 1)
    return depth[..., rows.to(depth.device), :][..., cols.to(depth.device)]


def downsample_bicubic(depth: torch.Tensor, scale: int) -> torch.Tensor:
    """Protocol B. (N, 1, H, W) -> (N, 1, ceil(H / scale), ceil(W / scale)), anti-aliased bicubic."""
    H, W = depth.shape[-2:]
    size = (_low_size(H, scale), _low_size(W, scale))
    return F.interpolate(depth, size=size, mode="bicubic", align_corners=False, antialias=True)


def upsample_bicubic(low: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    """(N, C, h, w) -> (N, C, H, W) bicubic (Keys a = -0.5, the MATLAB / PIL kernel)."""
    return F.interpolate(low, size=tuple(size), mode="bicubic", align_corners=False, antialias=True)


# protocol name -> down-sampling function (N, 1, H, W) -> (N, 1, h, w)
DOWNSAMPLERS: dict[str, Callable[[torch.Tensor, int], torch.Tensor]] = {
    "A": downsample_interval,
    "B": downsample_bicubic,
}
SCALES = (2, 4, 8, 16, 32)


def check_protocol(protocol: str, scale: int) -> tuple[str, int]:
    """Validate a protocol name and an up-sampling factor; return them normalised."""
    key = str(protocol).upper()
    if key not in DOWNSAMPLERS:
        raise BadOptionError("protocol", f"unknown down-sampling protocol {protocol!r}; choose from A, B")
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or int(scale) not in SCALES:
        raise BadOptionError("scale", f"up-sampling factor must be one of {SCALES}, got {scale!r}")
    return key, int(scale)


def low_resolution_depth(depth_m: torch.Tensor, scale: int, protocol: str = "A") -> torch.Tensor:
    """Full-resolution depth (H, W) or (N, 1, H, W), metres -> the low-resolution samples
    (N, 1, ceil(H / scale), ceil(W / scale)) on the aligned grid (see the module docstring)."""
    protocol, scale = check_protocol(protocol, scale)
    H, W = depth_m.shape[-2:]
    batch = depth_m.reshape(-1, 1, H, W).float()  # (H, W) or (N, 1, H, W) -> (N, 1, H, W)
    full_h, full_w = _low_size(H, scale) * scale, _low_size(W, scale) * scale
    if (full_h, full_w) != (H, W):  # extend to multiples of the scale: (N, 1, H, W) -> (N, 1, H', W')
        batch = F.pad(batch, (0, full_w - W, 0, full_h - H), mode="replicate")
    return DOWNSAMPLERS[protocol](batch, scale)  # (N, 1, H' / scale, W' / scale)


def degrade_depth(depth_m: torch.Tensor, scale: int, protocol: str = "A") -> torch.Tensor:
    """Full-resolution depth (H, W) or (N, 1, H, W), metres -> low-res input up-sampled back, same
    shape, on aligned grids (see the module docstring)."""
    H, W = depth_m.shape[-2:]
    return _upsample_aligned(low_resolution_depth(depth_m, scale, protocol), scale, (H, W)).reshape(
        depth_m.shape
    )


def _upsample_aligned(low: torch.Tensor, scale: int, size: tuple[int, int]) -> torch.Tensor:
    """(N, 1, h, w) samples of the aligned grid at `scale` -> (N, 1, H, W): up-sampled by exactly
    `scale`, then cropped to `size`."""
    h, w = low.shape[-2:]
    return upsample_bicubic(low, (h * scale, w * scale))[..., : size[0], : size[1]]


def depth_range(depth_m: torch.Tensor, valid: torch.Tensor | None = None) -> tuple[float, float]:
    """Per-image (min, max) of the target depth in metres, over valid pixels only."""
    values = depth_m[valid] if valid is not None else depth_m
    lo, hi = float(values.min()), float(values.max())
    if not hi > lo:
        hi = lo + 1e-3  # a flat depth map: any positive span keeps the mapping invertible
    return lo, hi


def normalize_depth(depth_m: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """Metres -> [-1, 1] with ((d - lo) / (hi - lo)) * 2 - 1, clipped to [-1, 1]."""
    return ((depth_m - lo) / (hi - lo)).clamp(0.0, 1.0) * 2.0 - 1.0


def denormalize_depth(x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """[-1, 1] -> metres, the inverse of `normalize_depth`."""
    return (x + 1.0) / 2.0 * (hi - lo) + lo


NORMALIZATIONS = ("target", "input")  # whose range maps a depth item to [-1, 1]: module docstring


def check_normalization(normalize: str) -> str:
    if normalize not in NORMALIZATIONS:
        raise BadOptionError("normalize", f"must be one of {', '.join(NORMALIZATIONS)}, got {normalize!r}")
    return normalize


def make_depth_item(
    guide_rgb: torch.Tensor,
    depth_m: torch.Tensor,
    *,
    scale: int,
    protocol: str,
    item_id: str,
    valid: torch.Tensor | None = None,
    normalize: str = "target",
    sensor: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> dict:
    """Build a depth up-sampling item from an RGB image and its full-resolution depth.

    guide_rgb: (3, H, W) float in [0, 1]. depth_m: (H, W) float, metres, finite everywhere
    (fill unknown pixels before calling, and pass them as ``valid == False``).
    valid: optional (H, W) bool; unknown pixels get ``mask`` 0 and are left out of min/max.
    normalize: "target" (official) or "input" (the low-resolution samples' range, as at
    inference; the target is then not clipped): see the module docstring.
    sensor: optional map from the low-resolution samples (1, 1, h, w) in metres to what a depth
    sensor would have delivered (noise, filled holes: `SensorModel`), applied before up-sampling.
    Returns the item dict of the data contract; the input is the degraded map (`degrade_depth`).
    """
    depth_m = depth_m.float()
    H, W = depth_m.shape
    low = low_resolution_depth(depth_m, scale, protocol)  # (1, 1, h, w)
    if sensor is not None:
        low = sensor(low)
    low_up = _upsample_aligned(low, scale, (H, W))[0, 0]  # (1, 1, h, w) -> (H, W)
    if check_normalization(normalize) == "input":
        lo, hi = depth_range(low)
        target = (depth_m - lo) / (hi - lo) * 2.0 - 1.0  # not clipped: the true depth, on the input's scale
    else:
        lo, hi = depth_range(depth_m, valid)
        target = normalize_depth(depth_m, lo, hi)
    item = {
        "input": normalize_depth(low_up, lo, hi)[None],  # (H, W) -> (1, H, W)
        "guide": guide_rgb.float() * 2.0 - 1.0,
        "target": target[None],  # (H, W) -> (1, H, W)
        "meta": {"id": item_id, "depth_min_m": lo, "depth_max_m": hi},
    }
    if valid is not None:
        item["mask"] = valid.float()[None]  # (H, W) -> (1, H, W)
    return item


# ----------------------------------------------------------------------------- sensor-like inputs
def fill_from_nearest(values: np.ndarray, unknown: np.ndarray) -> np.ndarray:
    """(h, w) values with each `unknown` pixel replaced by its nearest known pixel's value (how a
    sensor's holes are filled, here and in `SensorModel`); at least one pixel must be known."""
    from scipy import ndimage

    nearest = ndimage.distance_transform_edt(unknown, return_distances=False, return_indices=True)
    return values[tuple(nearest)]


@dataclass(frozen=True)
class SensorModel:
    """What a depth camera does to the low-resolution samples, for training on clean synthetic
    depth: Gaussian noise growing with the square of the distance (as structured-light and
    stereo sensors: sigma = `noise_m` at 1 m, 4 x that at 2 m), and blobs of unknown samples
    (`holes`: the expected fraction; dark, shiny or far surfaces) that are then filled from the
    nearest known sample, exactly as `sensor_depth_to_input` fills a sensor's holes.

    Called with a (1, 1, h, w) map in metres; `rng` draws the noise and the holes."""

    noise_m: float
    holes: float
    rng: np.random.Generator

    def __call__(self, low: torch.Tensor) -> torch.Tensor:
        from scipy import ndimage

        d = low[0, 0].double().numpy()  # (1, 1, h, w) -> (h, w)
        if self.noise_m > 0:
            d = d + self.rng.standard_normal(d.shape) * self.noise_m * d * d
        if self.holes > 0:
            blobs = ndimage.gaussian_filter(self.rng.standard_normal(d.shape), sigma=1.5, mode="wrap")
            unknown = blobs > np.quantile(blobs, 1.0 - self.holes)
            if unknown.all():
                unknown.flat[0] = False
            d = fill_from_nearest(d, unknown)
        d = np.clip(d, *DEPTH_RANGE_M)
        return torch.from_numpy(d.astype(np.float32))[None, None]  # (h, w) -> (1, 1, h, w)


# ----------------------------------------------------------------------------- depth files from sensors
@dataclass(frozen=True)
class DepthScaling:
    """How one depth file's values became network values: [lo, hi] (the file's own units:
    millimetres for a 16-bit PNG, metres for a float array) -> [-1, 1]; `dtype` is the file's."""

    lo: float
    hi: float
    dtype: np.dtype


def sensor_depth_to_input(arr: np.ndarray, size: tuple[int, int], path) -> tuple[torch.Tensor, DepthScaling]:
    """A depth map as a camera writes it -> the network input at `size` = (H, W), and its scaling.

    arr: (h, w) or (h, w, 1), integer (0 = unknown, as depth cameras write it) or float (NaN,
    inf and values <= 0 unknown), h <= H and w <= W. Unknown pixels take the nearest known
    pixel's value; the map is up-sampled bicubically to (H, W) when smaller (`upsample_to`: the
    protocols' aligned grid) and normalised by the *input's own* known range, never a target's.
    Returns ((1, H, W) float32 in [-1, 1], DepthScaling).
    """
    values = np.asarray(arr, dtype=np.float64).reshape(arr.shape[0], arr.shape[1])
    valid = np.isfinite(values) & (values > 0)
    if not valid.any():
        raise BadFileError(path, "no known depth pixel (every value is 0 or not finite)")
    if not valid.all():  # holes take their nearest known neighbour's depth
        values = fill_from_nearest(values, ~valid)
    lo, hi = float(values[valid].min()), float(values[valid].max())
    if not hi > lo:
        hi = lo + max(1e-3, 1e-3 * abs(lo))  # a flat map: any positive span keeps it invertible
    low = torch.from_numpy(values.astype(np.float32))[None, None]  # (h, w) -> (1, 1, h, w)
    return normalize_depth(upsample_to(low, size)[0], lo, hi), DepthScaling(lo, hi, np.dtype(arr.dtype))


def upsample_to(low: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(N, C, h, w) -> (N, C, H, W) bicubic, on the protocols' aligned grid when (h, w) is the
    low-resolution grid of (H, W) at an integer factor s (h = ceil(H / s), w = ceil(W / s)): up-
    sampled by exactly s, then cropped; any other ratio is a plain resize."""
    (h, w), (H, W) = low.shape[-2:], tuple(size)
    if (h, w) == (H, W):
        return low
    s = max(1, round(W / w))
    if _low_size(H, s) == h and _low_size(W, s) == w:
        return _upsample_aligned(low, s, (H, W))
    return upsample_bicubic(low, (H, W))


def input_to_sensor_depth(x: torch.Tensor, scaling: DepthScaling) -> np.ndarray:
    """(1, H, W) network output -> (H, W, 1) depth in the input file's units and dtype (dense:
    integer outputs are at least 1, since 0 would read as unknown)."""
    depth = denormalize_depth(x.detach().float().cpu(), scaling.lo, scaling.hi).numpy().transpose(1, 2, 0)
    if np.issubdtype(scaling.dtype, np.integer):
        top = float(np.iinfo(scaling.dtype).max)
        return np.clip(np.rint(depth), 1.0, top).astype(scaling.dtype)
    return depth.astype(np.float32)
