"""Inception Score math with small stand-in classifiers (the real one is user-supplied)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from guided_pix2pix.errors import BadFileError, BadOptionError
from guided_pix2pix.metrics import (
    METRICS,
    Classifier,
    inception_score,
    inception_score_from_probs,
    load_classifier,
)


def reference_is(probs: np.ndarray, splits: int) -> tuple[float, float]:
    """The improved-gan formula written directly in numpy."""
    scores = []
    n = probs.shape[0]
    for i in range(splits):
        part = probs[i * n // splits : (i + 1) * n // splits]
        kl = part * (np.log(part) - np.log(part.mean(0, keepdims=True)))
        scores.append(np.exp(kl.sum(1).mean()))
    return float(np.mean(scores)), float(np.std(scores))


def test_matches_reference_formula():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(50, 12)) * 3
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    for splits in (1, 5, 10):
        mean, std = inception_score_from_probs(torch.from_numpy(probs), splits)
        ref_mean, ref_std = reference_is(probs, splits)
        assert mean == pytest.approx(ref_mean, rel=1e-12) and std == pytest.approx(ref_std, rel=1e-9)


def test_extremes():
    k = 8
    one_hot = torch.eye(k).repeat(3, 1)  # every class equally often, certain predictions
    assert inception_score_from_probs(one_hot, splits=1)[0] == pytest.approx(k)
    same = torch.full((20, k), 1.0 / k)
    assert inception_score_from_probs(same, splits=2) == (pytest.approx(1.0), pytest.approx(0.0))
    with pytest.raises(BadOptionError, match="splits"):
        inception_score_from_probs(one_hot, splits=100)


class MeanColourNet(nn.Module):
    """Stand-in classifier: 3 classes scored by the mean of each colour channel."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 50.0 * x.mean(dim=(2, 3))  # (N, 3) logits


def _primaries(n_each: int) -> torch.Tensor:
    images = torch.zeros(3 * n_each, 3, 32, 32)
    for c in range(3):
        images[c * n_each : (c + 1) * n_each, c] = 1.0  # pure red, green, blue images in [0, 1]
    return images


def test_with_stand_in_network_and_torchscript_file(tmp_path):
    images = _primaries(4)
    classifier = Classifier(MeanColourNet(), size=16, input_range=(0, 1))
    score = inception_score(images, classifier, value_range=(0, 1), splits=1)
    assert score == pytest.approx(3.0, rel=1e-6)  # confident and balanced over 3 classes
    only_red = inception_score(images[:4], classifier, value_range=(0, 1), splits=1)
    assert only_red == pytest.approx(1.0, rel=1e-6)
    path = tmp_path / "classifier.pt"
    torch.jit.script(MeanColourNet()).save(str(path))
    loaded = load_classifier(path, size=16, input_range=(0, 1))
    assert inception_score(images * 2 - 1, loaded, splits=1) == pytest.approx(score, rel=1e-9)
    acc = METRICS["inception_score"].accumulator(classifier=loaded, value_range=(-1, 1), splits=1)
    for batch in (images * 2 - 1).split(5):
        acc.update(batch)
    assert acc.compute() == pytest.approx(score, rel=1e-9)


def test_bad_classifier_files(tmp_path):
    with pytest.raises(BadFileError, match="no such file"):
        load_classifier(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"junk")
    with pytest.raises(BadFileError, match="TorchScript"):
        load_classifier(junk)
