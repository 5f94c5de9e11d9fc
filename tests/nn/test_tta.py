"""Test-time flip (`nn.tta`): the library function, `evaluate --tta` and `translate --tta`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from guided_pix2pix.cli import main
from guided_pix2pix.data import build_dataset
from guided_pix2pix.errors import BadOptionError
from guided_pix2pix.evaluation.engine import evaluate_model
from guided_pix2pix.files.images import read_image, write_image
from guided_pix2pix.files.values import to_signed_unit
from guided_pix2pix.nn.generator import Generator
from guided_pix2pix.nn.padding import run_padded
from guided_pix2pix.nn.tta import TTA_VIEWS, check_tta, run_augmented


def _generator(**options) -> Generator:
    """A tiny generator with PyTorch's default init, so that its outputs vary (not mirror-symmetric)."""
    torch.manual_seed(0)
    g = Generator(**{"backbone": "resnet", "conditioning": "bft", "ngf": 4, "n_blocks": 1, **options})
    for m in g.modules():
        if m is not g and hasattr(m, "reset_parameters"):
            m.reset_parameters()
    return g.eval()


@pytest.fixture(scope="module")
def depth_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("g") / "depth"
    _generator(input_nc=1, guide_nc=3, output_nc=1).save_pretrained(path)
    return path


def _by_hand(model, x, g):
    return (run_padded(model, x, g) + run_padded(model, x.flip(-1), g.flip(-1)).flip(-1)) / 2


def test_flip_is_the_mean_of_the_two_orientations_and_mirror_equivariant():
    model = _generator(input_nc=1, guide_nc=3, output_nc=1)
    x, g = torch.rand(2, 1, 21, 27) * 2 - 1, torch.rand(2, 3, 21, 27) * 2 - 1  # odd sizes: padded
    flipped = run_augmented(model, x, g, "flip")
    torch.testing.assert_close(flipped, _by_hand(model, x, g))
    assert (flipped - run_augmented(model, x, g, "none")).abs().max() > 1e-4  # the model is not symmetric
    torch.testing.assert_close(run_augmented(model, x.flip(-1), g.flip(-1), "flip"), flipped.flip(-1))
    torch.testing.assert_close(run_augmented(model, x, g, "none"), run_padded(model, x, g))


def test_check_tta_names_the_option_and_refuses_mirrored_pose_guides():
    assert check_tta("flip", "depth") == "flip" and check_tta("none", "pose") == "none"
    with pytest.raises(BadOptionError, match="--tta.*left/right"):
        check_tta("flip", "pose")
    with pytest.raises(BadOptionError, match="--tta.*unknown.*none, flip"):
        check_tta("rotate", "depth")
    assert tuple(TTA_VIEWS) == ("none", "flip")


def test_evaluate_model_scores_the_flipped_mean():
    model = _generator(input_nc=1, guide_nc=3, output_nc=1)
    data = build_dataset("synthetic_depth", split="val", size=(32, 40), count=3, scale=8)

    class ByHand(torch.nn.Module):  # the flipped mean written out, scored as a plain model
        config, body = model.config, model.body

        def forward(self, x, g):
            return (model(x, g) + model(x.flip(-1), g.flip(-1)).flip(-1)) / 2

    got = evaluate_model(model, [data], task="depth", baselines=[], guide_check=False, tta="flip")
    want = evaluate_model(ByHand(), [data], task="depth", baselines=[], guide_check=False)
    plain = evaluate_model(model, [data], task="depth", baselines=[], guide_check=False)
    assert got["tta"] == "flip" and plain["tta"] == "none"
    assert got["metrics"] == pytest.approx(want["metrics"], rel=1e-6)
    assert got["metrics"] != pytest.approx(plain["metrics"], rel=1e-6)


def test_evaluate_cli_takes_tta(tmp_path, depth_model, capsys):
    argv = ["evaluate", "--checkpoint", str(depth_model), "--config", "synthetic_depth",
            "data.options.size=[32,40]", "data.options.count=3", "--device", "cpu", "--no-guide-check"]  # fmt: skip
    assert main([*argv, "--out", str(tmp_path / "a"), "--tta", "flip"]) == 0
    assert json.loads((tmp_path / "a" / "metrics.json").read_text())["tta"] == "flip"
    capsys.readouterr()


def test_translate_flip_writes_the_mean_of_both_orientations(tmp_path, depth_model):
    rng = np.random.default_rng(0)
    write_image(tmp_path / "in.png", rng.integers(0, 65536, (23, 29), dtype=np.uint16))
    write_image(tmp_path / "guide.png", rng.integers(0, 256, (23, 29, 3), dtype=np.uint8))
    argv = ["translate", "--checkpoint", str(depth_model), "--input", str(tmp_path / "in.png"),
            "--guide", str(tmp_path / "guide.png"), "--device", "cpu", "--depth", "file"]  # fmt: skip
    assert main([*argv, "--out", str(tmp_path / "flip.png"), "--tta", "flip"]) == 0
    assert main([*argv, "--out", str(tmp_path / "none.png")]) == 0
    model = Generator.from_pretrained(depth_model).eval()
    x = to_signed_unit(read_image(tmp_path / "in.png"), tmp_path / "in.png")[None]
    g = to_signed_unit(read_image(tmp_path / "guide.png"), tmp_path / "guide.png")[None]
    want = ((_by_hand(model, x, g)[0, 0].clamp(-1, 1).numpy() + 1) / 2 * 65535).round()
    got, plain = read_image(tmp_path / "flip.png")[..., 0], read_image(tmp_path / "none.png")[..., 0]
    assert np.abs(got.astype(np.int64) - want).max() <= 2  # 16-bit rounding, prepacked vs eager
    assert np.abs(got.astype(np.int64) - plain).max() > 10  # the flip changed the output


def test_translate_refuses_flip_for_a_pose_model(tmp_path, capsys):
    folder = _generator(input_nc=3, guide_nc=18, output_nc=3).save_pretrained(tmp_path / "pose")
    write_image(tmp_path / "in.png", np.zeros((16, 16, 3), np.uint8))
    np.save(tmp_path / "guide.npy", np.zeros((16, 16, 18), np.float32))
    code = main(["translate", "--checkpoint", str(folder), "--input", str(tmp_path / "in.png"),
                 "--guide", str(tmp_path / "guide.npy"), "--out", str(tmp_path / "o.png"),
                 "--device", "cpu", "--tta", "flip"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "--tta" in err and "pose" in err, err
    assert not (tmp_path / "o.png").exists()
