"""Peak signal-to-noise ratio."""

from __future__ import annotations

import torch

from ._common import as_pair, check_value_range, reduce


def psnr(pred, target, *, value_range=(-1.0, 1.0), reduction: str = "mean") -> float | torch.Tensor:
    """PSNR in dB, per image: 10 log10(R^2 / MSE), R = hi - lo of `value_range`.

    Protocol: MSE over all channels and pixels of one image, then the mean of the per-image
    PSNRs (not the PSNR of the pooled MSE). Same as `skimage.metrics.peak_signal_noise_ratio`
    with ``data_range=R`` for one image. Identical images give +inf.

    pred, target: (N, C, H, W) or (C, H, W), values in `value_range`.
    """
    pred, target = as_pair(pred, target)
    lo, hi = check_value_range(value_range)
    mse = (pred - target).pow(2).flatten(1).mean(dim=1)  # (N,)
    values = 10.0 * torch.log10((hi - lo) ** 2 / mse)
    return reduce(values, reduction)
