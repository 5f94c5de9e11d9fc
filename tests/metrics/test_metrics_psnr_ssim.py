"""PSNR and the SSIM conventions against scikit-image and its published reference values."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from metric_helpers import to_tensor
from skimage import data
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from guided_pix2pix.errors import BadOptionError
from guided_pix2pix.metrics import METRICS, masked_ssim, psnr, ssim, ssim_bft, ssim_gaussian, ssim_pose


def test_psnr_reference_value(camera_pair):
    cam, noisy = camera_pair
    assert psnr(to_tensor(cam), to_tensor(noisy), value_range=(0, 255)) == pytest.approx(22.40935, abs=5e-5)


def test_ssim_reference_value(camera_pair):
    cam, noisy = camera_pair
    assert ssim(to_tensor(cam), to_tensor(noisy), value_range=(0, 255)) == pytest.approx(0.3674518, abs=5e-5)


def test_ssim_gaussian_reference_value(camera_pair):
    cam, noisy = camera_pair  # IPOL imdiff -m mssim: 0.357959 (3 decimals upstream)
    value = ssim_gaussian(to_tensor(cam), to_tensor(noisy), value_range=(0, 255))
    assert value == pytest.approx(0.357959, abs=1.5e-3)


@pytest.fixture(scope="module")
def chelsea_pair():
    c = data.chelsea()[::2, ::2]
    n = np.clip(c + np.random.default_rng(1).normal(0, 15, c.shape), 0, 255).astype(np.uint8)
    return c, n


def test_colour_conventions_match_skimage(chelsea_pair):
    c, n = chelsea_pair
    p, t = to_tensor(n), to_tensor(c)
    ref = structural_similarity(c, n, channel_axis=2)
    assert ssim(p, t, value_range=(0, 255)) == pytest.approx(ref, abs=1e-9)
    ref_bft = structural_similarity(c / 127.5 - 1, n / 127.5 - 1, channel_axis=2, data_range=2)
    assert ssim_bft(p / 127.5 - 1, t / 127.5 - 1) == pytest.approx(ref_bft, abs=1e-9)
    assert ssim_bft(p, t, value_range=(0, 255)) == pytest.approx(ref_bft, abs=1e-9)
    ref_pose = structural_similarity(
        c, n, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, channel_axis=2,
        data_range=float(n.max()) - float(n.min()),
    )  # fmt: skip
    assert ssim_pose(p, t, value_range=(0, 255)) == pytest.approx(ref_pose, abs=1e-9)
    assert ssim_bft(p, t, value_range=(0, 255)) != pytest.approx(ssim(p, t, value_range=(0, 255)), abs=1e-3)


def test_masked_ssim_is_ssim_of_masked_images(chelsea_pair):
    c, n = chelsea_pair
    mask = np.zeros(c.shape[:2], dtype=bool)
    mask[30:120, 40:160] = True
    cm, nm = c * mask[..., None], n * mask[..., None]
    ref = structural_similarity(
        cm, nm, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, channel_axis=2,
        data_range=float(nm.max()) - float(nm.min()),
    )  # fmt: skip
    got = masked_ssim(to_tensor(n), to_tensor(c), torch.from_numpy(mask), value_range=(0, 255))
    assert got == pytest.approx(ref, abs=1e-9)
    ones = torch.ones(1, 1, *c.shape[:2])
    unmasked = masked_ssim(to_tensor(n), to_tensor(c), ones, value_range=(0, 255), convention="ssim")
    assert unmasked == pytest.approx(ssim(to_tensor(n), to_tensor(c), value_range=(0, 255)))


def test_batched_values_equal_single_images(chelsea_pair):
    c, n = chelsea_pair
    pred = torch.cat([to_tensor(n), to_tensor(255 - n), to_tensor(c)]) / 127.5 - 1
    target = torch.cat([to_tensor(c)] * 3) / 127.5 - 1
    for name in ("psnr", "ssim", "ssim_bft", "ssim_gaussian", "ssim_pose"):
        per_image = METRICS[name](pred[:2], target[:2], reduction="none")
        assert per_image.shape == (2,)
        for i in range(2):
            assert float(per_image[i]) == pytest.approx(METRICS[name](pred[i], target[i]), rel=1e-12)
        assert METRICS[name](pred[:2], target[:2]) == pytest.approx(float(per_image.mean()), rel=1e-12)
        assert METRICS[name](pred[2], target[2]) == (float("inf") if name == "psnr" else pytest.approx(1.0))
    assert psnr(pred[0], target[0]) == pytest.approx(peak_signal_noise_ratio(c, n, data_range=255), rel=1e-10)


def test_errors_name_the_problem():
    x = torch.rand(2, 3, 16, 16)
    with pytest.raises(BadOptionError, match="differs from pred"):
        ssim(x, x[:, :, :8])
    with pytest.raises(BadOptionError, match="smaller than the 11x11"):
        ssim_gaussian(x[:, :, :8, :8], x[:, :, :8, :8])
    with pytest.raises(BadOptionError, match="reduction"):
        psnr(x, x, reduction="sum")
    with pytest.raises(BadOptionError, match="value_range"):
        ssim(x, x, value_range=(1, 0))
    with pytest.raises(BadOptionError, match="convention"):
        masked_ssim(x, x, torch.ones(16, 16), convention="nope")
