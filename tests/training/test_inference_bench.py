"""`guided-pix2pix bench --inference`, and every inference path `translate` can take, against the
eager float32 reference on real small models and real files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from guided_pix2pix.cli import main
from guided_pix2pix.files.images import read_image
from guided_pix2pix.nn.generator import Generator
from guided_pix2pix.nn.inference import (
    INFERENCE_PATHS,
    TOLERANCE,
    PrepackedConv,
    build_path,
    default_path,
    max_abs_error,
    prepack_convolutions,
    prepare_for_inference,
)
from guided_pix2pix.nn.padding import run_padded

KEYS = {
    "ms_per_img",
    "reference_ms_per_img",
    "speedup_vs_reference",
    "pairs",
    "peak_mem_mib",
    "reference_peak_mem_mib",
    "peak_mem_kind",
    "max_abs_error",
    "within_tolerance",
    "inference_path",
    "resolved_path",
    "setup_s",
    "preset",
    "batch",
    "size",
    "threads",
}
SMALL = ["--steps", "3", "--warmup", "2", "--threads", "1"]


def _bench(capsys, *args):
    code = main(["bench", "--inference", *args])
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    return code, json.loads(out[0])


@pytest.mark.parametrize("preset, path", [("depth_x8", "auto"), ("pose", "eager_fast")])
def test_bench_inference_prints_one_json_line_within_tolerance(capsys, preset, path):
    code, out = _bench(capsys, "--preset", preset, "--size", "32", "32", "--inference-path", path, *SMALL)
    assert code == 0
    assert KEYS <= set(out)
    assert out["resolved_path"] == (default_path("cpu") if path == "auto" else path)
    assert out["batch"] == 1 and out["size"] == [32, 32] and out["threads"] == 1
    assert len(out["pairs"]) == 3 and all(r > 0 and c > 0 for r, c in out["pairs"])
    ratios = sorted(r / c for r, c in out["pairs"])
    assert out["speedup_vs_reference"] == pytest.approx(ratios[1], rel=1e-2)
    assert 0 <= out["max_abs_error"] <= TOLERANCE and out["within_tolerance"] is True


@pytest.mark.parametrize(
    "args, option",
    [
        (["--steps", "2"], "--steps"),
        (["--compile"], "--compile"),
        (["--precision", "bf16"], "--precision"),
        (["--size", "30", "30"], "--size"),
        (["--device", "cuda"], "--device"),
    ],
)
def test_bench_inference_refuses_bad_options_in_one_line(capsys, args, option):
    assert main(["bench", "--inference", "--preset", "pose", "--size", "32", "32", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
    assert option in captured.err


def test_inference_path_needs_inference(capsys):
    assert main(["bench", "--preset", "pose", "--inference-path", "prepacked"]) == 2
    assert "--inference" in capsys.readouterr().err


# ----------------------------------------------------------------------------- translate's paths
def _small(**options):
    base = {"backbone": "resnet", "conditioning": "bft", "ngf": 8, "n_blocks": 1}
    torch.manual_seed(1)
    model = Generator(**{**base, **options}).eval()
    for p in model.parameters():  # trained-looking weights: the zero-initialised heads too
        p.data.add_(0.05 * torch.randn_like(p))
    return model


MODELS = {
    "pose": {"input_nc": 3, "guide_nc": 18, "output_nc": 3},
    "texture_unet": {"backbone": "unet", "n_layers": 3, "input_nc": 1, "guide_nc": 4, "output_nc": 3},
    "depth_residual": {"input_nc": 1, "guide_nc": 3, "output_nc": 1, "residual": True},
    "depth_input_filter": {
        "input_nc": 1,
        "guide_nc": 3,
        "output_nc": 1,
        "residual": True,
        "input_filter": {"name": "joint_bilateral", "sigma_color": 20.0, "sigma_space": 3.0},
    },
    "texture_prior": {"input_nc": 1, "guide_nc": 4, "output_nc": 3, "output_prior": "patch_colour_fill"},
}


def _reference(model):
    import copy

    return copy.deepcopy(model).set_execution_mode("reference")


def _inputs(model, n, h, w, seed=0):
    gen = torch.Generator().manual_seed(seed)
    cfg = model.config
    return (
        torch.rand(n, cfg.input_nc, h, w, generator=gen) * 2 - 1,
        torch.rand(n, cfg.guide_nc, h, w, generator=gen) * 2 - 1,
    )


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("path", sorted({default_path("cpu"), "eager_fast"}))
def test_translate_paths_match_eager_reference(name, path):
    """Both paths translate can take (the CPU default and eager fast mode, the default elsewhere)
    on every kind of generator, over repeated calls (prepacked packs on the second call of a
    shape) and changing shapes, within 1e-4 of the eager fp32 reference."""
    model = _small(**MODELS[name])
    reference = _reference(model)
    x, g = _inputs(model, 2, 24, 32)
    runner = build_path(path, model, x, g, 1)
    worst = 0.0
    with torch.no_grad():
        for n, h, w in [(2, 24, 32), (2, 24, 32), (2, 24, 32), (1, 40, 16), (1, 40, 16), (2, 24, 32)]:
            xi, gi = _inputs(model, n, h, w, seed=n * h + w)
            worst = max(worst, max_abs_error(runner.run(xi, gi), reference(xi, gi)))
    assert worst <= TOLERANCE


@pytest.mark.parametrize("path", ["channels_last"])
def test_other_bench_paths_match_eager_reference(path):
    """The paths bench offers besides translate's, on a real small model (torch.compile and
    onnx excepted: compiling or exporting takes 15 s to minutes here; bench --inference checks
    every path against the reference on each run and exits 1 beyond the tolerance)."""
    model = _small(**MODELS["texture_unet"])
    x, g = _inputs(model, 1, 32, 32)
    runner = build_path(path, model, x, g, 1)
    try:
        with torch.no_grad():
            want = _reference(model)(x, g)
            errors = [max_abs_error(runner.run(x, g), want) for _ in range(2)]
    finally:
        if runner.cleanup is not None:
            runner.cleanup()
    assert max(errors) <= TOLERANCE


def test_prepacked_really_packs_and_keeps_gradients_and_state():
    model = _small(**MODELS["pose"])
    state = {k: v.clone() for k, v in model.state_dict().items()}
    assert prepack_convolutions(model) > 0
    assert model.state_dict().keys() == state.keys()
    x, g = _inputs(model, 1, 24, 24)
    with torch.no_grad():
        first = model(x, g)
        second = model(x, g)
    packed = [m for m in model.modules() if isinstance(m, PrepackedConv)]
    assert packed and all(m._packed is not None for m in packed if m.kernel_size != (1, 1))
    assert max_abs_error(first, second) <= TOLERANCE
    # with gradients the plain convolutions run: the weights get their gradients
    model(x, g).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    # a weight changed after packing is packed again
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(0.5)
        changed = model(x, g)
        changed = model(x, g)
    assert max_abs_error(changed, _reference(model)(x, g)) <= TOLERANCE


def test_translate_command_output_equals_eager_reference(tmp_path):
    """translate (through `prepare_for_inference`) on float .npy files of two sizes, several
    batches each: every output within 1e-4 of the eager fp32 reference of the saved model."""
    model = _small(**MODELS["pose"])
    model.save_pretrained(tmp_path / "g")
    reference = Generator.from_pretrained(tmp_path / "g").eval().set_execution_mode("reference")
    rng = np.random.default_rng(0)
    (tmp_path / "in").mkdir()
    (tmp_path / "guide").mkdir()
    sizes = {f"{i:02d}": ((21, 30) if i % 2 else (16, 16)) for i in range(6)}
    for stem, (h, w) in sizes.items():
        np.save(tmp_path / "in" / f"{stem}.npy", rng.uniform(-1, 1, (h, w, 3)).astype(np.float32))
        np.save(tmp_path / "guide" / f"{stem}.npy", rng.uniform(-1, 1, (h, w, 18)).astype(np.float32))
    code = main(
        ["translate", "--checkpoint", str(tmp_path / "g"), "--input", str(tmp_path / "in"),
         "--guide", str(tmp_path / "guide"), "--out", str(tmp_path / "out"), "--device", "cpu",
         "--batch-size", "1"]
    )  # fmt: skip
    assert code == 0
    for stem in sizes:
        x = torch.from_numpy(np.load(tmp_path / "in" / f"{stem}.npy")).permute(2, 0, 1)[None]
        g = torch.from_numpy(np.load(tmp_path / "guide" / f"{stem}.npy")).permute(2, 0, 1)[None]
        want = run_padded(reference, x, g)[0].permute(1, 2, 0).numpy()
        got = read_image(tmp_path / "out" / f"{stem}.npy")
        assert got.shape == want.shape
        assert float(np.abs(got.astype(np.float64) - want).max()) <= TOLERANCE


def test_prepare_for_inference_names_the_default_path():
    model = _small(**MODELS["depth_residual"])
    assert prepare_for_inference(model, "cpu") == default_path("cpu")
    assert default_path("cpu") in INFERENCE_PATHS
    assert default_path("meta") == "eager_fast"
