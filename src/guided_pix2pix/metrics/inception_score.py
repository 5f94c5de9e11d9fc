"""Inception Score (Salimans et al. 2016), as the official bFT pose evaluation computes it.

IS = exp(E_x KL(p(y|x) || p(y))), computed on `splits` consecutive, equal parts of the image
list (part i = images[i*N//splits : (i+1)*N//splits], p(y) = the mean prediction of the part);
the score is the mean over parts, and the spread their standard deviation (ddof 0). This is
the OpenAI `improved-gan` code that bFT's `util/eval/InceptionScore.py` copies: 10 splits, the
TF Inception 2015-12-05 graph with logits = pool3 @ W of ``softmax/logits`` (no bias, 1008
classes), images given as 0..255 at any size (the graph resizes to 299 bilinearly).

No package registry ships that classifier, so the network is user-supplied (see
docs/metrics.md for where to get it): a TorchScript file taking (N, 3, S, S) float images in
`input_range` and returning logits or probabilities (N, K). `load_classifier` wraps it.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import BadFileError, BadOptionError
from ._common import as_images, check_value_range, jit_load, to_rgb, to_unit

OUTPUTS = ("logits", "probs")


class Classifier(nn.Module):
    """An image classifier with its input contract, returning class probabilities.

    net: module mapping (N, 3, size, size) float images in `input_range` to (N, K);
    output: "logits" (softmax applied here) or "probs"; size: input side in pixels (images are
    resized bilinearly, align_corners=False); input_range: (lo, hi) for black and white.
    """

    def __init__(self, net: nn.Module, *, output: str = "logits", size: int = 299, input_range=(-1.0, 1.0)):
        super().__init__()
        if output not in OUTPUTS:
            raise BadOptionError("output", f"expected one of {OUTPUTS}, got {output!r}")
        self.net, self.output, self.size = net, output, int(size)
        self.input_range = check_value_range(input_range)

    def forward(self, unit_images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in [0, 1] -> (N, K) probabilities, float64."""
        x = unit_images.float()
        if x.shape[-2:] != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        lo, hi = self.input_range
        out = self.net(x * (hi - lo) + lo).double()
        return out.softmax(dim=1) if self.output == "logits" else out


def load_classifier(
    path: str | Path, *, output: str = "logits", size: int = 299, input_range=(-1.0, 1.0), device=None
):
    """Load a TorchScript classifier file into a `Classifier` (no pickle: TorchScript archive only)."""
    path = Path(path)
    if not path.is_file():
        raise BadFileError(path, "no such file (the Inception Score needs a classifier; see docs/metrics.md)")
    try:
        net = jit_load(str(path), map_location=torch.device(device or "cpu"))
    except (RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadFileError(path, f"not a TorchScript file ({first})") from exc
    return Classifier(net.eval(), output=output, size=size, input_range=input_range)


def inception_score_from_probs(probs: torch.Tensor, splits: int = 10) -> tuple[float, float]:
    """(mean, std) of exp(mean KL(p(y|x) || p(y))) over `splits` consecutive parts of probs (N, K)."""
    p = torch.as_tensor(probs).double()
    if p.ndim != 2 or p.shape[0] < splits or splits < 1:
        raise BadOptionError(
            "splits", f"need (N, K) probabilities with N >= splits >= 1, got {tuple(p.shape)}"
        )
    n = p.shape[0]
    scores: list[torch.Tensor] | torch.Tensor  # per-split scores, then stacked
    scores = []
    for i in range(splits):
        part = p[i * n // splits : (i + 1) * n // splits]  # (n_i, K)
        marginal = part.mean(0, keepdim=True)  # (1, K)
        kl = (torch.special.xlogy(part, part) - torch.special.xlogy(part, marginal)).sum(1).mean()
        scores.append(kl.exp())
    scores = torch.stack(scores)
    return float(scores.mean()), float(scores.std(unbiased=False))


def inception_score(
    images,
    classifier: Classifier,
    *,
    value_range=(-1.0, 1.0),
    splits: int = 10,
    batch_size: int = 32,
) -> float:
    """Inception Score of a set of images (higher is better), mean over `splits` parts.

    images: (N, C, H, W) with C in {1, 3}, values in `value_range`, N >= splits, in the order to
    split (the official code keeps dataset order). classifier: a `Classifier` (see
    `load_classifier`). Use `inception_score_from_probs` for the std over parts as well.
    """
    images = as_images(images, "images")
    classifier = classifier.to(images.device)
    with torch.no_grad():
        probs = torch.cat(
            [
                classifier(to_rgb(to_unit(b, value_range).clamp(0, 1), "images")).cpu()
                for b in images.split(batch_size)
            ]
        )
    return inception_score_from_probs(probs, splits)[0]


class ISAccumulator:
    """Streaming Inception Score: `update(pred)` stores class probabilities, `compute()` the mean IS.

    classifier: a `Classifier`; value_range: of the images; splits: parts (official: 10).
    """

    def __init__(self, classifier: Classifier, *, value_range=(-1.0, 1.0), splits: int = 10):
        self.classifier, self.value_range, self.splits = classifier, value_range, splits
        self.probs: list[torch.Tensor] = []

    def update(self, pred, target=None) -> None:
        images = as_images(pred, "pred")
        with torch.no_grad():
            unit = to_rgb(to_unit(images, self.value_range).clamp(0, 1), "pred")
            self.probs.append(self.classifier.to(images.device)(unit).cpu())

    def compute(self) -> float:
        if not self.probs:
            raise BadOptionError("inception_score", "no images were given to the Inception Score accumulator")
        return inception_score_from_probs(torch.cat(self.probs), self.splits)[0]
