"""The METRICS registry: every entry is callable as its kind says and names real requirements."""

from __future__ import annotations

import inspect

import pytest
import torch

from guided_pix2pix.metrics import METRICS
from guided_pix2pix.metrics.registry import KINDS
from guided_pix2pix.metrics.weights import PACKAGES


@pytest.mark.parametrize("name", sorted(METRICS))
def test_entry_is_consistent(name):
    metric = METRICS[name]
    assert metric.kind in KINDS
    assert metric.weights is None or metric.weights in PACKAGES
    params = inspect.signature(metric.fn).parameters
    for arg in (*metric.needs, *metric.options, "value_range"):
        assert arg in params, f"{name}: {arg} is not a parameter of its function"
    if metric.kind == "paired":
        assert "reduction" in params
    assert metric.doc


def test_paired_accumulator_matches_direct_call():
    g = torch.Generator().manual_seed(0)
    pred, target = torch.rand(5, 1, 40, 40, generator=g), torch.rand(5, 1, 40, 40, generator=g)
    lo, hi = torch.full((5,), 0.5), torch.full((5,), 4.0)
    acc = METRICS["depth_rmse_b"].accumulator(value_range=(0, 1))
    for part in (slice(0, 2), slice(2, 5)):
        acc.update(pred[part], target[part], depth_min=lo[part], depth_max=hi[part])
    direct = METRICS["depth_rmse_b"](
        pred, target, depth_min=lo, depth_max=hi, value_range=(0, 1), reduction="none"
    )
    assert torch.allclose(acc.values, direct) and acc.compute() == pytest.approx(float(direct.mean()))
