"""Untrusted generator folders and weights are checked before anything is allocated or loaded;
`translate` never overwrites what it was given; `score` prints strict JSON (null, not Infinity)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from guided_pix2pix.cli import main
from guided_pix2pix.errors import BadFileError, BadOptionError
from guided_pix2pix.files.strict_json import dumps_strict
from guided_pix2pix.nn.generator import MAX_PARAMETERS, Generator, GeneratorConfig, load_state_strict

TINY = {"input_nc": 1, "guide_nc": 3, "output_nc": 1, "ngf": 4, "n_blocks": 1, "bottleneck": 8}


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"ngf": 100_000}, "ngf: must be <= 1024"),
        ({"bottleneck": 300_000}, "bottleneck: must be <= 4096"),
        ({"backbone": "unet", "n_layers": 20}, "n_layers: must be <= 12"),
        ({"guide_nc": 5000}, "guide_nc: must be <= 1024"),
        ({"ngf": 1024, "n_blocks": 64}, f"over the limit of {MAX_PARAMETERS:,}"),
    ],
)
def test_generator_sizes_are_bounded_before_allocation(changes, problem):
    with pytest.raises(BadOptionError, match=problem):
        Generator(GeneratorConfig(**{**TINY, **changes}))


@pytest.mark.parametrize(
    "bad, problem",
    [
        (lambda t: torch.full_like(t, float("nan")), "NaN or infinite"),
        (lambda t: t.to(torch.int8), "expected floating point .* found torch.int8"),
        (lambda t: t.to(torch.complex64), "expected floating point .* found torch.complex64"),
        (lambda t: "not a tensor", "expected a tensor, found str"),
    ],
)
def test_weights_must_be_finite_floating_point_tensors(bad, problem):
    model = Generator(GeneratorConfig(**TINY))
    state = dict(model.state_dict())
    key = sorted(state)[0]
    state[key] = bad(state[key])
    with pytest.raises(BadFileError, match=f"w.safetensors: .*{problem}"):
        load_state_strict(model, state, "w.safetensors")


def test_a_state_with_an_integer_key_is_a_bad_file():
    model = Generator(GeneratorConfig(**TINY))
    with pytest.raises(BadFileError, match="key 3 is not a tensor name"):
        load_state_strict(model, {**model.state_dict(), 3: torch.zeros(1)}, "w.pth")


def _write(path, arr):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path.read_bytes()


def test_translate_never_overwrites_its_inputs(tmp_path, capsys):
    gen = Generator(GeneratorConfig(**TINY)).save_pretrained(tmp_path / "gen")
    rng = np.random.default_rng(0)
    before = {
        p: _write(p, a)
        for p, a in (
            (tmp_path / "in" / "a.png", rng.integers(0, 65535, (16, 16), dtype=np.uint16)),
            (tmp_path / "guide" / "a.png", rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)),
        )
    }
    base = ["translate", "--checkpoint", str(gen), "--device", "cpu"]
    for inp, guide, out in (
        ("in/a.png", "guide/a.png", "in/a.png"),
        ("in/a.png", "guide/a.png", "guide/a.png"),
        ("in", "guide", "in"),
        ("in", "guide", "in/out"),
        ("in", "guide", "guide"),
    ):
        argv = [
            *base,
            "--input",
            str(tmp_path / inp),
            "--guide",
            str(tmp_path / guide),
            "--out",
            str(tmp_path / out),
        ]
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--out" in err[0] and "choose another --out" in err[0], err
    assert {p: p.read_bytes() for p in before} == before
    assert not (tmp_path / "in" / "out").exists()


def test_score_prints_strict_json_null_for_an_infinite_psnr(tmp_path, capsys):
    arr = np.random.default_rng(1).integers(0, 255, (16, 16, 3), dtype=np.uint8)
    _write(tmp_path / "a" / "x.png", arr)
    assert (
        main(["score", str(tmp_path / "a"), str(tmp_path / "a"), "--metrics", "psnr", "--device", "cpu"]) == 0
    )
    out = capsys.readouterr().out.strip()

    def refuse(word):
        raise AssertionError(f"not strict JSON: {word}")

    assert json.loads(out, parse_constant=refuse) == {"psnr": None}


def test_dumps_strict_writes_null_for_every_non_finite_float():
    value = {"a": float("inf"), "b": [float("nan"), 1.5, (float("-inf"),)], "c": np.float32("nan")}
    assert json.loads(dumps_strict(value)) == {"a": None, "b": [None, 1.5, [None]], "c": None}


def test_a_zip_bomb_inside_a_pth_is_refused_before_torch_unpacks_it(tmp_path):
    """A .pth whose member expands 1000x (deflated zeros) is refused from the zip directory."""
    import zipfile

    import torch

    from guided_pix2pix.files.safe_load import load_torch_weights

    good = tmp_path / "good.pth"
    torch.save({"w": torch.zeros(3)}, good)
    assert torch.equal(load_torch_weights(good)["w"], torch.zeros(3))
    bomb = tmp_path / "bomb.pth"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bomb, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
        dst.writestr("archive/data/999", b"\0" * (20 * 2**20), compress_type=zipfile.ZIP_DEFLATED)
    with pytest.raises(
        BadFileError, match=r"bomb\.pth: member archive/data/999 expands .* refused as a zip bomb"
    ):
        load_torch_weights(bomb)
