"""Transforms: LAB against scikit-image, paired flip/crop alignment, pad_to_multiple round trip."""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.color import lab2rgb, rgb2lab

from guided_pix2pix.data import (
    augment_batch,
    crop_to,
    denormalize_lab,
    lab_to_rgb,
    normalize_lab,
    pad_to_multiple,
    rgb_to_lab,
)
from guided_pix2pix.errors import BadOptionError


def _nchw(a):
    return torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 3), h=st.integers(1, 9), w=st.integers(1, 9))
def test_rgb_to_lab_matches_skimage(seed, n, h, w):
    rng = np.random.default_rng(seed)
    rgb = rng.random((n, h, w, 3))
    rgb[rng.random(rgb.shape) < 0.2] = 0.0  # exercise the linear segments
    rgb[rng.random(rgb.shape) < 0.1] = 1.0
    ref = rgb2lab(rgb)
    np.testing.assert_allclose(rgb_to_lab(_nchw(rgb)).numpy().transpose(0, 2, 3, 1), ref, atol=1e-9)
    lab32 = rgb_to_lab(_nchw(rgb).float())
    assert lab32.dtype == torch.float32
    np.testing.assert_allclose(lab32.numpy().transpose(0, 2, 3, 1), ref, atol=1e-4)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_lab_to_rgb_matches_skimage_including_out_of_gamut(seed):
    rng = np.random.default_rng(seed)
    lab = np.stack(
        [
            rng.uniform(0, 100, (2, 6, 7)),
            rng.uniform(-128, 127, (2, 6, 7)),
            rng.uniform(-128, 127, (2, 6, 7)),
        ],
        -1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skimage warns about clipped negative Z
        ref = lab2rgb(lab)
    np.testing.assert_allclose(lab_to_rgb(_nchw(lab)).numpy().transpose(0, 2, 3, 1), ref, atol=1e-9)
    np.testing.assert_allclose(lab_to_rgb(_nchw(lab).float()).numpy().transpose(0, 2, 3, 1), ref, atol=1e-4)


def test_lab_round_trip_and_texturegan_scaling():
    rgb = torch.rand(2, 3, 5, 6, dtype=torch.float64)
    lab = rgb_to_lab(rgb)
    assert torch.allclose(lab_to_rgb(lab), rgb, atol=1e-9)
    scaled = normalize_lab(lab)
    assert torch.allclose(scaled[:, 0], (lab[:, 0] - 50) / 50) and torch.allclose(
        scaled[:, 2], lab[:, 2] / 128
    )
    assert torch.allclose(denormalize_lab(scaled), lab)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        rgb_to_lab(torch.rand(3, 5, 6))


def _coordinate_item(h, w):
    """An item whose pixels say where they came from: value = row * 1000 + col, per entry."""
    grid = torch.arange(h * w, dtype=torch.float32).reshape(h, w)
    coords = (grid // w) * 1000 + grid % w
    return {
        "input": coords[None],
        "guide": torch.stack([coords, coords + 0.25, coords + 0.5]),
        "target": coords[None] + 0.75,
        "mask": coords[None] * 0 + 1,
        "meta": {"id": "x"},
    }


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(2, 20),
    w=st.integers(2, 20),
    ch=st.integers(1, 20),
    cw=st.integers(1, 20),
    seed=st.integers(0, 999),
)
def test_paired_flip_and_crop_keep_every_entry_aligned(h, w, ch, cw, seed):
    ch, cw = min(ch, h), min(cw, w)
    items = [_coordinate_item(h, w) for _ in range(3)]
    batch = {k: torch.stack([item[k] for item in items]) for k in ("input", "guide", "target", "mask")}
    batch["meta"] = {"id": ["x"] * 3}
    out = augment_batch(batch, torch.Generator().manual_seed(seed), flip=True, crop=(ch, cw))
    assert out["input"].shape == (3, 1, ch, cw) and out["mask"].shape == (3, 1, ch, cw)
    for i in range(3):
        base = out["input"][i, 0]
        assert torch.equal(out["guide"][i, 1] - 0.25, base) and torch.equal(out["guide"][i, 2] - 0.5, base)
        assert torch.equal(out["target"][i, 0] - 0.75, base)
        rows, cols = base // 1000, base % 1000
        assert torch.all(rows[1:] - rows[:-1] == 1)  # a contiguous window, rows in order
        step = cols[:, 1:] - cols[:, :-1]
        assert torch.all(step == step.flatten()[0]) if cw > 1 else True  # all +1 (plain) or all -1 (mirrored)
    assert out["meta"] == {"id": ["x"] * 3}


def test_augment_batch_names_the_option_for_a_crop_larger_than_the_images():
    batch = {"input": torch.zeros(1, 1, 8, 8), "guide": torch.zeros(1, 3, 8, 8)}
    with pytest.raises(BadOptionError, match=r"train\.crop: crop 9x4 is larger than the images \(8x8\)"):
        augment_batch(batch, torch.Generator(), flip=False, crop=(9, 4))


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(1, 40), w=st.integers(1, 40), m=st.sampled_from([1, 4, 8, 16, 32]), lead=st.integers(0, 2)
)
def test_pad_to_multiple_reflects_and_crops_back(h, w, m, lead):
    x = torch.randn(*([2] * lead), h, w)
    padded, size = pad_to_multiple(x, m)
    assert size == (h, w) and padded.shape[:-2] == x.shape[:-2]
    assert padded.shape[-2] % m == 0 and padded.shape[-1] % m == 0
    assert padded.shape[-2] - h < m and padded.shape[-1] - w < m
    assert torch.equal(crop_to(padded, size), x)
    if h > 1 and padded.shape[-2] > h:  # reflect: first padded row mirrors row h-2
        assert torch.equal(padded[..., h, :w], x[..., h - 2, :])
