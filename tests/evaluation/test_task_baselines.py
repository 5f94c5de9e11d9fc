"""The pose and texture baselines, and the guide-sensitivity check that `evaluate` reports."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from guided_pix2pix.cli import main
from guided_pix2pix.data import build_dataset
from guided_pix2pix.evaluation.baselines import BASELINES
from guided_pix2pix.evaluation.batching import collate
from guided_pix2pix.nn.generator import Generator


def _batch(name: str, n: int = 3, size=(64, 64)) -> dict:
    ds = build_dataset(name, split="test", size=list(size), count=n)
    return collate([ds[i] for i in range(n)])


def test_pose_identity_is_the_input_and_background_is_the_targets_backdrop():
    batch = _batch("synthetic_pose")
    assert torch.equal(BASELINES["pose"]["identity"].predict(batch), batch["input"])
    background = BASELINES["pose"]["background"].predict(batch)
    assert background.shape == batch["target"].shape
    flat = background.flatten(2)
    assert torch.equal(flat, flat[:, :, :1].expand_as(flat))  # one colour per image
    corner = batch["target"][:, :, 0, 0]  # the figure never reaches the corner
    torch.testing.assert_close(background[:, :, 0, 0], corner, atol=2 / 255, rtol=0)


def test_texture_fill_puts_the_patch_colour_on_the_object():
    batch = _batch("synthetic_texture")
    fill = BASELINES["texture"]["mean_colour_fill"].predict(batch)
    assert fill.shape == batch["target"].shape
    for i in range(fill.shape[0]):
        guide = batch["guide"][i]
        patch = guide[3] > 0
        colour = guide[:3][:, patch].mean(dim=1)
        filled = (fill[i] == colour[:, None, None]).all(dim=0)
        on_object = (batch["target"][i, 0] < 0.98).float()  # the background is white: L = 100
        assert filled.sum() > 0.2 * filled.numel()
        assert float(on_object[filled].mean()) > 0.85  # the fill lies on the object


@pytest.fixture(scope="module")
def pose_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("pose")
    opts = dict(input_nc=3, guide_nc=18, output_nc=3, ngf=4, n_blocks=1)
    blind = Generator(**opts, residual=True)  # output = input at init: the guide cannot matter
    blind.save_pretrained(root / "blind")
    torch.manual_seed(0)
    Generator(**opts).save_pretrained(root / "guided")
    return root


def _evaluate(model_dir, tmp_path, capsys, *extra) -> dict:
    argv = ["evaluate", "--checkpoint", str(model_dir), "--config", "synthetic_pose"]
    argv += ["data.options.size=[64,64]", "data.options.count=4", "--metrics", "psnr,ssim"]
    assert main([*argv, "--out", str(tmp_path / model_dir.name), "--device", "cpu", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_evaluate_reports_the_pose_baselines_and_how_much_the_guide_moves_the_output(
    pose_models, tmp_path, capsys
):
    blind = _evaluate(pose_models / "blind", tmp_path, capsys)
    guided = _evaluate(pose_models / "guided", tmp_path, capsys)
    assert set(blind["baselines"]) == {"identity", "background"}
    # the residual model at init is the identity: its scores are the identity baseline's
    assert blind["metrics"]["psnr"] == pytest.approx(blind["baselines"]["identity"]["psnr"])
    assert blind["guide_sensitivity"]["items"] == 4
    assert blind["guide_sensitivity"]["ratio"] == 0.0
    assert guided["guide_sensitivity"]["ratio"] > 0.0
    # neither pose baseline reads the target pose: their reference ratios are 0
    assert blind["guide_sensitivity"]["baseline_ratios"] == {"identity": 0.0, "background": 0.0}
    assert guided["guide_sensitivity"]["target_difference"] == pytest.approx(
        blind["guide_sensitivity"]["target_difference"]
    )
    page = (tmp_path / "guided" / "index.html").read_text()
    assert "guide sensitivity" in page
    skipped = _evaluate(pose_models / "guided", tmp_path, capsys, "--no-guide-check")
    assert skipped["guide_sensitivity"] is None
    assert np.isclose(skipped["metrics"]["psnr"], guided["metrics"]["psnr"])


def test_the_texture_fill_follows_its_patch_and_gives_the_reference_ratio(tmp_path, capsys):
    torch.manual_seed(0)
    Generator(backbone="unet", input_nc=1, guide_nc=4, output_nc=3, ngf=4, n_layers=6).save_pretrained(
        tmp_path / "g"
    )
    argv = ["evaluate", "--checkpoint", str(tmp_path / "g"), "--config", "synthetic_texture"]
    argv += ["data.options.size=[64,64]", "data.options.count=4", "--metrics", "psnr", "--device", "cpu"]
    assert main([*argv, "--out", str(tmp_path / "eval")]) == 0
    check = json.loads(capsys.readouterr().out)["guide_sensitivity"]
    # another item's patch recolours the whole object: a large share of the targets' difference
    assert 0.1 < check["baseline_ratios"]["mean_colour_fill"] < 1.0
