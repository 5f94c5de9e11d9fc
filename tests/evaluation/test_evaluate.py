"""`guided-pix2pix evaluate` on tiny generators: synthetic depth, Middlebury, run folders, errors."""

from __future__ import annotations

import json
import math

import pytest

from guided_pix2pix.cli import main
from guided_pix2pix.nn.generator import Generator
from guided_pix2pix.training.config import dump_config, load_config

DEPTH_METRICS = ("depth_rmse_a", "depth_mae_a", "depth_rmse_b", "depth_mae_b")
TINY_DEPTH = ["data.options.size=[32,40]", "data.options.count=3"]


@pytest.fixture(scope="module")
def depth_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("g") / "depth"
    Generator(input_nc=1, guide_nc=3, output_nc=1, ngf=4, n_blocks=1).save_pretrained(path)
    return path


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err


def test_synthetic_depth_writes_metrics_and_page(tmp_path, depth_model, capsys):
    out = tmp_path / "eval"
    argv = ["evaluate", "--checkpoint", str(depth_model), "--config", "synthetic_depth", *TINY_DEPTH]
    assert main([*argv, "--out", str(out), "--device", "cpu", "--batch-size", "2"]) == 0
    printed = json.loads(capsys.readouterr().out)
    result = json.loads((out / "metrics.json").read_text())
    assert result["task"] == "depth" and result["dataset"] == "synthetic_depth" and result["split"] == "test"
    assert tuple(result["metrics"]) == DEPTH_METRICS
    assert tuple(result["baselines"]["bicubic"]) == DEPTH_METRICS
    assert printed["metrics"] == result["metrics"]
    assert all(result["units"][m] == "cm" for m in DEPTH_METRICS)
    assert "protocol A" in result["protocols"]["depth_rmse_a"]
    assert len(result["per_image"]) == result["rows"] == 3
    for m in DEPTH_METRICS:
        values = [row[m] for row in result["per_image"]]
        assert all(math.isfinite(v) and v >= 0 for v in values)
        assert sum(values) / len(values) == pytest.approx(result["metrics"][m])
        assert all(f"bicubic/{m}" in row for row in result["per_image"])
    page = (out / "index.html").read_text()
    for column in ("input", "guide", "output", "target", "depth_rmse_a", "sortGallery"):
        assert column in page
    assert len(list((out / "index_images").glob("*.png"))) == 3 * 4
    # worst first: rows appear in decreasing depth_rmse_a
    order = [page.index(row["id"] + "<") for row in result["per_image"]]
    by_rmse = sorted(range(3), key=lambda i: -result["per_image"][i]["depth_rmse_a"])
    assert sorted(order) == [order[i] for i in by_rmse]


def test_middlebury_runs(tmp_path, depth_model):
    out = tmp_path / "mb"
    argv = ["evaluate", "--checkpoint", str(depth_model), "--config", "synthetic_depth"]
    assert main([*argv, "--dataset", "middlebury", "--out", str(out), "--device", "cpu"]) == 0
    result = json.loads((out / "metrics.json").read_text())
    assert result["dataset"] == "middlebury" and result["rows"] == 1
    assert result["options"] == {"scale": 8, "protocol": "A"}  # carried over from the preset
    assert all(math.isfinite(result["metrics"][m]) for m in DEPTH_METRICS)
    assert result["baselines"]["bicubic"]["depth_rmse_a"] > 0


def test_config_from_run_folder_and_metric_choice(tmp_path, depth_model):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(depth_model, run / "generator")
    (run / "config.yaml").write_text(dump_config(load_config("synthetic_depth", TINY_DEPTH)))
    argv = ["evaluate", "--checkpoint", str(run), "--metrics", "depth_mae_b", "--max-items", "2"]
    assert main([*argv, "--device", "cpu"]) == 0
    result = json.loads((run / "eval" / "synthetic_depth-test" / "metrics.json").read_text())
    assert list(result["metrics"]) == ["depth_mae_b"] and result["rows"] == 2


@pytest.mark.parametrize(
    "extra, needles",
    [
        (["--metrics", "nope"], ["--metrics", "unknown metric 'nope'"]),
        (["--metrics", "inception_score"], ["inception_score needs classifier", "--is-weights"]),
        (["--max-items", "0"], ["--max-items"]),
        (["--patches", "3"], ["--patches", "cannot redraw"]),
        (["data.options.bogus=1"], ["bogus"]),
    ],
)
def test_errors_exit_2_with_one_line(tmp_path, depth_model, capsys, extra, needles):
    argv = ["evaluate", "--checkpoint", str(depth_model), "--out", str(tmp_path / "o")]
    assert main([*argv, "--config", "synthetic_depth", *TINY_DEPTH, *extra]) == 2
    _one_line_error(capsys, *needles)


def test_no_config_for_a_bare_generator_folder(tmp_path, depth_model, capsys):
    assert main(["evaluate", "--checkpoint", str(depth_model), "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, "--config")


def test_channel_mismatch_between_model_and_data(tmp_path, depth_model, capsys):
    argv = ["evaluate", "--checkpoint", str(depth_model), "--config", "synthetic_pose"]
    overrides = ["data.options.size=[32,32]", "data.options.count=2"]
    assert main([*argv, *overrides, "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, "--checkpoint", "1/3/1", "3/18/3")


def test_missing_weights_tell_how_to_install(tmp_path, depth_model, capsys, monkeypatch):
    monkeypatch.setenv("GUIDED_PIX2PIX_CACHE", str(tmp_path / "empty-cache"))
    argv = ["evaluate", "--checkpoint", str(depth_model), "--config", "synthetic_depth", *TINY_DEPTH]
    assert main([*argv, "--metrics", "lpips_alex", "--out", str(tmp_path / "o")]) == 2
    _one_line_error(capsys, "guided-pix2pix weights install lpips")


def test_texture_patches_redrawn_per_sketch(tmp_path):
    """The official texture protocol: several random patch draws per test sketch (TextureGAN files)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    root = tmp_path / "tg"
    for stem in ("a", "b"):
        photo = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
        mask = np.zeros((64, 64, 3), np.uint8)
        mask[16:48, 16:48] = 255
        for folder, image in (("val_img", photo), ("val_skg", 255 - photo // 4), ("eroded_val_seg", mask)):
            (root / folder / "shoes").mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(root / folder / "shoes" / f"{stem}.jpg")
    model = tmp_path / "g"
    Generator(backbone="unet", input_nc=1, guide_nc=4, output_nc=3, ngf=4, n_layers=5).save_pretrained(model)
    argv = ["evaluate", "--checkpoint", str(model), "--out", str(tmp_path / "o"), "--config", "texture"]
    overrides = [f"data.options.root={root}", "data.options.size=64"]
    assert main([*argv, "--patches", "3", "--metrics", "psnr,ssim", *overrides]) == 0
    result = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert result["patches_per_item"] == 3 and result["rows"] == 6
    assert sorted({(row["id"], row["patch"]) for row in result["per_image"]}) == [
        (f"texturegan/shoes/{s}", r) for s in "ab" for r in range(3)
    ]
