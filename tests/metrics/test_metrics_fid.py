"""FID: closed-form Gaussian distances, exactness of the feature path, and the Inception network."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from metric_helpers import to_tensor

from guided_pix2pix.errors import BadOptionError
from guided_pix2pix.metrics import (
    METRICS,
    fid_from_features,
    frechet_distance,
    gaussian_stats,
    inception_features,
    load_inception,
)


def test_closed_form_diagonal_gaussians():
    # N(m, diag(a)) vs N(0, diag(b)): |m|^2 + sum (sqrt(a) - sqrt(b))^2
    a = torch.tensor([1.0, 4.0, 9.0, 0.25])
    b = torch.tensor([4.0, 4.0, 1.0, 1.0])
    m = torch.tensor([1.0, -2.0, 0.0, 0.5])
    expected = float(m.pow(2).sum() + (a.sqrt() - b.sqrt()).pow(2).sum())
    value = frechet_distance(m, torch.diag(a), torch.zeros(4), torch.diag(b))
    assert value == pytest.approx(expected, abs=1e-10)


def test_closed_form_non_commuting_covariances():
    # S1 = I: Tr(S1 + S2 - 2 (S1 S2)^(1/2)) = sum over eigenvalues l of S2 of (1 - sqrt(l))^2
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    lam = np.array([0.1, 0.5, 1.0, 2.0, 4.0, 9.0])
    s2 = q @ np.diag(lam) @ q.T
    expected = float(((1 - np.sqrt(lam)) ** 2).sum() + 3.0)
    mu2 = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    assert frechet_distance(np.zeros(6), np.eye(6), mu2, s2) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(("n1", "n2", "dim"), [(6, 9, 32), (400, 300, 12)])
def test_feature_paths_agree_and_order_invariant(n1, n2, dim):
    g = torch.Generator().manual_seed(0)
    f1 = torch.randn(n1, dim, generator=g, dtype=torch.float64)
    f2 = torch.randn(n2, dim, generator=g, dtype=torch.float64) * 1.3 + 0.2
    value = fid_from_features(f1, f2)
    assert value == pytest.approx(frechet_distance(*gaussian_stats(f1), *gaussian_stats(f2)), rel=1e-6)
    perm1, perm2 = torch.randperm(n1, generator=g), torch.randperm(n2, generator=g)
    assert fid_from_features(f1[perm1], f2[perm2]) == pytest.approx(value, rel=1e-9)
    assert abs(fid_from_features(f1, f1)) < 1e-6
    assert fid_from_features(f2, f1) == pytest.approx(value, rel=1e-9)


def test_needs_two_images_per_set():
    with pytest.raises(BadOptionError, match="N >= 2"):
        fid_from_features(torch.randn(1, 8), torch.randn(5, 8))


@pytest.fixture(scope="module")
def small_set():
    from skimage import data

    images = [data.astronaut(), data.chelsea(), np.stack([data.camera()] * 3, -1)]
    return torch.cat([to_tensor(img[::2, ::2][:150, :150]) for img in images])  # (3, 3, 150, 150) 0..255


def test_inception_features_fid_of_same_set_and_order(fid_weights, small_set):
    model = load_inception()
    noisy = (small_set + 30 * torch.randn_like(small_set)).clamp(0, 255)
    acc = METRICS["fid"].accumulator(value_range=(0, 255), model=model)
    for part in (slice(0, 1), slice(1, 3)):
        acc.update(small_set[part], noisy[part])
    feats, noisy_feats = torch.cat(acc.pred), torch.cat(acc.target)
    assert feats.shape == (3, 2048) and bool((feats >= 0).all())
    same = inception_features(noisy[1:2] / 127.5 - 1, model=model)  # the same image given in [-1, 1]
    assert torch.allclose(same, noisy_feats[1:2], rtol=1e-4, atol=1e-5)
    assert abs(fid_from_features(feats, feats)) < 1e-3
    value = acc.compute()
    assert value == pytest.approx(fid_from_features(feats, noisy_feats), rel=1e-12) and value > 1.0
    assert fid_from_features(feats[[2, 0, 1]], noisy_feats[[1, 2, 0]]) == pytest.approx(value, rel=1e-6)
