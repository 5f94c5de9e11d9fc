"""Aligned degradation at any size, sensor depth files, photo-textured synthetic rooms."""

import numpy as np
import pytest
import torch

from guided_pix2pix.data import build_dataset
from guided_pix2pix.data.depth import degrade_depth, input_to_sensor_depth, sensor_depth_to_input
from guided_pix2pix.errors import BadFileError


@pytest.mark.parametrize("protocol", ["A", "B"])
@pytest.mark.parametrize("width", [736, 741])  # a multiple of 4, 8, 16 and Middlebury's width
@pytest.mark.parametrize("scale", [4, 8, 16])
def test_a_ramp_stays_in_place_whatever_the_size(protocol, width, scale):
    """Bicubic reproduces a linear ramp: on aligned grids the degraded ramp is the ramp up to the
    protocol's own half-pixel sampling offset, at every column, also when the width is not a
    multiple of the scale (misaligned grids drift by up to ~1.5 pixels across the image)."""
    ramp = torch.arange(width, dtype=torch.float32).expand(40, width).clone()  # depth = column index
    out = degrade_depth(ramp, scale, protocol)
    inner = slice(2 * scale, width - 3 * scale)
    error = (out - ramp)[:, inner].abs().max().item()
    assert error <= 0.5 + 1e-3, error


def test_degradation_of_a_multiple_is_unchanged_by_the_alignment():
    depth = torch.rand(64, 96) * 5 + 1
    low = depth[8 // 2 :: 8, 8 // 2 :: 8][None, None]
    want = torch.nn.functional.interpolate(
        low, size=(64, 96), mode="bicubic", align_corners=False, antialias=True
    )
    assert torch.allclose(degrade_depth(depth, 8, "A"), want[0, 0])


def test_sensor_depth_round_trip_keeps_units_and_fills_holes():
    low = np.array([[1000, 0], [3000, 2000]], np.uint16)
    x, scaling = sensor_depth_to_input(low, (4, 4), "low.png")
    assert x.shape == (1, 4, 4) and x.min() >= -1 and x.max() <= 1
    assert (scaling.lo, scaling.hi) == (1000.0, 3000.0)  # the input's own known range: no target
    back = input_to_sensor_depth(x, scaling)
    assert back.shape == (4, 4, 1) and back.dtype == np.uint16 and back.min() >= 1000 and back.max() <= 3000
    with pytest.raises(BadFileError, match="no known depth pixel"):
        sensor_depth_to_input(np.zeros((3, 3), np.uint16), (6, 6), "zeros.png")


def test_photo_textures_are_an_option_that_leaves_the_default_rooms_alone():
    plain = build_dataset("synthetic_depth", split="val", count=2, size=(32, 32))
    zero = build_dataset("synthetic_depth", split="val", count=2, size=(32, 32), photo_textures=0.0)
    photos = build_dataset("synthetic_depth", split="val", count=2, size=(32, 32), photo_textures=1.0)
    assert torch.equal(plain[1]["guide"], zero[1]["guide"])
    assert not torch.equal(plain[1]["guide"], photos[1]["guide"])
    assert torch.equal(
        photos[1]["guide"],
        build_dataset("synthetic_depth", split="val", count=2, size=(32, 32), photo_textures=1.0)[1]["guide"],
    )
    with pytest.raises(ValueError, match="photo_textures: must be a probability"):
        build_dataset("synthetic_depth", photo_textures=2)
