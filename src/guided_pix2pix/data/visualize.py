"""Turning network tensors into pictures: each role of a task (input, guide, output) has a
display kind, and each kind maps (N, C, H, W) in [-1, 1] to (N, 3, H, W) RGB in [0, 1]."""

from __future__ import annotations

from typing import cast

import torch

from .color import denormalize_lab, lab_to_rgb


def _gray(x: torch.Tensor) -> torch.Tensor:
    return ((x[:, :1] + 1) / 2).clamp(0, 1).expand(-1, 3, -1, -1)


def _rgb(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] < 3:
        return _gray(x)
    return ((x[:, :3] + 1) / 2).clamp(0, 1)


def _heatmaps(x: torch.Tensor) -> torch.Tensor:
    """Keypoint heatmaps: the maximum over channels, as a grey image."""
    peak = x.amax(dim=1, keepdim=True)  # (N, 1, H, W)
    lo = peak.amin(dim=(2, 3), keepdim=True)
    hi = peak.amax(dim=(2, 3), keepdim=True)
    return ((peak - lo) / (hi - lo).clamp_min(1e-6)).expand(-1, 3, -1, -1)


def lab_to_display_rgb(x: torch.Tensor) -> torch.Tensor:
    """Scaled LAB ((L-50)/50, a/128, b/128) in the first three channels -> sRGB in [0, 1], in x's
    dtype (pass float64 where the result is measured, as texture metrics do)."""
    return lab_to_rgb(denormalize_lab(x[:, :3])).clamp(0, 1)


def _lab(x: torch.Tensor) -> torch.Tensor:
    return lab_to_display_rgb(x.float())


# about matplotlib's "viridis" at 9 evenly spaced points (sRGB in [0, 1]): dark blue (near) -> yellow (far)
_VIRIDIS = (
    (0.267, 0.005, 0.329), (0.283, 0.141, 0.458), (0.254, 0.265, 0.530), (0.207, 0.372, 0.553),
    (0.164, 0.471, 0.558), (0.128, 0.567, 0.551), (0.135, 0.659, 0.518), (0.267, 0.749, 0.441),
    (0.478, 0.821, 0.318),
)  # fmt: skip
_VIRIDIS_END = (0.993, 0.906, 0.144)


def depth_colours(x: torch.Tensor) -> torch.Tensor:
    """Depth (N, 1+, H, W) in [-1, 1] (near to far) -> (N, 3, H, W) viridis colours in [0, 1]."""
    lut = torch.tensor((*_VIRIDIS, _VIRIDIS_END), dtype=torch.float32, device=x.device)  # (K, 3)
    t = ((x[:, 0].float() + 1) / 2).clamp(0, 1) * (len(lut) - 1)  # (N, H, W) in [0, K - 1]
    i = t.floor().long().clamp(max=len(lut) - 2)
    w = (t - i)[..., None]  # (N, H, W, 1)
    rgb = lut[i] * (1 - w) + lut[i + 1] * w  # (N, H, W, 3)
    return rgb.permute(0, 3, 1, 2)  # (N, H, W, 3) -> (N, 3, H, W)


DISPLAY_KINDS = {"gray": _gray, "rgb": _rgb, "heatmaps": _heatmaps, "lab": _lab, "depth": depth_colours}

# task -> display kind of (input, guide, output/target)
TASK_DISPLAY = {
    "depth": ("depth", "rgb", "depth"),
    "pose": ("rgb", "heatmaps", "rgb"),
    "texture": ("gray", "lab", "lab"),
}


def _generic_kind(channels: int) -> str:
    return "gray" if channels == 1 else "rgb" if channels == 3 else "heatmaps"


def display_kinds(task: str, channels: tuple[int, int, int]) -> tuple[str, str, str]:
    return TASK_DISPLAY.get(task) or cast("tuple[str, str, str]", tuple(_generic_kind(c) for c in channels))


def comparison_grid(task: str, input, guide, output, target=None, max_rows: int = 4) -> torch.Tensor:
    """One (3, rows*H, cols*W) image: rows of input | guide | output | target, values in [0, 1]."""
    kinds = display_kinds(task, (input.shape[1], guide.shape[1], output.shape[1]))
    n = min(max_rows, input.shape[0])
    columns = [
        DISPLAY_KINDS[kinds[0]](input[:n].float()),
        DISPLAY_KINDS[kinds[1]](guide[:n].float()),
        DISPLAY_KINDS[kinds[2]](output[:n].float()),
    ]
    if target is not None:
        columns.append(DISPLAY_KINDS[kinds[2]](target[:n].float()))
    rows = torch.cat(columns, dim=3)  # (n, 3, H, cols * W)
    return torch.cat(list(rows), dim=1).cpu()  # (3, n * H, cols * W)
