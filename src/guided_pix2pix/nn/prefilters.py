"""Classical edge-aware depth filters from OpenCV (ximgproc), shared by the baselines and by
generators whose residual output starts from a filtered input (`GeneratorConfig.input_filter`).

Each filter takes a depth map (H, W) float32 in [0, 1] and the photo (H, W, 3) uint8 BGR and
returns the filtered depth. They come from a maintained implementation
(`opencv-contrib-python-headless`), not written here:

| name | OpenCV call | parameters |
|---|---|---|
| ``joint_bilateral`` | ``jointBilateralFilter(photo, depth, -1, sigma_color, sigma_space)`` | sigma_color (0-255 photo units), sigma_space (pixels) |
| ``guided_filter`` | ``guidedFilter(photo, depth, radius, eps * 255**2)`` | radius (pixels), eps (photo in [0, 1]) |
| ``fgs`` | ``fastGlobalSmootherFilter(photo, depth, lam, sigma_color)`` | lam, sigma_color (0-255) |
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..errors import BadOptionError, UserError


def photo_u8(guide: torch.Tensor) -> np.ndarray:
    """(3, H, W) network values in [-1, 1] -> (H, W, 3) uint8 BGR (OpenCV's channel order)."""
    rgb = ((guide[:3].float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()
    return np.ascontiguousarray(rgb[:, :, ::-1])


def depth_unit(x: torch.Tensor) -> np.ndarray:
    """(1, H, W) network values in [-1, 1] -> (H, W) float32 in [0, 1]."""
    return np.ascontiguousarray(((x[0].float() + 1) / 2).cpu().numpy())


def depth_back(depth01: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    """(H, W) float in [0, 1] -> (1, H, W) network values, on `like`'s device and dtype."""
    out = torch.from_numpy(np.clip(depth01, 0.0, 1.0).astype(np.float32))[None] * 2 - 1
    return out.to(like.device, like.dtype)


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


@torch.no_grad()
def filter_depth_batch(depth: torch.Tensor, guide: torch.Tensor, spec: dict) -> torch.Tensor:
    """(N, 1, H, W) depth and (N, 3+, H, W) photo, network values -> the filtered depth, same
    shape, device and dtype. Runs OpenCV on the CPU, item by item; no gradient flows through."""
    spec = check_filter_spec(spec)
    params = {k: v for k, v in spec.items() if k != "name"}
    function = DEPTH_FILTERS[spec["name"]].function
    return torch.stack(
        [depth_back(function(depth_unit(d), photo_u8(g), **params), d) for d, g in zip(depth, guide)]
    )
