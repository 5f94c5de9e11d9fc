"""Depth RMSE/MAE in cm under protocols A (official bFT) and B (DKN-style)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from guided_pix2pix.errors import BadOptionError
from guided_pix2pix.metrics import METRICS, depth_errors, depth_in_metres, depth_rmse

H, W = 480, 640


def _constructed():
    """Two 480x640 maps with errors of known size inside the protocol A crop, and decoys outside.

    Depth range 1..3 m, so a normalised step of 0.01 in [-1, 1] is 0.005 * 2 m = 1 cm.
    Image 0: +1 cm on every pixel -> RMSE 1, MAE 1.
    Image 1: +3 cm on 313 of the 627 kept columns, 0 elsewhere -> RMSE 3 sqrt(f), MAE 3 f.
    Both: 500 cm errors on row 6 and column 6 (inside protocol B's crop, outside A's), and
    on the last 6 rows / columns (outside both crops).
    """
    target = torch.full((2, 1, H, W), -1.0, dtype=torch.float64)  # 1 m everywhere
    pred = target.clone()
    pred[0] += 0.01
    pred[1, :, :, 7 : 7 + 313] += 0.03  # 313 of the 627 kept columns
    for img in pred:  # +5.0 normalised = 5 m = 500 cm
        img[:, 6, :] += 5.0
        img[:, :, 6] += 5.0
        img[:, H - 6 :, :] += 5.0
        img[:, :, W - 6 :] += 5.0
    return pred, target, torch.tensor([1.0, 1.0]), torch.tensor([3.0, 3.0])


def test_protocol_a_known_answer():
    pred, target, dmin, dmax = _constructed()
    kept_cols = W - 13  # 627 columns in 7 : W - 6
    frac = 313 / kept_cols
    rmse1 = np.sqrt(9 * frac)
    errors = depth_errors(pred, target, dmin, dmax, protocol="A")
    assert errors["rmse"].tolist() == pytest.approx([1.0, rmse1], abs=1e-9)
    assert errors["mae"].tolist() == pytest.approx([1.0, 3 * frac], abs=1e-9)
    assert depth_rmse(pred, target, dmin, dmax) == pytest.approx((1.0 + rmse1) / 2, abs=1e-9)
    assert METRICS["depth_rmse_a"](pred, target, depth_min=dmin, depth_max=dmax) == pytest.approx(
        (1.0 + rmse1) / 2
    )
    assert METRICS["depth_mae_a"](pred, target, depth_min=dmin, depth_max=dmax) == pytest.approx(
        (1 + 3 * frac) / 2
    )


def test_protocol_b_known_answer():
    """Protocol B keeps row 6 and column 6: 1 + 500 cm there, 1 + 1000 cm at (6, 6)."""
    pred, target, dmin, dmax = _constructed()
    rows, cols = H - 12, W - 12
    n, n_line = rows * cols, rows + cols - 2  # row 6 and column 6 without their crossing
    sumsq = (n - n_line - 1) * 1.0 + n_line * 501.0**2 + 1001.0**2
    total = (n - n_line - 1) * 1.0 + n_line * 501.0 + 1001.0
    errors = depth_errors(pred[:1], target[:1], dmin[:1], dmax[:1], protocol="B")
    assert float(errors["rmse"][0]) == pytest.approx(np.sqrt(sumsq / n), rel=1e-12)
    assert float(errors["mae"][0]) == pytest.approx(total / n, rel=1e-12)
    assert METRICS["depth_rmse_b"](pred, target, depth_min=dmin, depth_max=dmax) > 30.0
    assert METRICS["depth_mae_b"](pred, target, depth_min=dmin, depth_max=dmax) > 3.0


def test_matches_official_formula_and_units():
    """The official evaluate_depth arithmetic, written out on random [-1, 1] maps."""
    g = torch.Generator().manual_seed(0)
    target = torch.rand(3, 1, H, W, generator=g, dtype=torch.float64) * 2 - 1
    pred = (target + 0.05 * torch.randn(3, 1, H, W, generator=g, dtype=torch.float64)).clamp(-1, 1)
    dmin, dmax = torch.tensor([0.7, 1.0, 2.0]), torch.tensor([4.0, 9.5, 6.0])
    per_image = []
    for i in range(3):
        real = ((target[i, 0].numpy() + 1) / 2 * (dmax[i].item() - dmin[i].item()) + dmin[i].item()) * 100
        fake = ((pred[i, 0].numpy() + 1) / 2 * (dmax[i].item() - dmin[i].item()) + dmin[i].item()) * 100
        per_image.append(np.sqrt(np.mean((real[7 : H - 6, 7 : W - 6] - fake[7 : H - 6, 7 : W - 6]) ** 2)))
    assert depth_rmse(pred, target, dmin, dmax) == pytest.approx(np.mean(per_image), rel=1e-12)
    unit = depth_rmse((pred + 1) / 2, (target + 1) / 2, dmin, dmax, value_range=(0, 1))
    assert unit == pytest.approx(np.mean(per_image), rel=1e-12)


def test_unknown_pixels_are_excluded():
    pred, target, dmin, dmax = _constructed()
    valid = torch.ones_like(target, dtype=torch.bool)
    pred[0, 0, 100:200, 100:200] += 1.0  # a large error ...
    valid[0, 0, 100:200, 100:200] = False  # ... on unknown pixels
    assert depth_rmse(pred, target, dmin, dmax, valid=valid, reduction="none")[0] == pytest.approx(1.0)
    valid[1, 0] = False
    with pytest.raises(BadOptionError, match=r"images \[1\] have no known depth"):
        depth_rmse(pred, target, dmin, dmax, valid=valid)


def test_middlebury_motorcycle_runs():
    """Real RGB-D data: Middlebury 2014 Motorcycle disparity -> metric depth, with unknown pixels."""
    from scipy.ndimage import uniform_filter
    from skimage import data

    _, _, disparity = data.stereo_motorcycle()
    depth_m = 193.001 * 994.978 / (disparity.astype(np.float64) + 31.086) / 1000.0  # inf disparity -> 0 m
    known = np.isfinite(disparity)
    depth_m[~known] = np.nan
    dmin, dmax = np.nanmin(depth_m), np.nanmax(depth_m)
    norm = np.where(known, (depth_m - dmin) / (dmax - dmin) * 2 - 1, 0.0)
    blurred = uniform_filter(norm, size=9)
    target, pred = torch.from_numpy(norm)[None, None], torch.from_numpy(blurred)[None, None]
    valid = torch.from_numpy(known)[None, None]
    for protocol, crop in (("A", (7, 6, 7, 6)), ("B", (6, 6, 6, 6))):
        got = depth_rmse(pred, target, [dmin], [dmax], protocol=protocol, valid=valid)
        t, b, l, r = crop
        h, w = norm.shape
        region = (slice(t, h - b), slice(l, w - r))
        diff = (blurred - norm)[region][known[region]] / 2 * (dmax - dmin) * 100
        assert got == pytest.approx(np.sqrt(np.mean(diff**2)), rel=1e-10)
        assert 1.0 < got < 100.0
    pred_m = depth_in_metres(pred, [dmin], [dmax])
    assert float(pred_m.min()) >= dmin - 1e-9 and float(pred_m.max()) <= dmax + 1e-9
