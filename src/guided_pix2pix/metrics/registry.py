"""`METRICS`: metric name -> `Metric`, so commands look metrics up by name.

Calling conventions by `Metric.kind`:

- "paired": ``m(pred, target, *, value_range=..., reduction="mean"|"none", **needs)`` -> mean
  over images (float) or per-image values (N,); pred/target (N, C, H, W). Depth metrics take
  (N, 1, H, W) normalised depth and need ``depth_min``, ``depth_max`` (N,) in metres (optional
  ``valid`` mask).
- "distribution": ``m(pred, target, *, value_range=...)`` -> float; compares two image sets.
- "set": ``m(pred, *, value_range=..., **needs)`` -> float; scores one image set.

For data that arrives in batches, ``m.accumulator(value_range=..., **needs)`` returns an
object with ``update(pred, target, **per_batch)`` and ``compute() -> float`` (for "paired"
metrics also ``values``, the per-image values in order).

`needs` names keyword arguments the caller must supply; `weights` names the package that
``guided-pix2pix weights install`` must have installed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass

import torch

from ..errors import BadOptionError
from .depth import depth_mae, depth_rmse
from .fid import FIDAccumulator, fid
from .inception_score import ISAccumulator, inception_score
from .lpips import lpips
from .psnr import psnr
from .ssim import masked_ssim, ssim, ssim_bft, ssim_gaussian, ssim_pose

KINDS = ("paired", "distribution", "set")


class MeanAccumulator:
    """Per-image values of a paired metric over batches; `compute()` is their mean."""

    def __init__(self, fn: Callable, **kwargs):
        self.fn, self.kwargs = fn, kwargs
        self.batches: list[torch.Tensor] = []

    def update(self, pred, target, **per_batch) -> None:
        values = self.fn(pred, target, reduction="none", **self.kwargs, **per_batch)
        self.batches.append(values.detach().double().cpu())

    @property
    def values(self) -> torch.Tensor:
        return torch.cat(self.batches) if self.batches else torch.zeros(0, dtype=torch.float64)

    def compute(self) -> float:
        return float(self.values.mean())


@dataclass(frozen=True)
class Metric:
    """A named metric: the function and what calling it requires.

    fn: the function; kind: one of `KINDS`; higher_is_better: direction; unit: of the value;
    needs: required keyword arguments beyond the images; options: optional ones a caller may
    pass; weights: weights package or None; stream: accumulator class for set-level metrics
    (paired metrics use `MeanAccumulator`).
    """

    fn: Callable
    kind: str
    higher_is_better: bool
    unit: str = ""
    needs: tuple[str, ...] = ()
    _: KW_ONLY  # the fields below are keyword-only
    weights: str | None = None
    options: tuple[str, ...] = ()
    stream: Callable | None = None

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def accumulator(self, **kwargs):
        """A streaming accumulator for this metric; kwargs are its fixed keyword arguments."""
        return self.stream(**kwargs) if self.stream is not None else MeanAccumulator(self.fn, **kwargs)

    @property
    def doc(self) -> str:
        return (self.fn.__doc__ or "").strip().splitlines()[0]


_DEPTH_NEEDS = ("depth_min", "depth_max")

METRICS: dict[str, Metric] = {
    "psnr": Metric(psnr, "paired", True, "dB"),
    "ssim": Metric(ssim, "paired", True),
    "ssim_bft": Metric(ssim_bft, "paired", True),
    "ssim_gaussian": Metric(ssim_gaussian, "paired", True),
    "ssim_pose": Metric(ssim_pose, "paired", True),
    "ssim_masked": Metric(masked_ssim, "paired", True, needs=("mask",)),
    "lpips_alex": Metric(functools.partial(lpips, net="alex"), "paired", False, weights="lpips"),
    "lpips_vgg": Metric(functools.partial(lpips, net="vgg"), "paired", False, weights="lpips"),
    "fid": Metric(fid, "distribution", False, weights="fid", stream=FIDAccumulator),
    "inception_score": Metric(
        inception_score, "set", True, needs=("classifier",), options=("splits",), stream=ISAccumulator
    ),
    "depth_rmse_a": Metric(
        functools.partial(depth_rmse, protocol="A"), "paired", False, "cm", _DEPTH_NEEDS, options=("valid",)
    ),
    "depth_mae_a": Metric(
        functools.partial(depth_mae, protocol="A"), "paired", False, "cm", _DEPTH_NEEDS, options=("valid",)
    ),
    "depth_rmse_b": Metric(
        functools.partial(depth_rmse, protocol="B"), "paired", False, "cm", _DEPTH_NEEDS, options=("valid",)
    ),
    "depth_mae_b": Metric(
        functools.partial(depth_mae, protocol="B"), "paired", False, "cm", _DEPTH_NEEDS, options=("valid",)
    ),
}


def parse_metric_names(text: str, option: str = "--metrics") -> list[str]:
    """'psnr,ssim' -> ['psnr', 'ssim']; unknown, repeated or no names raise BadOptionError(option)."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise BadOptionError(option, "no metric named")
    for name in names:
        if name not in METRICS:
            raise BadOptionError(option, f"unknown metric {name!r} (available: {', '.join(METRICS)})")
    if len(set(names)) != len(names):
        raise BadOptionError(option, f"metric named twice in {text!r}")
    return names
