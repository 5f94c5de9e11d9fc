"""Non-learned baselines, scored beside the model with the same metrics.

Depth up-sampling has bicubic up-sampling (the item's own ``input``) and three classical
edge-aware filters from OpenCV's ximgproc module (`opencv-contrib-python-headless`, wrapped in
`nn.prefilters`), each run on the bicubic map with the RGB photo as guide, as a user would run them:

| name | OpenCV call | parameters swept |
|---|---|---|
| ``joint_bilateral`` | ``jointBilateralFilter(photo, depth, d, sigmaColor, sigmaSpace)`` | sigma_color (0-255 photo units), sigma_space (pixels) |
| ``guided_filter`` | ``guidedFilter(photo, depth, radius, eps)`` | radius (pixels), eps (photo in [0, 1]) |
| ``fgs`` | ``fastGlobalSmootherFilter(photo, depth, lambda, sigma_color)`` | lambda, sigma_color (0-255) |

Their parameters are never chosen on the data they are reported on: `tune_baselines` picks, for
each filter, the point of its grid with the lowest mean metric on a *validation* dataset
(by default held-out synthetic scenes; `evaluate --tune-on` takes another), and the chosen
values are printed and saved with the results.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import BadOptionError
from ..nn import priors
from ..nn.prefilters import depth_back, depth_unit, fgs, guided_filter, joint_bilateral, photo_u8


@dataclass(frozen=True)
class Baseline:
    """A non-learned prediction for a task's batch.

    filter: f(depth in [0, 1], photo uint8 BGR, **params) -> depth, for the depth filters;
    function: f(batch) -> (N, C, H, W) prediction, for a parameter-free baseline; neither: the
    batch's own input. grid: parameter name -> values swept by `tune_baselines`;
    doc: what it is, for the results' protocol notes."""

    doc: str
    filter: Callable[..., np.ndarray] | None = None
    grid: dict[str, Sequence[float]] = field(default_factory=dict)
    function: Callable[[dict], torch.Tensor] | None = None

    def predict(self, batch: dict, params: dict | None = None) -> torch.Tensor:
        """(N, C, H, W) prediction for a batch (network values)."""
        if self.function is not None:
            return self.function(batch)
        if self.filter is None:
            return batch["input"]
        if params is None:
            raise BadOptionError("--baselines", "a classical filter needs its tuned parameters")
        outs = [
            depth_back(self.filter(depth_unit(x), photo_u8(g), **params), x)
            for x, g in zip(batch["input"], batch["guide"])
        ]
        return torch.stack(outs)

    def points(self) -> list[dict]:
        names = list(self.grid)
        return [dict(zip(names, values)) for values in itertools.product(*(self.grid[n] for n in names))]


DEPTH_BASELINES: dict[str, Baseline] = {
    "bicubic": Baseline("the low-resolution depth bicubic-up-sampled (the model's input)"),
    "joint_bilateral": Baseline(
        "OpenCV ximgproc.jointBilateralFilter of the bicubic map, guided by the photo",
        joint_bilateral,
        {"sigma_color": (5.0, 10.0, 20.0, 40.0), "sigma_space": (2.0, 4.0, 8.0)},
    ),
    "guided_filter": Baseline(
        "OpenCV ximgproc.guidedFilter of the bicubic map, guided by the photo",
        guided_filter,
        {"radius": (2, 4, 8, 16), "eps": (1e-4, 1e-3, 1e-2)},
    ),
    "fgs": Baseline(
        "OpenCV ximgproc.fastGlobalSmootherFilter of the bicubic map, guided by the photo",
        fgs,
        {"lam": (10.0, 100.0, 1000.0), "sigma_color": (2.0, 5.0, 10.0, 20.0)},
    ),
}


def plain_background(batch: dict) -> torch.Tensor:
    """Pose: the prior `nn.priors.plain_background` of the batch's input."""
    return priors.plain_background(batch["input"])


def mean_colour_fill(batch: dict) -> torch.Tensor:
    """Texture: the prior `nn.priors.patch_colour_fill` of the batch's sketch and patch."""
    return priors.patch_colour_fill(batch["input"], batch["guide"])


POSE_BASELINES: dict[str, Baseline] = {
    "identity": Baseline("the source image unchanged (the input)"),
    "background": Baseline("a plain image of the input's border median colour", function=plain_background),
}
TEXTURE_BASELINES: dict[str, Baseline] = {
    "mean_colour_fill": Baseline(
        "the sketch with the inside of its outline filled with the patch's mean colour",
        function=mean_colour_fill,
    ),
}

# task -> its baselines by name
BASELINES: dict[str, dict[str, Baseline]] = {
    "depth": DEPTH_BASELINES,
    "pose": POSE_BASELINES,
    "texture": TEXTURE_BASELINES,
}


def check_baseline_names(task: str, names: Sequence[str]) -> list[str]:
    known = BASELINES.get(task, {})
    for name in names:
        if name not in known:
            choices = ", ".join(known) or "none"
            raise BadOptionError(
                "--baselines", f"unknown baseline {name!r} for task {task!r} (choose from {choices})"
            )
    return list(names)


@torch.no_grad()
def tune_baselines(
    task: str,
    names: Sequence[str],
    batches: Sequence[dict],
    score: Callable[[torch.Tensor, dict], float],
) -> dict[str, dict]:
    """For each named baseline with a grid, the grid point with the lowest `score(pred, batch)`
    summed over the validation `batches`; {} for baselines without parameters."""
    chosen: dict[str, dict] = {}
    for name in check_baseline_names(task, names):
        baseline = BASELINES[task][name]
        if baseline.filter is None:
            chosen[name] = {}
            continue
        best, best_value = None, float("inf")
        for point in baseline.points():
            value = sum(score(baseline.predict(b, point), b) for b in batches)
            if value < best_value:
                best, best_value = point, value
        chosen[name] = dict(best or {})
    return chosen
