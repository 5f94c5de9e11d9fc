"""Batched texture items (`SyntheticTextureDataset.__getitems__`, `render_items`) are the
per-item ones: for any batch composition, and through a DataLoader with `collate_items`."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_synthetic_speed_equivalence import _fake_fashion_mnist, _random_masks

from guided_pix2pix.data import SyntheticTextureDataset
from guided_pix2pix.data.color import rgb_to_lab_array
from guided_pix2pix.data.synthetic_common import StackedItems, collate_items
from guided_pix2pix.data.synthetic_texture import (
    _batch_shaded_colours,
    inside_distance,
)
from guided_pix2pix.data.texturegan import patch_window, patch_windows

COMPOSITIONS = ([4], [0, 1, 2, 3, 4, 5], [5, 2, 5, -1], list(range(12))[::-1])


def _assert_items_equal(got: dict, want: dict) -> None:
    assert list(got) == list(want)
    for key in ("input", "guide", "target"):
        assert got[key].dtype == want[key].dtype and torch.equal(got[key], want[key]), key
    assert got["meta"] == want["meta"]


@pytest.mark.parametrize("split", ["train", "val"])
@pytest.mark.parametrize("fashion", [False, True])
def test_getitems_is_the_items_one_by_one(tmp_path, split, fashion):
    root = str(_fake_fashion_mnist(tmp_path / "fashion")) if fashion else None
    ds = SyntheticTextureDataset(split, size=(64, 80), count=12, seed=3, silhouettes_dir=root)
    for indices in COMPOSITIONS:
        batch = ds.__getitems__(indices)
        assert isinstance(batch, StackedItems) and len(batch) == len(indices)
        for got, index in zip(batch, indices):
            _assert_items_equal(got, ds[index])


def test_getitems_checks_its_indices():
    ds = SyntheticTextureDataset(size=(64, 64), count=3, silhouettes_dir=None)
    with pytest.raises(IndexError, match="index 3 out of range"):
        ds.__getitems__([0, 3])


def test_loader_batches_are_the_default_collation_of_the_items():
    ds = SyntheticTextureDataset(size=(64, 64), count=10, seed=1, silhouettes_dir=None)
    batches = [[3, 1, 4], [1], [5, 9, 2, 6]]
    loader = torch.utils.data.DataLoader(ds, batch_sampler=batches, collate_fn=collate_items)
    for got, indices in zip(loader, batches, strict=True):
        want = torch.utils.data.default_collate([ds[i] for i in indices])
        assert list(got) == list(want) and got["meta"] == want["meta"]
        for key in ("input", "guide", "target"):
            assert torch.equal(got[key], want[key]), key


def test_collate_items_of_a_plain_list_is_default_collate():
    items = [{"input": torch.full((1, 2, 2), float(i)), "meta": {"id": str(i)}} for i in range(3)]
    got, want = collate_items(items), torch.utils.data.default_collate(items)
    assert torch.equal(got["input"], want["input"]) and got["meta"] == want["meta"]


def test_patch_windows_of_a_batch_are_each_items_window():
    """The batched rule's offsets into the flat candidate list pick each item's own pixel."""
    rng = np.random.default_rng(6)
    for side_min, side_max in ((10, 20), (20, 40)):
        eroded = rng.random((30, 50, 60)) < rng.choice([0.0, 0.002, 0.05], (30, 1, 1))
        u_side, u_pick = rng.random((2, 30))
        centres, windows = patch_windows(eroded, u_side, u_pick, side_min, side_max)
        for i in range(30):
            centre, window = patch_window(eroded[i], u_side[i], u_pick[i], side_min, side_max)
            assert tuple(windows[i].tolist()) == window and tuple(centres[i].tolist()) == centre


def test_batch_shaded_colours_are_each_objects():
    rng = np.random.default_rng(7)
    masks = list(_random_masks(rng, 12))[2:]
    insides = [inside_distance(mask)[mask] for mask in masks]
    palettes = [  # few colours (keyed) and one colour per pixel (shaded pixel by pixel)
        rng.random((3, 3)).astype(np.float32) if k % 3 else rng.random((len(d), 3))
        for k, d in enumerate(insides)
    ]
    indices = [rng.integers(0, len(p), len(d)) for p, d in zip(palettes, insides)]
    distinct, which = _batch_shaded_colours(palettes, indices, np.concatenate(insides), 3.3)
    got = np.split(distinct[which], np.cumsum([len(d) for d in insides])[:-1])
    for g, palette, index, inside in zip(got, palettes, indices, insides):
        want = (palette[index] * (0.7 + 0.3 * np.clip(inside / 3.3, 0, 1))[:, None]).astype(np.float32)
        np.testing.assert_array_equal(g, want)


def test_rgb_to_lab_array_in_blocks_is_colour_by_colour():
    rgb = np.random.default_rng(8).random((10_001, 3))
    whole = rgb_to_lab_array(rgb, normalized=True)
    for start, stop in ((0, 7), (4090, 4100), (9000, 10_001)):
        np.testing.assert_array_equal(whole[start:stop], rgb_to_lab_array(rgb[start:stop], normalized=True))
    assert rgb_to_lab_array(rgb.reshape(1, 10_001, 3)).shape == (1, 10_001, 3)
