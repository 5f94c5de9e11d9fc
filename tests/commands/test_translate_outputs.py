"""Outputs a person can look at: `translate` writes a texture model's outputs as RGB (its files are
RGB around the scaled-LAB network) and colour-maps depth outputs with --preview."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from PIL import Image
from skimage.color import lab2rgb, rgb2lab

from guided_pix2pix.cli import main
from guided_pix2pix.data.visualize import depth_colours
from guided_pix2pix.files.images import read_image, write_image
from guided_pix2pix.nn.generator import Generator
from guided_pix2pix.training.config import dump_config, load_config
from guided_pix2pix.training.model_task import generator_task

H, W = 32, 48  # multiples of the tiny U-Net's 2**3: no padding, so the test can run G directly


@pytest.fixture(scope="module")
def texture_model(tmp_path_factory):
    """A tiny texture generator with large random weights: its outputs span the LAB range (a fresh
    one writes near-grey), so a wrong conversion either way shows."""
    path = tmp_path_factory.mktemp("g") / "texture"
    G = Generator(backbone="unet", conditioning="bft", input_nc=1, guide_nc=4, output_nc=3, ngf=4, n_layers=3)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in G.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    G.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def depth_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("g") / "depth"
    Generator(
        backbone="resnet", conditioning="bft", input_nc=1, guide_nc=3, output_nc=1, ngf=4, n_blocks=1
    ).save_pretrained(path)
    return path


def _texture_files(tmp_path):
    """A sketch (RGB, black lines on white) and an RGBA guide with an opaque 12 x 16 patch."""
    rng = np.random.default_rng(0)
    sketch = np.full((H, W, 3), 255, np.uint8)
    sketch[4:28, 6] = sketch[4:28, 41] = sketch[4, 6:42] = sketch[27, 6:42] = 0
    sketch[10:20, 20:30] = rng.integers(0, 256, (10, 10, 3))  # some colour: only L may be used
    guide = np.zeros((H, W, 4), np.uint8)
    guide[:, :, :3] = rng.integers(0, 256, (H, W, 3))  # colours under the transparent part are ignored
    guide[10:22, 12:28, 3] = 255
    write_image(tmp_path / "sketch.png", sketch)
    write_image(tmp_path / "guide.png", guide)
    return sketch, guide


def _reference_output(model_dir, sketch, guide) -> np.ndarray:
    """What the network gives on the files, with the TextureGAN encoding built here from
    scikit-image (as the texturegan dataset does), converted back with skimage's lab2rgb."""
    scale = np.array([50.0, 128.0, 128.0])
    lab_sketch = (rgb2lab(sketch / 255.0) - [50.0, 0, 0]) / scale  # (H, W, 3)
    lab_patch = (rgb2lab(guide[:, :, :3] / 255.0) - [50.0, 0, 0]) / scale
    inside = guide[:, :, 3] == 255
    texture = np.where(inside[..., None], lab_patch, 1.0)
    mask = np.where(inside, 1.0, -1.0)[..., None]
    x = torch.from_numpy(lab_sketch[:, :, :1].transpose(2, 0, 1)).float()[None]  # (1, 1, H, W)
    g = torch.from_numpy(np.concatenate([texture, mask], 2).transpose(2, 0, 1)).float()[None]  # (1, 4, H, W)
    with torch.no_grad():
        out = Generator.from_pretrained(model_dir).eval()(x, g)[0].double().numpy()  # (3, H, W)
    lab = out.transpose(1, 2, 0) * scale + [50.0, 0, 0]
    with warnings.catch_warnings():  # out-of-gamut LAB: Z clipped to 0, as data.color does too
        warnings.simplefilter("ignore", UserWarning)
        return lab2rgb(lab)  # (H, W, 3) in [0, 1]


def _translate(*argv):
    return main(["translate", "--device", "cpu", *map(str, argv)])


def test_texture_output_is_rgb_and_matches_lab_to_rgb_of_the_network(tmp_path, texture_model):
    sketch, guide = _texture_files(tmp_path)
    out = tmp_path / "out.png"
    assert _translate("--checkpoint", texture_model, "--input", tmp_path / "sketch.png",
                      "--guide", tmp_path / "guide.png", "--out", out) == 0  # fmt: skip
    with Image.open(out) as im:
        assert im.mode == "RGB" and im.size == (W, H)
        written = np.asarray(im).astype(np.float64) / 255.0
    expected = _reference_output(texture_model, sketch, guide)
    assert expected.std(axis=(0, 1)).min() > 0.1  # colourful: the comparison means something
    assert np.abs(written - expected).max() <= 1 / 255 + 1e-9


def test_texture_file_mode_keeps_network_values(tmp_path, texture_model):
    """--texture file: float arrays in and out, as stored (the old behaviour, for pipelines)."""
    rng = np.random.default_rng(1)
    np.save(tmp_path / "in.npy", rng.uniform(-1, 1, (H, W, 1)).astype(np.float32))
    np.save(tmp_path / "guide.npy", rng.uniform(-1, 1, (H, W, 4)).astype(np.float32))
    assert _translate("--checkpoint", texture_model, "--input", tmp_path / "in.npy", "--guide",
                      tmp_path / "guide.npy", "--out", tmp_path / "out.npy", "--texture", "file") == 0  # fmt: skip
    out = np.load(tmp_path / "out.npy")
    assert out.shape == (H, W, 3) and out.dtype == np.float32 and out.min() >= -1 and out.max() <= 1


def test_texture_guide_without_alpha_is_one_line(tmp_path, texture_model, capsys):
    _texture_files(tmp_path)
    write_image(tmp_path / "rgb_guide.png", np.zeros((H, W, 3), np.uint8))
    code = _translate("--checkpoint", texture_model, "--input", tmp_path / "sketch.png", "--guide",
                      tmp_path / "rgb_guide.png", "--out", tmp_path / "out.png")  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "rgb_guide.png" in err and "alpha" in err, err
    assert not (tmp_path / "out.png").exists()


def test_truncated_texture_guide_is_one_line(tmp_path, texture_model, capsys):
    """The RGBA reader decodes inside the same error handling as every image (files.images.decode_pil)."""
    _texture_files(tmp_path)
    data = (tmp_path / "guide.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    code = _translate("--checkpoint", texture_model, "--input", tmp_path / "sketch.png", "--guide",
                      tmp_path / "cut.png", "--out", tmp_path / "out.png")  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "cut.png" in err and "corrupt" in err, err
    assert not (tmp_path / "out.png").exists()


def test_task_comes_from_the_run_then_the_channels(tmp_path, texture_model):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text(dump_config(load_config("synthetic_texture")))
    Generator.from_pretrained(texture_model).save_pretrained(run / "generator")
    model = Generator.from_pretrained(run / "generator")
    assert generator_task(model, run / "generator") == "texture"
    assert generator_task(model, texture_model) == "texture"  # no run: 1/4/3 channels
    depth = Generator.from_pretrained("pretrained:depth_x8")
    assert generator_task(depth, None, "pretrained:depth_x8") == "depth"
    other = Generator(backbone="unet", input_nc=2, guide_nc=4, output_nc=3, ngf=4, n_layers=3)
    assert generator_task(other, None) == "generic"


def _depth_files(tmp_path):
    rng = np.random.default_rng(2)
    low = rng.integers(800, 4000, (5, 6)).astype(np.uint16)
    low[1, 1] = 0  # unknown
    write_image(tmp_path / "low.png", low)
    write_image(tmp_path / "photo.png", rng.integers(0, 256, (40, 48, 3), dtype=np.uint8))
    return low


def test_depth_preview_is_the_output_colour_mapped(tmp_path, depth_model):
    low = _depth_files(tmp_path)
    assert _translate("--checkpoint", depth_model, "--input", tmp_path / "low.png", "--guide",
                      tmp_path / "photo.png", "--out", tmp_path / "d.png", "--preview", tmp_path / "p.png") == 0  # fmt: skip
    depth = read_image(tmp_path / "d.png")[:, :, 0].astype(np.float64)  # mm, as written
    with Image.open(tmp_path / "p.png") as im:
        assert im.mode == "RGB" and im.size == (48, 40)
        preview = np.asarray(im).astype(np.float64)
    # colours span the input's known range (lo -> dark blue, hi -> yellow), as the network sees it
    lo, hi = float(low[low > 0].min()), float(low.max())
    x = torch.from_numpy((depth - lo) / (hi - lo) * 2 - 1).float()[None, None]  # (1, 1, H, W)
    expected = depth_colours(x)[0].numpy().transpose(1, 2, 0) * 255  # (H, W, 3)
    assert np.abs(preview - expected).max() <= 2.0  # the 16-bit output is rounded to whole mm


def test_depth_previews_for_folders_and_refusals(tmp_path, depth_model, texture_model, capsys):
    for name in ("a", "b"):
        (tmp_path / "in").mkdir(exist_ok=True)
        (tmp_path / "guides").mkdir(exist_ok=True)
        _depth_files(tmp_path)
        (tmp_path / "low.png").rename(tmp_path / "in" / f"{name}.png")
        (tmp_path / "photo.png").rename(tmp_path / "guides" / f"{name}.png")
    assert _translate("--checkpoint", depth_model, "--input", tmp_path / "in", "--guide", tmp_path / "guides",
                      "--out", tmp_path / "out", "--preview", tmp_path / "previews") == 0  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "previews").iterdir()) == ["a.png", "b.png"]
    capsys.readouterr()
    # a preview that would overwrite an input, and a preview for a model that writes no depth
    assert _translate("--checkpoint", depth_model, "--input", tmp_path / "in" / "a.png", "--guide",
                      tmp_path / "guides" / "a.png", "--out", tmp_path / "o.png", "--preview", tmp_path / "in" / "a.png") == 2  # fmt: skip
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--preview" in err, err
    _texture_files(tmp_path)
    assert _translate("--checkpoint", texture_model, "--input", tmp_path / "sketch.png", "--guide",
                      tmp_path / "guide.png", "--out", tmp_path / "t.png", "--preview", tmp_path / "tp.png") == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "--preview" in err and "depth" in err and not (tmp_path / "t.png").exists()
