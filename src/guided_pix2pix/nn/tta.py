"""Test-time augmentation: average a generator's outputs over mirror views of its input.

`run_augmented(model, input, guide, tta)` runs `run_padded` once per view in `TTA_VIEWS[tta]`
and averages the outputs, each mapped back by its view (every view is its own inverse).

- ``none``: the plain forward (the default everywhere).
- ``flip``: the forward and the left-right mirrored forward, averaged. The presets train with
  random left-right flips (`train.flip`), so a model has learnt both orientations; its errors in
  the two differ, and the mean cancels part of them. On synthetic depth validation it lowered
  the RMSE of every earlier shipped depth model on both validation sets (docs/results.md,
  "Test-time flip"). It doubles the inference time.

A pose guide has sides (its keypoint heat-maps are left wrist, right wrist, ...), so mirroring
it without swapping channels is wrong: `check_tta` refuses ``flip`` for pose models.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from ..errors import BadOptionError
from .padding import run_padded

if TYPE_CHECKING:
    from .generator import Generator


def _same(x: torch.Tensor) -> torch.Tensor:
    return x


def _mirror(x: torch.Tensor) -> torch.Tensor:
    return x.flip(-1)  # (N, C, H, W): left <-> right


View = Callable[[torch.Tensor], torch.Tensor]
TTA_VIEWS: dict[str, tuple[View, ...]] = {"none": (_same,), "flip": (_same, _mirror)}
MIRRORED_TASKS_REFUSED = ("pose",)  # guides whose channels have sides


def check_tta(tta: str, task: str, option: str = "--tta") -> str:
    """`tta` if it is a known mode that suits `task`; otherwise a BadOptionError naming `option`."""
    if tta not in TTA_VIEWS:
        raise BadOptionError(
            option, f"unknown test-time augmentation {tta!r} (choose from {', '.join(TTA_VIEWS)})"
        )
    if tta != "none" and task in MIRRORED_TASKS_REFUSED:
        raise BadOptionError(
            option,
            f"{tta!r} mirrors the guide, and a {task} guide's channels have sides (left/right keypoints); use none",
        )
    return tta


@torch.no_grad()
def run_augmented(
    model: Generator, input: torch.Tensor, guide: torch.Tensor, tta: str = "none"
) -> torch.Tensor:
    """The mean of G over the views of `tta` for (N, C, H, W) batches of any size; float32."""
    views = TTA_VIEWS[tta]
    total = None
    for view in views:
        out = view(run_padded(model, view(input), view(guide)))
        total = out if total is None else total + out
    assert total is not None  # every mode has at least one view
    return total if len(views) == 1 else total / len(views)
