"""Generators whose output starts from a prior (`GeneratorConfig.output_prior`, `nn.priors`)."""

from __future__ import annotations

import pytest
import torch

from guided_pix2pix.data import build_dataset
from guided_pix2pix.errors import BadOptionError
from guided_pix2pix.evaluation.baselines import BASELINES
from guided_pix2pix.evaluation.batching import collate
from guided_pix2pix.nn.export import export_generator
from guided_pix2pix.nn.generator import Generator

TEXTURE = dict(backbone="unet", input_nc=1, guide_nc=4, output_nc=3, ngf=8, n_layers=6)
POSE = dict(backbone="resnet", input_nc=3, guide_nc=18, output_nc=3, ngf=8, n_blocks=1)


def _batch(name: str, n: int = 2) -> dict:
    ds = build_dataset(name, split="val", size=[64, 64], count=n)
    return collate([ds[i] for i in range(n)])


@pytest.mark.parametrize(
    "dataset, options, prior, baseline",
    [
        ("synthetic_texture", TEXTURE, "patch_colour_fill", ("texture", "mean_colour_fill")),
        ("synthetic_pose", POSE, "border_background", ("pose", "background")),
    ],
)
def test_an_untrained_generator_outputs_exactly_its_baseline(dataset, options, prior, baseline):
    batch = _batch(dataset)
    G = Generator(**options, output_prior=prior).eval()
    with torch.no_grad():
        out = G(batch["input"], batch["guide"])
    expected = BASELINES[baseline[0]][baseline[1]].predict(batch)
    torch.testing.assert_close(out, expected.clamp(-1, 1), atol=0, rtol=0)
    assert out.abs().mean() > 0.1  # the prior itself, not the zero the bare net starts at


def test_training_moves_the_output_away_from_the_prior_and_gradients_reach_the_network():
    batch = _batch("synthetic_texture")
    G = Generator(**TEXTURE, output_prior="patch_colour_fill")
    loss = (G(batch["input"], batch["guide"]) - batch["target"]).abs().mean()
    loss.backward()
    head = [m for m in G.body.modules() if isinstance(m, torch.nn.ConvTranspose2d | torch.nn.Conv2d)][-1]
    assert head.weight.grad is not None and head.weight.grad.abs().sum() > 0


def test_save_and_load_keep_the_prior(tmp_path):
    G = Generator(**POSE, output_prior="border_background")
    G.save_pretrained(tmp_path / "g")
    assert Generator.from_pretrained(tmp_path / "g").config.output_prior == "border_background"


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(TEXTURE, output_prior="nope"), "unknown prior 'nope'"),
        (dict(POSE, output_prior="patch_colour_fill"), "needs input/guide/output channels 1/4/3"),
        (dict(TEXTURE, output_prior="border_background"), "output_nc == input_nc"),
        (dict(POSE, output_prior="border_background", residual=True), "residual"),
    ],
)
def test_bad_priors_are_refused_by_name(options, message):
    with pytest.raises(BadOptionError, match="output_prior") as err:
        Generator(**options)
    assert message in str(err.value)


def test_export_refuses_a_prior_it_cannot_carry(tmp_path):
    G = Generator(**POSE, output_prior="border_background")
    with pytest.raises(BadOptionError, match="border_background prior"):
        export_generator(G, tmp_path / "g.onnx", "onnx", size=(64, 64))
    assert not (tmp_path / "g.onnx").exists()
