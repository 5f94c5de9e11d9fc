"""`guided-pix2pix translate` and the shared inference helpers, on tiny generators and real files."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from guided_pix2pix.cli import main
from guided_pix2pix.files.images import read_image, write_image
from guided_pix2pix.files.values import from_signed_unit, to_signed_unit
from guided_pix2pix.nn.generator import Generator
from guided_pix2pix.nn.padding import padded_size, reflect_pad_to, run_padded
from guided_pix2pix.training.run_folder import locate_generator


def _save(path, **options):
    options = {"backbone": "resnet", "conditioning": "bft", "ngf": 4, "n_blocks": 1, **options}
    Generator(**options).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def depth_model(tmp_path_factory):
    return _save(tmp_path_factory.mktemp("g") / "depth", input_nc=1, guide_nc=3, output_nc=1)


@pytest.fixture(scope="module")
def rgb_model(tmp_path_factory):
    return _save(tmp_path_factory.mktemp("g") / "rgb", input_nc=3, guide_nc=3, output_nc=3)


def _rng():
    return np.random.default_rng(0)


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    return err


def test_16bit_grey_round_trip_keeps_size_and_dtype(tmp_path, depth_model):
    rng = _rng()
    write_image(tmp_path / "in.png", rng.integers(0, 65536, (37, 53), dtype=np.uint16))
    write_image(tmp_path / "guide.png", rng.integers(0, 256, (37, 53, 3), dtype=np.uint8))
    out = tmp_path / "out" / "pred.png"
    code = main(
        ["translate", "--checkpoint", str(depth_model), "--input", str(tmp_path / "in.png"),
         "--guide", str(tmp_path / "guide.png"), "--out", str(out), "--device", "cpu"]
    )  # fmt: skip
    assert code == 0
    arr = read_image(out)
    assert arr.shape == (37, 53, 1) and arr.dtype == np.uint16


def test_8bit_rgb_odd_size_and_tiny_image(tmp_path, rgb_model):
    rng = _rng()
    for name, (h, w) in {"odd": (37, 53), "tiny": (5, 3)}.items():
        write_image(tmp_path / f"{name}.jpg", rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        write_image(tmp_path / f"{name}_g.png", rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        assert main(
            ["translate", "--checkpoint", str(rgb_model), "--input", str(tmp_path / f"{name}.jpg"),
             "--guide", str(tmp_path / f"{name}_g.png"), "--out", str(tmp_path / "out")]
        ) == 0  # fmt: skip
        arr = read_image(tmp_path / "out" / f"{name}.jpg")  # a folder --out: input name and format
        assert arr.shape == (h, w, 3) and arr.dtype == np.uint8


def test_output_matches_direct_model_call(tmp_path, rgb_model):
    """The file path (read, map, pad, run, crop, write) equals the network on the same values."""
    rng = _rng()
    x = rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)  # already a size the backbone takes
    g = rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)
    write_image(tmp_path / "x.png", x)
    write_image(tmp_path / "g.png", g)
    assert main(["translate", "--checkpoint", str(rgb_model), "--input", str(tmp_path / "x.png"),
                 "--guide", str(tmp_path / "g.png"), "--out", str(tmp_path / "y.png")]) == 0  # fmt: skip
    model = Generator.from_pretrained(rgb_model).eval()
    with torch.no_grad():
        y = model(to_signed_unit(x, tmp_path)[None], to_signed_unit(g, tmp_path)[None])[0]
    np.testing.assert_array_equal(read_image(tmp_path / "y.png"), from_signed_unit(y, np.uint8))


def test_folders_match_by_stem_and_batch_by_size(tmp_path, depth_model):
    rng = _rng()
    sizes = {"a": (37, 53), "b": (20, 17), "c": (37, 53)}
    (tmp_path / "guide").mkdir()
    for stem, (h, w) in sizes.items():
        write_image(tmp_path / "in" / f"{stem}.png", rng.integers(0, 65536, (h, w), dtype=np.uint16))
        guide = rng.uniform(-1, 1, (h, w, 3)).astype(np.float32)  # a float .npy guide, used as stored
        np.save(tmp_path / "guide" / f"{stem}.npy", guide)
    assert main(["translate", "--checkpoint", str(depth_model), "--input", str(tmp_path / "in"),
                 "--guide", str(tmp_path / "guide"), "--out", str(tmp_path / "out"), "--batch-size", "2"]) == 0  # fmt: skip
    for stem, (h, w) in sizes.items():
        arr = read_image(tmp_path / "out" / f"{stem}.png")
        assert arr.shape == (h, w, 1) and arr.dtype == np.uint16


def test_folder_missing_partner_is_one_line(tmp_path, depth_model, capsys):
    rng = _rng()
    (tmp_path / "guide").mkdir()
    for stem in ("a", "b"):
        write_image(tmp_path / "in" / f"{stem}.png", rng.integers(0, 256, (20, 20), dtype=np.uint8))
    write_image(tmp_path / "guide" / "a.png", rng.integers(0, 256, (20, 20, 3), dtype=np.uint8))
    code = main(["translate", "--checkpoint", str(depth_model), "--input", str(tmp_path / "in"),
                 "--guide", str(tmp_path / "guide"), "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 2
    _one_line_error(capsys, "b.png", "no partner guide b.*")
    assert not (tmp_path / "out").exists()  # nothing written before every pair is checked


def test_channel_mismatch_names_file_expected_and_received(tmp_path, depth_model, capsys):
    rng = _rng()
    write_image(tmp_path / "in.png", rng.integers(0, 256, (20, 20, 3), dtype=np.uint8))
    write_image(tmp_path / "g.png", rng.integers(0, 256, (20, 20, 3), dtype=np.uint8))
    code = main(["translate", "--checkpoint", str(depth_model), "--input", str(tmp_path / "in.png"),
                 "--guide", str(tmp_path / "g.png"), "--out", str(tmp_path / "o.png")])  # fmt: skip
    assert code == 2
    _one_line_error(capsys, "in.png", "expects 1 input channels, received 3")


@pytest.mark.parametrize(
    "argv_tail, needle",
    [
        (["--checkpoint", "NOPE"], "no such folder"),
        (["--batch-size", "0"], "--batch-size"),
        (["--device", "cuda:7"] if not torch.cuda.is_available() else ["--device", "bogus"], "--device"),
    ],
)
def test_bad_options_exit_2(tmp_path, depth_model, capsys, argv_tail, needle):
    rng = _rng()
    write_image(tmp_path / "in.png", rng.integers(0, 256, (20, 20), dtype=np.uint8))
    write_image(tmp_path / "g.png", rng.integers(0, 256, (20, 20, 3), dtype=np.uint8))
    argv = {"--checkpoint": str(depth_model), "--input": str(tmp_path / "in.png"),
            "--guide": str(tmp_path / "g.png"), "--out": str(tmp_path / "o.png")}  # fmt: skip
    argv.update(dict(zip(argv_tail[::2], argv_tail[1::2])))
    assert main(["translate", *[s for kv in argv.items() for s in kv]]) == 2
    _one_line_error(capsys, needle)


def test_locate_generator_in_run_folder(tmp_path, depth_model):
    import shutil

    run = tmp_path / "run"
    for step in (2, 10):
        shutil.copytree(depth_model, run / "checkpoints" / f"step_{step:08d}" / "generator")
    assert locate_generator(run) == run / "checkpoints" / "step_00000010" / "generator"
    shutil.copytree(depth_model, run / "generator")
    assert locate_generator(run) == run / "generator"
    assert locate_generator(run / "generator") == run / "generator"


def test_padding_helpers():
    model = Generator(input_nc=1, guide_nc=1, output_nc=1, ngf=2, n_blocks=0)
    assert padded_size(model, 5, 17) == (16, 24)  # minimum 16, multiple 8
    x = torch.arange(6.0).view(1, 1, 2, 3)
    y = reflect_pad_to(x, 7, 8)
    assert y.shape == (1, 1, 7, 8) and torch.equal(y[..., :2, :3], x)
    assert reflect_pad_to(torch.ones(1, 1, 1, 1), 4, 4).shape == (1, 1, 4, 4)
    out = run_padded(model.eval(), torch.zeros(2, 1, 9, 11), torch.zeros(2, 1, 9, 11))
    assert out.shape == (2, 1, 9, 11)


def test_end_to_end_subprocess(tmp_path, rgb_model):
    rng = _rng()
    write_image(tmp_path / "x.png", rng.integers(0, 256, (19, 23, 3), dtype=np.uint8))
    write_image(tmp_path / "g.png", rng.integers(0, 256, (19, 23, 3), dtype=np.uint8))
    proc = subprocess.run(
        [sys.executable, "-m", "guided_pix2pix.cli", "translate", "--checkpoint", str(rgb_model),
         "--input", str(tmp_path / "x.png"), "--guide", str(tmp_path / "g.png"), "--out", str(tmp_path / "y.png")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert read_image(tmp_path / "y.png").shape == (19, 23, 3)


def test_sensor_depth_smaller_than_its_photo_with_holes(tmp_path, depth_model):
    """80 x 60 16-bit millimetres with 0 = unknown next to a 640 x 480 photo: dense 640 x 480 mm out."""
    rng = _rng()
    low = rng.integers(800, 4000, (60, 80)).astype(np.uint16)
    low[10:25, 5:30] = 0  # a hole, as depth cameras write them
    write_image(tmp_path / "low.png", low)
    write_image(tmp_path / "photo.png", rng.integers(0, 256, (480, 640, 3), dtype=np.uint8))
    out = tmp_path / "depth.png"
    argv = ["translate", "--checkpoint", str(depth_model), "--input", str(tmp_path / "low.png"),
            "--guide", str(tmp_path / "photo.png"), "--out", str(out), "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0
    depth = read_image(out)
    assert depth.shape == (480, 640, 1) and depth.dtype == np.uint16
    known = low[low > 0]
    assert (
        depth.min() >= 1 and known.min() - 1 <= depth.min() and depth.max() <= known.max() + 1
    )  # mm in, mm out
    metres = tmp_path / "low.npy"
    np.save(metres, np.where(low > 0, low / 1000.0, np.nan).astype(np.float32))  # float metres, NaN unknown
    argv_m = ["translate", "--checkpoint", str(depth_model), "--input", str(metres),
              "--guide", str(tmp_path / "photo.png"), "--out", str(tmp_path / "depth.npy"), "--device", "cpu"]  # fmt: skip
    assert main(argv_m) == 0
    m = read_image(tmp_path / "depth.npy")
    assert m.shape == (480, 640, 1) and np.isfinite(m).all() and 0.79 < m.min() and m.max() < 4.01


def test_sensor_input_larger_than_its_guide_is_one_line(tmp_path, depth_model, capsys):
    write_image(tmp_path / "in.png", np.full((64, 64), 1000, np.uint16))
    write_image(tmp_path / "guide.png", np.zeros((32, 32, 3), np.uint8))
    code = main(["translate", "--checkpoint", str(depth_model), "--input", str(tmp_path / "in.png"),
                 "--guide", str(tmp_path / "guide.png"), "--out", str(tmp_path / "o.png"), "--device", "cpu"])  # fmt: skip
    assert code == 2
    _one_line_error(capsys, "guide.png", "may be smaller than its guide, not larger")


def test_translate_never_reads_the_target(tmp_path, depth_model):
    """A folder triplet whose target is all NaN: translate uses input and guide only."""
    from guided_pix2pix.cli import main as cli_main

    root = tmp_path / "data"
    for role in ("input", "guide", "target"):
        (root / role).mkdir(parents=True)
    write_image(root / "input" / "a.png", np.full((24, 32), 1500, np.uint16))
    write_image(root / "guide" / "a.png", np.zeros((24, 32, 3), np.uint8))
    np.save(root / "target" / "a.npy", np.full((24, 32), np.nan, np.float32))
    out = tmp_path / "out"
    assert cli_main(["translate", "--checkpoint", str(depth_model), "--input", str(root / "input"),
                     "--guide", str(root / "guide"), "--out", str(out), "--device", "cpu"]) == 0  # fmt: skip
    assert np.isfinite(read_image(out / "a.png")).all()
