"""Image and depth metrics with their protocols written down (see each function's docstring).

Plain functions: tensors in, a number out (``reduction="none"`` gives per-image values), batched,
computed on the inputs' device. `METRICS` maps the names used by ``guided-pix2pix score`` and
``evaluate`` to them. LPIPS and FID need weights: ``guided-pix2pix weights install lpips|fid``.
"""

from .depth import PROTOCOLS, depth_errors, depth_errors_metric, depth_in_metres, depth_mae, depth_rmse
from .fid import (
    FIDAccumulator,
    fid,
    fid_from_features,
    frechet_distance,
    gaussian_stats,
    inception_features,
    load_inception,
)
from .inception_score import (
    Classifier,
    ISAccumulator,
    inception_score,
    inception_score_from_probs,
    load_classifier,
)
from .lpips import LPIPS, load_lpips, lpips
from .psnr import psnr
from .registry import METRICS, MeanAccumulator, Metric
from .ssim import SSIM_CONVENTIONS, masked_ssim, ssim, ssim_bft, ssim_gaussian, ssim_pose

__all__ = [
    "LPIPS",
    "METRICS",
    "PROTOCOLS",
    "SSIM_CONVENTIONS",
    "Classifier",
    "FIDAccumulator",
    "ISAccumulator",
    "MeanAccumulator",
    "Metric",
    "depth_in_metres",
    "depth_errors",
    "depth_errors_metric",
    "depth_mae",
    "depth_rmse",
    "fid",
    "fid_from_features",
    "frechet_distance",
    "gaussian_stats",
    "inception_features",
    "inception_score",
    "inception_score_from_probs",
    "load_classifier",
    "load_inception",
    "load_lpips",
    "lpips",
    "masked_ssim",
    "psnr",
    "ssim",
    "ssim_bft",
    "ssim_gaussian",
    "ssim_pose",
]
