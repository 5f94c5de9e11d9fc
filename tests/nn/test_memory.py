"""The forward-pass memory estimate, and a translate that would not fit refused in one line."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from guided_pix2pix.cli import main
from guided_pix2pix.nn.generator import Generator, GeneratorConfig
from guided_pix2pix.nn.memory import (
    estimated_forward_bytes,
    estimated_training_bytes,
    forward_bytes,
    free_bytes,
)


@pytest.mark.parametrize(
    "config",
    [
        GeneratorConfig(input_nc=1, guide_nc=3, output_nc=1, ngf=8, n_blocks=2),
        GeneratorConfig(backbone="unet", input_nc=1, guide_nc=4, output_nc=3, ngf=8, n_layers=5),
    ],
    ids=["resnet", "unet"],
)
def test_the_scaled_estimate_matches_a_meta_run_at_the_size_itself(config):
    exact = forward_bytes(config, 2, 384, 320)
    assert estimated_forward_bytes(config, 2, 384, 320) == pytest.approx(exact, rel=0.05)
    assert exact > 2 * 384 * 320 * config.ngf * 4  # at least one ngf-wide float32 map per image


def test_translate_refuses_an_image_too_large_for_this_machine_before_writing(tmp_path, capsys):
    free = free_bytes(__import__("torch").device("cpu"))
    if free is None:
        pytest.skip("this system does not report its free memory")
    model = tmp_path / "g"
    Generator(input_nc=1, guide_nc=3, output_nc=1, ngf=16, n_blocks=1).save_pretrained(model)
    side = 8000  # 64 M pixels: about 2 KB of activations per pixel for this model, over 100 GiB
    need = estimated_forward_bytes(
        GeneratorConfig.from_dict(Generator.from_pretrained(model).config.to_dict()), 1, side, side
    )
    if need < free:
        pytest.skip(
            f"this machine has {free / 2**30:.0f} GiB free, enough for the {need / 2**30:.0f} GiB test image"
        )
    Image.fromarray(np.zeros((side, side), np.uint16)).save(tmp_path / "depth.png")
    Image.fromarray(np.zeros((side, side, 3), np.uint8)).save(tmp_path / "photo.png")
    out = tmp_path / "out.png"
    argv = ["translate", "--checkpoint", str(model), "--input", str(tmp_path / "depth.png")]
    assert main([*argv, "--guide", str(tmp_path / "photo.png"), "--out", str(out), "--depth", "file"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--batch-size" in err[0] and "GiB" in err[0] and f"{side}x{side}" in err[0], err
    assert not out.exists()


def test_train_refuses_a_batch_too_large_for_this_machine_before_writing(tmp_path, capsys):
    out = tmp_path / "run"
    argv = [
        "train",
        "--config",
        "synthetic_depth",
        "--out",
        str(out),
        "--no-progress",
        "train.batch_size=60000",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "train.batch_size" in err[0] and "GiB" in err[0] and "128x128" in err[0], err
    assert not out.exists()


def test_the_training_estimate_grows_with_the_batch_and_exceeds_inference():
    config = GeneratorConfig(input_nc=1, guide_nc=3, output_nc=1, ngf=8, n_blocks=2)
    one, four = (estimated_training_bytes(config, n, 128, 128) for n in (1, 4))
    assert four > 3 * (one - 3 * config.parameter_count() * 4)
    assert one > estimated_forward_bytes(config, 1, 128, 128)


def test_bench_refuses_a_batch_too_large_for_this_machine(capsys):
    argv = ["bench", "--preset", "depth_x8", "--batch", "60000", "--device", "cpu", "--data", "random"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--batch" in err[0] and "GiB" in err[0], err
