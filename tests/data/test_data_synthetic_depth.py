"""Synthetic depth task: determinism, split separation, ranges, edge alignment, protocols."""

import numpy as np
import pytest
import torch
from torch.utils.data import default_collate

from guided_pix2pix.data import SyntheticDepthDataset, augment_batch, build_dataset
from guided_pix2pix.data.depth import denormalize_depth, downsample_bicubic, downsample_interval
from guided_pix2pix.errors import BadOptionError

SIZE = (64, 80)


def _metres(item):
    m = item["meta"]
    return denormalize_depth(item["target"][0], m["depth_min_m"], m["depth_max_m"]).numpy()


def test_same_seed_same_item_other_seed_or_split_different():
    a = SyntheticDepthDataset(size=SIZE, count=3, seed=1)
    b = SyntheticDepthDataset(size=SIZE, count=3, seed=1)
    c = SyntheticDepthDataset(size=SIZE, count=3, seed=2)
    v = SyntheticDepthDataset(split="val", size=SIZE, count=3, seed=1)
    for key in ("input", "guide", "target"):
        assert torch.equal(a[2][key], b[2][key])
        assert not torch.equal(a[2][key], c[2][key])
        assert not torch.equal(a[2][key], v[2][key])
        assert not torch.equal(a[0][key], a[1][key])
    # an item does not depend on which items were generated before it
    assert torch.equal(SyntheticDepthDataset(size=SIZE, count=3, seed=1)[2]["guide"], a[2]["guide"])


def test_shapes_ranges_and_metric_depth():
    ds = SyntheticDepthDataset(size=SIZE, count=4, seed=0, scale=8)
    assert ds.task == "depth" and ds.channels == (1, 3, 1)
    for i in range(4):
        item = ds[i]
        assert item["input"].shape == (1, *SIZE) and item["target"].shape == (1, *SIZE)
        assert item["guide"].shape == (3, *SIZE)
        for key in ("input", "guide", "target"):
            assert item[key].dtype == torch.float32
            assert item[key].min() >= -1 and item[key].max() <= 1
        assert item["target"].min() == -1 and item["target"].max() == 1  # per-image min/max
        lo, hi = item["meta"]["depth_min_m"], item["meta"]["depth_max_m"]
        assert 0.5 <= lo < hi <= 10.0
        d = _metres(item)
        assert d.min() == pytest.approx(lo, abs=1e-4) and d.max() == pytest.approx(hi, abs=1e-4)
    batch = default_collate([ds[0], ds[1]])
    assert batch["input"].shape == (2, 1, *SIZE) and batch["meta"]["depth_min_m"].shape == (2,)


def _jumps(d, axis):
    """Depth discontinuities: a step > 10 cm that is > 4x the steps beside it (not a steep slope)."""
    dd = np.moveaxis(np.abs(np.diff(d, axis=axis)), axis, 0)
    before = np.pad(dd, ((1, 0), (0, 0)))[:-1]
    after = np.pad(dd, ((0, 1), (0, 0)))[1:]
    return np.moveaxis((dd > 0.1) & (dd > 4 * np.maximum(before, after)), 0, axis)


def test_depth_edges_are_rgb_edges_and_rgb_has_texture_edges_of_its_own():
    ds = SyntheticDepthDataset(size=(96, 128), count=6, seed=5)
    on_edge, texture_edge_fraction = [], []
    for i in range(len(ds)):
        item = ds[i]
        d = _metres(item)
        rgb = ((item["guide"] + 1) / 2).numpy()
        for axis in (0, 1):
            dr = np.abs(np.diff(rgb, axis=axis + 1)).mean(0)
            on_edge.append(dr[_jumps(d, axis)] > 0.03)
            ref = np.moveaxis(np.moveaxis(d, axis, 0)[:-1], 0, axis)
            flat = np.abs(np.diff(d, axis=axis)) < 0.01 * ref
            texture_edge_fraction.append(((dr > 0.1) & flat).sum() / flat.sum())
    on_edge = np.concatenate(on_edge)
    assert on_edge.size > 500  # the scenes do have occlusions
    assert on_edge.mean() > 0.97  # and nearly every depth edge is a colour edge
    assert np.mean(texture_edge_fraction) > 0.03  # strong colour edges where depth is smooth


def test_protocol_a_samples_cell_centres_and_b_averages():
    grid = torch.arange(16 * 24, dtype=torch.float32).reshape(1, 1, 16, 24)
    low = downsample_interval(grid, 4)
    assert torch.equal(low, grid[..., 2::4, 2::4])
    ramp = torch.linspace(0, 1, 32).repeat(32, 1)[None, None]  # (1, 1, 32, 32), varies along W
    low_b = downsample_bicubic(ramp, 4)
    assert low_b.shape == (1, 1, 8, 8)
    cell_means = ramp[0, 0, 0].reshape(8, 4).mean(1)
    assert torch.allclose(low_b[0, 0, 4], cell_means, atol=0.02)


@pytest.mark.parametrize("protocol", ["A", "B"])
def test_larger_scale_loses_more(protocol):
    errors = []
    for scale in (4, 16):
        ds = SyntheticDepthDataset(size=(128, 128), count=2, seed=0, scale=scale, protocol=protocol)
        errors.append(sum(float((ds[i]["input"] - ds[i]["target"]).abs().mean()) for i in range(2)))
    assert 0 < errors[0] < errors[1]


def test_protocols_give_different_inputs_same_target():
    a = SyntheticDepthDataset(size=SIZE, count=1, protocol="A")[0]
    b = SyntheticDepthDataset(size=SIZE, count=1, protocol="B")[0]
    assert torch.equal(a["target"], b["target"]) and not torch.equal(a["input"], b["input"])


@pytest.mark.parametrize(
    "options, bad",
    [
        ({"scale": 3}, "scale"),
        ({"protocol": "C"}, "protocol"),
        ({"size": (4, 4)}, "size"),
        ({"count": 0}, "count"),
    ],
)
def test_bad_options_are_named(options, bad):
    with pytest.raises(BadOptionError) as err:
        build_dataset("synthetic_depth", **options)
    assert err.value.option == bad


def test_augment_flips_all_entries_together():
    plain = SyntheticDepthDataset(size=SIZE, count=1, seed=4)[0]
    seen_flip = seen_plain = False
    for draw in range(12):
        batch = default_collate([SyntheticDepthDataset(size=SIZE, count=1, seed=4)[0]])
        out = augment_batch(batch, torch.Generator().manual_seed(draw), flip=True, crop=(32, 48))
        item = {k: v[0] for k, v in out.items() if k != "meta"}
        assert item["guide"].shape == (3, 32, 48)
        for flipped in (False, True):
            ref = {k: torch.flip(v, [-1]) if flipped else v for k, v in plain.items() if k != "meta"}
            found = [
                (t, l)
                for t in range(SIZE[0] - 32 + 1)
                for l in range(SIZE[1] - 48 + 1)
                if torch.equal(ref["guide"][:, t : t + 32, l : l + 48], item["guide"])
            ]
            if found:
                t, l = found[0]
                assert torch.equal(ref["input"][:, t : t + 32, l : l + 48], item["input"])
                assert torch.equal(ref["target"][:, t : t + 32, l : l + 48], item["target"])
                seen_flip |= flipped
                seen_plain |= not flipped
                break
        else:
            pytest.fail("augmented guide is not a crop of the plain or flipped guide")
    assert seen_flip and seen_plain
