"""`nn.export` for every backbone x scheme, and the torch-free runtime's numpy twins of the torch
functions that `translate --checkpoint` uses (`onnx_runtime`)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from guided_pix2pix import onnx_runtime
from guided_pix2pix.data.depth import input_to_sensor_depth as torch_to_sensor
from guided_pix2pix.data.depth import sensor_depth_to_input as torch_from_sensor
from guided_pix2pix.data.depth import upsample_to as torch_upsample_to
from guided_pix2pix.errors import BadFileError, BadOptionError
from guided_pix2pix.files import values
from guided_pix2pix.nn import export
from guided_pix2pix.nn.backbones import BACKBONES
from guided_pix2pix.nn.generator import Generator
from guided_pix2pix.nn.modulation import SCHEMES
from guided_pix2pix.nn.padding import reflect_pad_to as torch_reflect_pad_to

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

TINY = {"ngf": 4, "n_blocks": 1, "n_layers": 3, "bottleneck": 8}


def tiny_generator(**options) -> Generator:
    """A tiny generator with PyTorch's default init (the official N(0, 0.02) makes near-constant
    outputs, which would check little)."""
    g = Generator(**{"input_nc": 1, "guide_nc": 3, "output_nc": 1, **TINY, **options})
    for m in g.modules():
        if m is not g and hasattr(m, "reset_parameters"):
            m.reset_parameters()
    return g


@pytest.mark.slow
@pytest.mark.parametrize("scheme", list(SCHEMES))
@pytest.mark.parametrize("backbone", list(BACKBONES))
def test_every_backbone_and_scheme_exports_dynamic_and_matches_eager(tmp_path, backbone, scheme):
    model = tiny_generator(backbone=backbone, conditioning=scheme)
    program = export.trace_generator(model, dynamic=True)  # one trace, written both ways
    for fmt, name in (("onnx", "g.onnx"), ("torch-export", "g.pt2")):
        result = export.export_generator(model, tmp_path / name, fmt, dynamic=True, program=program)
        assert result.path.is_file()
        assert [(c.batch, c.height, c.width) for c in result.checks] == [(1, 64, 64), (2, 72, 80)]
        assert all(c.max_abs_error <= 1e-4 for c in result.checks), result.checks
    assert model.execution_mode == "fast" and model.training  # the model is left as it was

    # the ONNX file runs at a third size, through the runner translate --onnx uses
    runner = onnx_runtime.OnnxGenerator(tmp_path / "g.onnx")
    assert runner.fixed_size is None and runner.size_rule == model.body.size_rule(model.config)
    assert runner.config.raw == model.config.to_dict()
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (3, 1, 24, 40)).astype(np.float32)
    g = rng.uniform(-1, 1, (3, 3, 24, 40)).astype(np.float32)
    with torch.no_grad():
        want = model.eval()(torch.from_numpy(x), torch.from_numpy(g)).numpy()
    assert np.abs(runner(x, g) - want).max() <= 1e-4


def test_fixed_size_export_has_static_shapes_and_one_check(tmp_path):
    model = tiny_generator(backbone="unet", conditioning="bft", residual=True)
    result = export.export_generator(model, tmp_path / "s.onnx", "onnx", size=(32, 48), task="depth")
    assert [(c.height, c.width) for c in result.checks] == [(32, 48)]
    runner = onnx_runtime.OnnxGenerator(tmp_path / "s.onnx")
    assert runner.fixed_size == (32, 48) and runner.task == "depth"
    assert runner.padded_size(30, 41) == (32, 48)
    with pytest.raises(BadOptionError, match="exported for 32x48 only"):
        runner.padded_size(64, 48)
    text = "\n".join(result.describe())
    assert "fixed size 32x48" in text and "max |eager - file|" in text


def test_metadata_carries_config_size_rule_and_task(tmp_path):
    onnx = pytest.importorskip("onnx")
    model = tiny_generator(backbone="resnet", conditioning="film", norm="batch")
    export.export_generator(model, tmp_path / "m.onnx", "onnx", size=(16, 24), task="generic")
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    assert json.loads(props["guided_pix2pix_config"]) == model.config.to_dict()
    assert json.loads(props["guided_pix2pix_size_rule"]) == {
        "multiple": 8,
        "minimum": 16,
        "rule": model.body.size_rule(model.config)[2],
    }
    assert json.loads(props["guided_pix2pix_task"]) == "generic"


def test_torch_export_archive_keeps_metadata_and_loads(tmp_path):
    model = tiny_generator(backbone="resnet", conditioning="uft")
    export.export_generator(model, tmp_path / "m.pt2", "torch-export", size=(16, 16))
    extra = {export.METADATA_KEYS["config"]: ""}
    program = torch.export.load(str(tmp_path / "m.pt2"), extra_files=extra)
    assert json.loads(extra[export.METADATA_KEYS["config"]]) == model.config.to_dict()
    x, g = torch.rand(3, 1, 16, 16) * 2 - 1, torch.rand(3, 3, 16, 16) * 2 - 1  # the batch is free
    with torch.no_grad():
        assert (
            program.module()(x, g) - model.eval().set_execution_mode("reference")(x, g)
        ).abs().max() <= 1e-4


def test_input_filter_generators_trace_their_network_only(tmp_path):
    spec = {"name": "joint_bilateral", "sigma_color": 20, "sigma_space": 8}
    model = tiny_generator(input_filter=spec, residual=True)
    program = export.trace_generator(model)  # the OpenCV step is left out of the graph
    x, g = torch.rand(2, 1, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 2 - 1
    net = export.network_only(model)
    assert net.config.input_filter is None and model.config.input_filter == spec
    with torch.no_grad():
        torch.testing.assert_close(program.module()(x, g), net.eval()(x, g), atol=1e-4, rtol=0)
    with pytest.raises(BadOptionError, match="--format.*only --format onnx"):
        export.export_generator(model, tmp_path / "m.pt2", fmt="torch-export")


def test_sizes_outside_the_rule_and_unknown_formats_are_refused(tmp_path):
    model = tiny_generator(backbone="unet")
    with pytest.raises(BadOptionError, match=r"--size.*40x60.*multiples of 2\*\*n_layers = 8"):
        export.export_generator(model, tmp_path / "m.onnx", size=(40, 60))
    with pytest.raises(BadOptionError, match="--format.*unknown format"):
        export.export_generator(model, tmp_path / "m.x", "tflite")
    assert not list(tmp_path.iterdir())


def test_a_file_that_fails_its_check_is_not_written(tmp_path, monkeypatch):
    model = tiny_generator(backbone="unet")
    monkeypatch.setattr(export, "verify_file", lambda *a: [export.SizeCheck(1, 64, 64, 0.5)])
    with pytest.raises(export.ExportCheckError, match="differs from the eager generator by 5.00e-01"):
        export.export_generator(model, tmp_path / "m.pt2", "torch-export")
    assert not list(tmp_path.iterdir())  # neither the file nor its temporary


# ----------------------------------------------------------------------------- runner checks
def test_runner_refuses_files_that_are_not_exported_generators(tmp_path):
    onnx = pytest.importorskip("onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"this is not a protobuf \x00\x01\x02")
    with pytest.raises(BadFileError, match="junk.onnx: not a readable ONNX model"):
        onnx_runtime.OnnxGenerator(junk)
    h = onnx.helper
    graph = h.make_graph(
        [h.make_node("Relu", ["x"], ["y"])],
        "g",
        [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])],
    )
    plain = tmp_path / "plain.onnx"
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 18)]), str(plain))
    with pytest.raises(BadFileError, match="no guided_pix2pix_config in its metadata"):
        onnx_runtime.OnnxGenerator(plain)
    with pytest.raises(BadFileError, match="no such file"):
        onnx_runtime.OnnxGenerator(tmp_path / "missing.onnx")


def test_device_choices_map_to_providers():
    assert onnx_runtime.providers_for("cpu", ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    assert onnx_runtime.providers_for("auto", ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    with_cuda = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert onnx_runtime.providers_for("cuda:1", with_cuda)[0] == ("CUDAExecutionProvider", {"device_id": 1})
    with pytest.raises(BadOptionError, match="no CUDA provider"):
        onnx_runtime.providers_for("cuda", ["CPUExecutionProvider"])
    with pytest.raises(BadOptionError, match="unknown device"):
        onnx_runtime.providers_for("mps", with_cuda)


# ----------------------------------------------------------------------------- numpy twins
@pytest.mark.parametrize("size", [(5, 3), (1, 7), (1, 1), (16, 16), (9, 30)])
def test_reflect_pad_matches_torch(size):
    x = np.random.default_rng(0).standard_normal((2, 3, *size)).astype(np.float32)
    for target in [(16, 16), (24, 40), (size[0], 32)]:
        target = (max(target[0], size[0]), max(target[1], size[1]))
        want = torch_reflect_pad_to(torch.from_numpy(x), *target).numpy()
        np.testing.assert_array_equal(onnx_runtime.reflect_pad_to(x, *target), want)


def test_value_mapping_matches_files_values():
    rng = np.random.default_rng(0)
    for arr in (
        rng.integers(0, 256, (7, 5, 3), dtype=np.uint8),
        rng.integers(0, 65536, (7, 5, 1), dtype=np.uint16),
        rng.uniform(-1, 1, (7, 5, 2)).astype(np.float32),
    ):
        x = onnx_runtime.to_signed_unit(arr, "a")
        np.testing.assert_array_equal(x, values.to_signed_unit(arr, "a").numpy())
        for dtype in (np.uint8, np.uint16, np.float32):
            np.testing.assert_array_equal(
                onnx_runtime.from_signed_unit(x, dtype), values.from_signed_unit(torch.from_numpy(x), dtype)
            )
    with pytest.raises(BadFileError, match="must lie in"):
        onnx_runtime.to_signed_unit(np.full((2, 2, 1), 3.0, np.float32), "a")


@pytest.mark.parametrize(
    "low, full",
    [((10, 13), (80, 104)), ((8, 10), (61, 77)), ((12, 12), (37, 50)), ((5, 5), (5, 5)), ((3, 40), (7, 41))],
)
def test_sensor_depth_matches_data_depth(low, full):
    """Aligned grids (x8, x8 with a ragged edge), plain resizes, no resize, a one-pixel stretch."""
    rng = np.random.default_rng(0)
    depth = rng.integers(400, 9000, low, dtype=np.uint16)
    depth[1:3, 2:4] = 0  # holes: nearest known pixel
    x, how = onnx_runtime.sensor_depth_to_input(depth, full, "d.png")
    want, want_how = torch_from_sensor(depth, full, "d.png")
    assert (how.lo, how.hi, how.dtype) == (want_how.lo, want_how.hi, want_how.dtype)
    assert x.shape == tuple(want.shape) and x.dtype == np.float32
    assert np.abs(x - want.numpy()).max() <= 1e-5
    low_f = depth.astype(np.float32)
    up = torch_upsample_to(torch.from_numpy(low_f)[None, None], full)[0, 0].numpy()
    assert np.abs(onnx_runtime.upsample_to(low_f, full) - up).max() <= 1e-5 * depth.max()  # float32 sums
    out = want.clamp(-1, 1)
    np.testing.assert_array_equal(
        onnx_runtime.input_to_sensor_depth(out.numpy(), how), torch_to_sensor(out, want_how)
    )
    metres = np.where(depth > 0, depth / 1000.0, np.nan).astype(np.float32)
    xm, how_m = onnx_runtime.sensor_depth_to_input(metres, full, "d.npy")
    assert np.abs(xm - torch_from_sensor(metres, full, "d.npy")[0].numpy()).max() <= 1e-5
    assert onnx_runtime.input_to_sensor_depth(xm, how_m).dtype == np.float32
