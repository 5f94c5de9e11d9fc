"""The classical depth filters (`guided_pix2pix.depth_filters`, OpenCV ximgproc) on tensors:
shared by the baselines and by generators whose residual output starts from a filtered input
(`GeneratorConfig.input_filter`). The filters and their parameter checks live in
`depth_filters`, numpy only, so that the torch-free ONNX runner applies the same ones:

| name | OpenCV call | parameters |
|---|---|---|
| ``joint_bilateral`` | ``jointBilateralFilter(photo, depth, -1, sigma_color, sigma_space)`` | sigma_color (0-255 photo units), sigma_space (pixels) |
| ``guided_filter`` | ``guidedFilter(photo, depth, radius, eps * 255**2)`` | radius (pixels), eps (photo in [0, 1]) |
| ``fgs`` | ``fastGlobalSmootherFilter(photo, depth, lam, sigma_color)`` | lam, sigma_color (0-255) |
"""

from __future__ import annotations

import numpy as np
import torch

from ..depth_filters import DEPTH_FILTERS, DepthFilter, check_filter_spec, fgs, guided_filter, joint_bilateral

__all__ = [
    "DEPTH_FILTERS",
    "DepthFilter",
    "check_filter_spec",
    "depth_back",
    "depth_unit",
    "fgs",
    "filter_depth_batch",
    "guided_filter",
    "joint_bilateral",
    "photo_u8",
]


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
