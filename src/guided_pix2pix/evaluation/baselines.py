"""Non-learned baselines, scored beside the model with the same metrics.

Depth up-sampling has bicubic up-sampling (the item's own ``input``) and three classical
edge-aware filters from OpenCV's ximgproc module (`opencv-contrib-python-headless`), each run
on the bicubic map with the RGB photo as guide, as a user would run them:

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

from ..errors import BadOptionError, UserError


def _photo_u8(guide: torch.Tensor) -> np.ndarray:
    """(3, H, W) network values in [-1, 1] -> (H, W, 3) uint8 BGR (OpenCV's channel order)."""
    rgb = ((guide[:3].float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()
    return np.ascontiguousarray(rgb[:, :, ::-1])


def _depth_unit(x: torch.Tensor) -> np.ndarray:
    """(1, H, W) network values in [-1, 1] -> (H, W) float32 in [0, 1]."""
    return np.ascontiguousarray(((x[0].float() + 1) / 2).cpu().numpy())


def _back(depth01: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    """(H, W) float in [0, 1] -> (1, H, W) network values, on `like`'s device and dtype."""
    out = torch.from_numpy(np.clip(depth01, 0.0, 1.0).astype(np.float32))[None] * 2 - 1
    return out.to(like.device, like.dtype)


def _cv2_ximgproc():
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
class Baseline:
    """A non-learned prediction for a task's batch.

    filter: f(depth in [0, 1], photo uint8 BGR, **params) -> depth, or None for a baseline that
    is the batch's own input; grid: parameter name -> values swept by `tune_baselines`;
    doc: what it is, for the results' protocol notes."""

    doc: str
    filter: Callable[..., np.ndarray] | None = None
    grid: dict[str, Sequence[float]] = field(default_factory=dict)

    def predict(self, batch: dict, params: dict | None = None) -> torch.Tensor:
        """(N, 1, H, W) prediction for a depth batch (network values)."""
        if self.filter is None:
            return batch["input"]
        if params is None:
            raise BadOptionError("--baselines", "a classical filter needs its tuned parameters")
        outs = [
            _back(self.filter(_depth_unit(x), _photo_u8(g), **params), x)
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

# task -> its baselines by name
BASELINES: dict[str, dict[str, Baseline]] = {"depth": DEPTH_BASELINES}


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
