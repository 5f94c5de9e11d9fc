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


DISPLAY_KINDS = {"gray": _gray, "rgb": _rgb, "heatmaps": _heatmaps, "lab": _lab}

# task -> display kind of (input, guide, output/target)
TASK_DISPLAY = {
    "depth": ("gray", "rgb", "gray"),
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
