"""Structural similarity (SSIM, Wang et al. 2004) under the conventions this field uses.

Each convention is a named function, because the numbers differ by up to a few hundredths:

| function | values seen | window | covariance | data range | source |
|---|---|---|---|---|---|
| `ssim` | [0, 1] | 7x7 uniform | sample (N-1) | 1 | scikit-image default on uint8 images |
| `ssim_bft` | [-1, 1] | 7x7 uniform | sample (N-1) | 2 | the official bFT `evaluate_pose` |
| `ssim_gaussian` | [0, 1] | 11x11 Gaussian, sigma 1.5 | population | 1 | Wang et al. 2004, IPOL `imdiff` |
| `ssim_pose` | [0, 1] | 11x11 Gaussian, sigma 1.5 | population | max - min of pred | PG2 / Deformable GAN |
| `masked_ssim` | background set to black, then one of the above | | | | PG2 "mask-SSIM" |

Images are first mapped from `value_range` to the "values seen" column. SSIM is invariant to a
common scale of both images and the data range, but not to an offset (the luminance term
compares means), so [0, 1] and [-1, 1] give different numbers for the same pair.

All use K1 = 0.01, K2 = 0.03, drop the border where the window does not fit (as scikit-image
crops (win - 1) // 2 pixels), average the SSIM map over pixels and channels of one image
(= the mean of per-channel SSIMs, scikit-image's ``channel_axis`` behaviour), then average
over images.

About the official bFT pose evaluation: `util.evaluate_pose` calls scikit-image 0.14
``compare_ssim(output, target, multichannel=True)`` with every other argument at its default,
on generator outputs in [-1, 1]; for float input that version takes the data range from the
dtype, (-1, 1), i.e. 2 = the range of the values. That is `ssim_bft` here. (As published,
the call receives 4-D torch tensors and cannot run; the convention above is what it asks
scikit-image for.) The bFT paper compares its pose SSIM with
numbers that PG2 and Deformable GAN computed under `ssim_pose`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..errors import BadOptionError
from ._common import as_pair, reduce, to_unit

K1, K2 = 0.01, 0.03


def uniform_window(size: int = 7) -> torch.Tensor:
    """1-D box window of `size` taps summing to 1 (scikit-image ``uniform_filter``)."""
    return torch.full((size,), 1.0 / size, dtype=torch.float64)


def gaussian_window(sigma: float = 1.5, truncate: float = 3.5) -> torch.Tensor:
    """1-D Gaussian window as scipy ``gaussian_filter`` builds it: radius int(truncate*sigma+0.5)."""
    radius = int(truncate * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    w = torch.exp(-0.5 * (x / sigma) ** 2)
    return w / w.sum()


def _filter_valid(x: torch.Tensor, window: torch.Tensor, dim: int) -> torch.Tensor:
    """Correlate `x` with a 1-D window along `dim`, keeping only full windows (shift-and-add;
    faster than grouped float64 convolutions on the CPU)."""
    weights = window.tolist()
    n = x.shape[dim] - len(weights) + 1
    out = x.narrow(dim, 0, n) * weights[0]
    for i, w in enumerate(weights[1:], start=1):
        out = out.add(x.narrow(dim, i, n), alpha=w)
    return out


def ssim_map(
    pred: torch.Tensor,
    target: torch.Tensor,
    window: torch.Tensor,
    data_range: torch.Tensor,
    *,
    sample_covariance: bool,
) -> torch.Tensor:
    """SSIM map (N, C, H - K + 1, W - K + 1) for a separable window of K taps.

    data_range: (N,) tensor, one range per image. Only windows that fit inside the image are
    evaluated ("valid" filtering), which is exactly the region scikit-image keeps after its crop.
    """
    n, c, h, w = pred.shape
    k = window.numel()
    if h < k or w < k:
        raise BadOptionError("pred", f"image of {h}x{w} pixels is smaller than the {k}x{k} SSIM window")
    stack = torch.cat([pred, target, pred * pred, target * target, pred * target], dim=1)  # (N, 5C, H, W)
    stack = _filter_valid(_filter_valid(stack, window, dim=2), window, dim=3)  # (N, 5C, H', W')
    ux, uy, uxx, uyy, uxy = stack.split(c, dim=1)  # each (N, C, H', W')
    cov_norm = k * k / (k * k - 1) if sample_covariance else 1.0
    vx = cov_norm * (uxx - ux * ux)
    vy = cov_norm * (uyy - uy * uy)
    vxy = cov_norm * (uxy - ux * uy)
    r = data_range.to(device=pred.device, dtype=pred.dtype).view(n, 1, 1, 1)  # (N, 1, 1, 1)
    c1, c2 = (K1 * r) ** 2, (K2 * r) ** 2
    return ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))


def _per_image(pred, target, window, *, sample_covariance, data_range) -> torch.Tensor:
    """Mean of the SSIM map per image (N,); data_range: float or (N,) tensor."""
    data_range = torch.as_tensor(data_range, dtype=torch.float64).expand(pred.shape[0])
    return ssim_map(pred, target, window, data_range, sample_covariance=sample_covariance).flatten(1).mean(1)


def ssim(pred, target, *, value_range=(-1.0, 1.0), reduction: str = "mean") -> float | torch.Tensor:
    """SSIM, scikit-image default convention, on images with black at 0.

    7x7 uniform window, sample covariance (normalised by 48), K1 = 0.01, K2 = 0.03, images
    mapped from `value_range` to [0, 1] with data range 1; mean over the valid SSIM map and
    channels per image, then over images. Equals ``skimage.metrics.structural_similarity(a, b,
    data_range=255, channel_axis=-1)`` on the uint8 images. pred, target: (N, C, H, W) or
    (C, H, W), H and W >= 7.
    """
    pred, target = (to_unit(x, value_range) for x in as_pair(pred, target))
    return reduce(
        _per_image(pred, target, uniform_window(7), sample_covariance=True, data_range=1.0), reduction
    )


def ssim_bft(pred, target, *, value_range=(-1.0, 1.0), reduction: str = "mean") -> float | torch.Tensor:
    """SSIM as the official bFT pose evaluation computes it (AlBahar & Huang 2019, `evaluate_pose`).

    scikit-image defaults (7x7 uniform window, sample covariance, K1 0.01, K2 0.03) on images
    in [-1, 1] with data range 2, i.e. the generator's outputs as they are, not saved as uint8.
    Images are mapped from `value_range` to [-1, 1] first. Per image, then mean over images.
    """
    pred, target = (2 * to_unit(x, value_range) - 1 for x in as_pair(pred, target))
    return reduce(
        _per_image(pred, target, uniform_window(7), sample_covariance=True, data_range=2.0), reduction
    )


def ssim_gaussian(pred, target, *, value_range=(-1.0, 1.0), reduction: str = "mean") -> float | torch.Tensor:
    """SSIM, Gaussian convention of Wang et al. 2004 (IPOL ``imdiff -m mssim``).

    Gaussian window sigma 1.5 truncated at 3.5 sigma (11x11), population covariance, images
    mapped from `value_range` to [0, 1] with data range 1. Equals scikit-image with
    ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255`` on uint8
    images. H and W >= 11.
    """
    pred, target = (to_unit(x, value_range) for x in as_pair(pred, target))
    values = _per_image(pred, target, gaussian_window(1.5), sample_covariance=False, data_range=1.0)
    return reduce(values, reduction)


def ssim_pose(pred, target, *, value_range=(-1.0, 1.0), reduction: str = "mean") -> float | torch.Tensor:
    """SSIM, pose-transfer convention (PG2, Ma et al. 2017; Deformable GAN, Siarohin et al. 2018).

    As `ssim_gaussian`, but the data range is ``pred.max() - pred.min()`` of each predicted
    image (over all its channels), as their scoring scripts pass to scikit-image for uint8
    images (images mapped from `value_range` to [0, 1] first). A constant prediction falls back
    to 1. Those scripts score saved 8-bit images: quantise `pred` and `target` first to match
    them exactly.
    """
    pred, target = (to_unit(x, value_range) for x in as_pair(pred, target))
    span = (pred.flatten(1).amax(1) - pred.flatten(1).amin(1)).cpu()  # (N,)
    span = torch.where(span > 0, span, torch.ones_like(span))
    values = _per_image(pred, target, gaussian_window(1.5), sample_covariance=False, data_range=span)
    return reduce(values, reduction)


SSIM_CONVENTIONS: dict[str, Callable[..., float | torch.Tensor]] = {
    "ssim": ssim,
    "ssim_bft": ssim_bft,
    "ssim_gaussian": ssim_gaussian,
    "ssim_pose": ssim_pose,
}


def masked_ssim(
    pred,
    target,
    mask,
    *,
    value_range=(-1.0, 1.0),
    convention: str = "ssim_pose",
    reduction: str = "mean",
) -> float | torch.Tensor:
    """Mask-SSIM (PG2, Ma et al. 2017): SSIM of the foreground only.

    Protocol: pixels where `mask` is 0 are set to black (`lo` of `value_range`) in both images,
    then SSIM is computed under `convention` (a key of `SSIM_CONVENTIONS`; PG2 used
    ``"ssim_pose"``). mask: (N, 1, H, W), (N, H, W) or (H, W); nonzero = foreground (the person).
    """
    if convention not in SSIM_CONVENTIONS:
        raise BadOptionError(
            "convention", f"unknown SSIM convention {convention!r} ({', '.join(SSIM_CONVENTIONS)})"
        )
    pred, target = (to_unit(x, value_range) for x in as_pair(pred, target))
    m = torch.as_tensor(mask, device=pred.device)
    while m.ndim < 4:
        m = m.unsqueeze(0 if m.ndim == 2 else 1)  # (H, W) -> (1, H, W) -> (N, 1, H, W)
    if (
        m.shape[-2:] != pred.shape[-2:]
        or m.shape[0] not in (1, pred.shape[0])
        or m.shape[1] not in (1, pred.shape[1])
    ):
        raise BadOptionError(
            "mask", f"shape {tuple(m.shape)} does not broadcast to images {tuple(pred.shape)}"
        )
    fg = (m != 0).to(pred.dtype)
    return SSIM_CONVENTIONS[convention](pred * fg, target * fg, value_range=(0.0, 1.0), reduction=reduction)
