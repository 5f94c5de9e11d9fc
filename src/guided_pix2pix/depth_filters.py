"""Classical edge-aware depth filters from OpenCV (ximgproc), on numpy arrays only (no torch), so
that both the PyTorch side (`nn.prefilters`, the baselines) and the torch-free ONNX runner
(`onnx_runtime`) use the same calls and parameter checks.

Each filter takes a depth map (H, W) float32 in [0, 1] and the photo (H, W, 3) uint8 BGR and
returns the filtered depth. They come from a maintained implementation
(`opencv-contrib-python-headless`), not written here:

| name | OpenCV call | parameters |
|---|---|---|
| ``joint_bilateral`` | ``jointBilateralFilter(photo, depth, -1, sigma_color, sigma_space)`` | sigma_color (0-255 photo units), sigma_space (pixels) |
| ``guided_filter`` | ``guidedFilter(photo, depth, radius, eps * 255**2)`` | radius (pixels), eps (photo in [0, 1]) |
| ``fgs`` | ``fastGlobalSmootherFilter(photo, depth, lam, sigma_color)`` | lam, sigma_color (0-255) |

Network values (in [-1, 1]) map to the filters' units as `signed_to_photo_u8` and
`signed_to_depth01` say; `nn.prefilters` does the same on tensors.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import BadOptionError, UserError


def _cv2_ximgproc() -> Any:
    try:
        import cv2
    except ImportError as exc:
        raise UserError(
            "the classical filters need OpenCV's contrib build: pip install opencv-contrib-python-headless"
        ) from exc
    if not hasattr(cv2, "ximgproc"):
        raise UserError("cv2.ximgproc is missing: install opencv-contrib-python-headless (not opencv-python)")
    return cv2.ximgproc


def joint_bilateral(
    depth: np.ndarray, photo: np.ndarray, sigma_color: float, sigma_space: float
) -> np.ndarray:
    """OpenCV's joint bilateral filter of `depth` (H, W) float32 guided by `photo` (H, W, 3) uint8."""
    x = _cv2_ximgproc()
    # d = -1: OpenCV sizes the window from sigma_space (radius 1.5 sigma_space)
    return x.jointBilateralFilter(photo.astype(np.float32), depth, -1, float(sigma_color), float(sigma_space))


def guided_filter(depth: np.ndarray, photo: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """OpenCV's guided filter (He et al.) of `depth` with `photo` as guide; eps for a guide in [0, 1]."""
    x = _cv2_ximgproc()
    return x.guidedFilter(photo, depth, int(radius), float(eps) * 255.0**2)


def fgs(depth: np.ndarray, photo: np.ndarray, lam: float, sigma_color: float) -> np.ndarray:
    """OpenCV's fast global smoother (Min et al.) of `depth` with `photo` as guide."""
    x = _cv2_ximgproc()
    return x.fastGlobalSmootherFilter(photo, depth, float(lam), float(sigma_color))


@dataclass(frozen=True)
class DepthFilter:
    """A filter and the bounds of its parameters (name -> (low, high), both inclusive)."""

    function: Callable[..., np.ndarray]
    bounds: dict[str, tuple[float, float]]


# filter name -> its function and parameter bounds (the bounds keep an untrusted config.json
# from asking for a window of millions of pixels)
DEPTH_FILTERS: dict[str, DepthFilter] = {
    "joint_bilateral": DepthFilter(
        joint_bilateral, {"sigma_color": (0.01, 1000.0), "sigma_space": (0.1, 64.0)}
    ),
    "guided_filter": DepthFilter(guided_filter, {"radius": (1, 128), "eps": (1e-8, 10.0)}),
    "fgs": DepthFilter(fgs, {"lam": (0.01, 1e5), "sigma_color": (0.01, 1000.0)}),
}


def check_filter_spec(spec: object, option: str = "input_filter") -> dict:
    """`{"name": <DEPTH_FILTERS key>, <each of its parameters>: number}` checked; returns a copy."""
    if not isinstance(spec, dict):
        raise BadOptionError(
            option,
            f"must be a mapping like {{name: joint_bilateral, sigma_color: 20, sigma_space: 8}}, got {spec!r}",
        )
    name = spec.get("name")
    if name not in DEPTH_FILTERS:
        raise BadOptionError(
            f"{option}.name", f"unknown filter {name!r}; choose from {', '.join(DEPTH_FILTERS)}"
        )
    bounds = DEPTH_FILTERS[name].bounds
    extra = sorted(set(map(str, spec)) - set(bounds) - {"name"})
    if extra:
        raise BadOptionError(
            f"{option}.{extra[0]}", f"not a parameter of {name}; its parameters: {', '.join(bounds)}"
        )
    checked: dict = {"name": name}
    for key, (low, high) in bounds.items():
        value = spec.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise BadOptionError(f"{option}.{key}", f"{name} needs a finite number here, got {value!r}")
        if not low <= value <= high:
            raise BadOptionError(f"{option}.{key}", f"must be in [{low:g}, {high:g}], got {value}")
        checked[key] = value
    return checked


def signed_to_photo_u8(guide: np.ndarray) -> np.ndarray:
    """(3+, H, W) float32 network values in [-1, 1] -> (H, W, 3) uint8 BGR, as `nn.prefilters.photo_u8`."""
    levels = np.round((np.clip(guide[:3].astype(np.float32), -1, 1) + np.float32(1)) * np.float32(127.5))
    return np.ascontiguousarray(levels.astype(np.uint8).transpose(1, 2, 0)[:, :, ::-1])


def filter_signed_depth(depth: np.ndarray, guide: np.ndarray, spec: dict) -> np.ndarray:
    """(1, H, W) depth and (3+, H, W) photo in network values -> the filtered (1, H, W) depth."""
    spec = check_filter_spec(spec)
    params = {k: v for k, v in spec.items() if k != "name"}
    depth01 = np.ascontiguousarray((depth[0].astype(np.float32) + np.float32(1)) / np.float32(2))
    out = DEPTH_FILTERS[spec["name"]].function(depth01, signed_to_photo_u8(guide), **params)
    return (np.clip(out, 0.0, 1.0).astype(np.float32) * np.float32(2) - np.float32(1))[None]
