"""`guided-pix2pix explain`: the modulation-map figure of one input/guide pair, from real files."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from guided_pix2pix.cli import main
from guided_pix2pix.files.images import write_image
from guided_pix2pix.nn.generator import Generator


def _save(path, **options):
    options = {"backbone": "resnet", "ngf": 4, "n_blocks": 1, "bottleneck": 8, **options}
    Generator(**options).save_pretrained(path)
    return path


@pytest.fixture
def pair(tmp_path):
    rng = np.random.default_rng(0)
    write_image(tmp_path / "in.png", rng.integers(0, 256, (32, 40, 3), dtype=np.uint8))
    write_image(tmp_path / "guide.png", rng.integers(0, 256, (32, 40, 3), dtype=np.uint8))
    return tmp_path / "in.png", tmp_path / "guide.png"


def _explain(checkpoint, input, guide, out):
    return main(
        ["explain", "--checkpoint", str(checkpoint), "--input", str(input), "--guide", str(guide),
         "--out", str(out), "--device", "cpu"]
    )  # fmt: skip


@pytest.mark.parametrize("scheme,lines", [("bft", 7), ("uft", 4), ("film", 4)])
def test_writes_a_readable_png_and_one_line_per_stage_and_direction(tmp_path, pair, capsys, scheme, lines):
    model = _save(tmp_path / scheme, conditioning=scheme)
    out = tmp_path / "figures" / "maps.png"
    assert _explain(model, *pair, out) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    # ResNet: 4 FT stages; bFT has input -> guide at the first 3
    assert len(printed) == lines
    assert printed[0].startswith("stage 0 (32x40, 4 channels) guide->input")
    with Image.open(out) as image:
        assert image.format == "PNG" and image.width > 300 and image.height > 300
        image.load()


def test_sensor_depth_with_a_shipped_model(tmp_path, capsys):
    """A depth camera's 16-bit map (smaller than its photo) with pretrained:depth_x8, read as
    translate reads it."""
    rng = np.random.default_rng(1)
    write_image(tmp_path / "depth.png", rng.integers(500, 4000, (8, 8), dtype=np.uint16))
    write_image(tmp_path / "photo.png", rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    out = tmp_path / "maps.png"
    assert _explain("pretrained:depth_x8", tmp_path / "depth.png", tmp_path / "photo.png", out) == 0
    assert "stage 0 (64x64" in capsys.readouterr().out
    with Image.open(out) as image:
        assert image.format == "PNG"


@pytest.mark.parametrize("scheme", ["input_concat", "feature_concat"])
def test_a_model_without_ft_stages_exits_2_with_one_line(tmp_path, pair, capsys, scheme):
    model = _save(tmp_path / scheme, conditioning=scheme)
    out = tmp_path / "maps.png"
    assert _explain(model, *pair, out) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "has no modulation maps" in err and scheme in err
    assert not out.exists()


def test_bad_arguments_exit_2_with_one_line(tmp_path, pair, capsys):
    model = _save(tmp_path / "bft", conditioning="bft")
    cases = [
        ((model, *pair, tmp_path / "maps.jpg"), ".png"),
        ((model, tmp_path / "missing.png", pair[1], tmp_path / "m.png"), "no such file"),
        ((model, *pair, pair[0].with_suffix(".png")), "input or guide"),  # would overwrite the input
    ]
    for args, needle in cases:
        assert _explain(*args) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and needle in err, err
    grey = tmp_path / "grey.png"
    write_image(grey, np.zeros((32, 40), np.uint8))
    assert _explain(model, grey, pair[1], tmp_path / "m.png") == 2
    assert "expects 3 input channels" in capsys.readouterr().err
