"""Synthetic depth options that bring training closer to real use: furnished rooms
(``geometry="rich"``) and items normalised the way `translate` normalises a sensor's map
(``normalize="input"``)."""

import numpy as np
import pytest
import torch

from guided_pix2pix.data import build_dataset
from guided_pix2pix.data.depth import (
    SensorModel,
    denormalize_depth,
    low_resolution_depth,
    sensor_depth_to_input,
)
from guided_pix2pix.data.synthetic_depth import FURNITURE, _Camera, _room
from guided_pix2pix.errors import BadOptionError

SIZE = (64, 80)


def _metres(item):
    m = item["meta"]
    return denormalize_depth(item["target"][0], m["depth_min_m"], m["depth_max_m"])


@pytest.mark.parametrize("scale", [4, 8])
@pytest.mark.parametrize("protocol", ["A", "B"])
def test_input_normalisation_is_exactly_what_translate_computes_from_the_samples(scale, protocol):
    opts = {"split": "val", "count": 2, "size": SIZE, "scale": scale, "protocol": protocol}
    official = build_dataset("synthetic_depth", **opts)[1]
    item = build_dataset("synthetic_depth", normalize="input", **opts)[1]
    depth_m = _metres(official)  # the official item clips nothing of the target: the true depth
    # the user's side: only the low-resolution samples, as a float map in metres
    low = low_resolution_depth(depth_m, scale, protocol)[0, 0].numpy()
    x, scaling = sensor_depth_to_input(low, SIZE, "low.npy")
    torch.testing.assert_close(item["input"], x, atol=1e-5, rtol=0)
    assert (item["meta"]["depth_min_m"], item["meta"]["depth_max_m"]) == pytest.approx(
        (scaling.lo, scaling.hi)
    )
    # the target is the true depth on the input's scale, not clipped to the samples' range
    torch.testing.assert_close(_metres(item), depth_m, atol=1e-4, rtol=0)
    assert float(depth_m.min()) <= scaling.lo and float(depth_m.max()) >= scaling.hi


def test_default_items_keep_the_official_target_range_normalisation():
    item = build_dataset("synthetic_depth", split="val", count=1, size=SIZE)[0]
    assert float(item["target"].min()) == -1.0 and float(item["target"].max()) == 1.0


@pytest.mark.parametrize("name", sorted(FURNITURE))
def test_each_piece_of_furniture_is_seen_in_front_of_the_walls(name):
    H, W = 48, 64
    cam = _Camera((H, W), np.array([0.0, 1.2, 0.0], np.float32), np.radians(65), 0.0, -0.15)
    hits = _room(cam.position, cam.d_rows, 2.0, 2.8, 6.0)
    walls = hits.t.copy()
    used = FURNITURE[name](np.random.default_rng(3), cam, hits, (2.0, 2.8, 2.5), 4)
    closer = hits.t < walls - 1e-3
    assert used >= 1 and closer.any()
    assert set(np.unique(hits.sid[closer])) <= set(range(4, 4 + used))
    assert np.isfinite(hits.t).all() and all(np.isfinite(n).all() for n in hits.normal)


def test_rich_rooms_are_reproducible_and_hold_more_depth_edges():
    opts = {"split": "val", "count": 16, "size": (96, 96)}
    basic = build_dataset("synthetic_depth", **opts)
    rich = build_dataset("synthetic_depth", geometry="rich", **opts)
    again = build_dataset("synthetic_depth", geometry="rich", **opts)

    def edges(ds):  # occlusion edges: a step of more than 30 cm to the right-hand neighbour
        return sum(int((_metres(ds[i]).diff(dim=1).abs() > 0.3).sum()) for i in range(len(ds)))

    assert torch.equal(rich[5]["guide"], again[5]["guide"]) and torch.equal(
        rich[5]["target"], again[5]["target"]
    )
    assert not torch.equal(rich[5]["target"], basic[5]["target"])
    assert edges(rich) > 1.4 * edges(basic)  # measured: 3941 vs 2343


@pytest.mark.parametrize(
    "options, bad", [({"geometry": "fancy"}, "geometry"), ({"normalize": "guide"}, "normalize")]
)
def test_bad_options_are_named(options, bad):
    with pytest.raises(BadOptionError) as err:
        build_dataset("synthetic_depth", **options)
    assert err.value.option == bad


def test_sensor_options_change_only_the_input_and_stay_reproducible():
    opts = {"split": "val", "count": 2, "size": SIZE, "scale": 4}
    clean = build_dataset("synthetic_depth", **opts)[1]
    noisy = build_dataset("synthetic_depth", sensor_noise=0.01, sensor_holes=0.2, **opts)[1]
    again = build_dataset("synthetic_depth", sensor_noise=0.01, sensor_holes=0.2, **opts)[1]
    assert torch.equal(clean["target"], noisy["target"]) and torch.equal(clean["guide"], noisy["guide"])
    assert not torch.equal(clean["input"], noisy["input"])
    assert torch.equal(noisy["input"], again["input"])


def test_sensor_holes_are_filled_from_known_samples_and_noise_grows_with_distance():
    ramp = torch.linspace(1.0, 5.0, 40 * 50).reshape(1, 1, 40, 50)
    filled = SensorModel(0.0, 0.3, np.random.default_rng(0))(ramp)
    changed = (filled != ramp).float().mean().item()
    assert 0.2 < changed < 0.35  # about the asked fraction (a filled hole may keep its own value)
    assert set(filled.flatten().tolist()) <= set(ramp.flatten().tolist())  # only known values
    near = SensorModel(0.01, 0.0, np.random.default_rng(1))(torch.full((1, 1, 60, 60), 1.0))
    far = SensorModel(0.01, 0.0, np.random.default_rng(1))(torch.full((1, 1, 60, 60), 3.0))
    assert float(near.std()) == pytest.approx(0.01, rel=0.1)
    assert float(far.std() / near.std()) == pytest.approx(9.0, rel=0.01)


@pytest.mark.parametrize("option", ["sensor_noise", "sensor_holes"])
def test_bad_sensor_options_are_named(option):
    with pytest.raises(BadOptionError) as err:
        build_dataset("synthetic_depth", **{option: 1.5})
    assert err.value.option == option
