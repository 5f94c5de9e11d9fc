"""The fast mode's D phase scores fake and real triplets in one discriminator call when D is
per-sample (instance norm, no norm): the losses and both models' updates are those of the
official two calls. With batch norm it keeps two calls (stacking would mix the statistics)."""

import pytest
import torch
from run_helpers import TINY

from guided_pix2pix.training.config import load_config
from guided_pix2pix.training.loop import build_models, make_accelerator, optimizer_step, prepare_parts


def _one_step(cfg, one_call: bool):
    accelerator = make_accelerator(cpu=True, precision="fp32")
    G, D, opt_G, opt_D = build_models(cfg, mode="fast", seed=0)
    parts = prepare_parts(cfg, accelerator, G, D, opt_G, opt_D)
    assert parts.one_D_call == (cfg.discriminator.norm != "batch")
    parts.one_D_call = one_call
    # plain gradient steps, so that the weights after the step compare the gradients themselves
    # (Adam's first step is lr * sign(grad): float noise on a zero gradient would flip it)
    parts.opt_G = torch.optim.SGD(parts.G_raw.parameters(), lr=1.0)
    parts.opt_D = torch.optim.SGD(parts.D_raw.parameters(), lr=1.0)
    gen = torch.Generator().manual_seed(1)
    m = cfg.model
    batch = {
        "input": torch.rand(2, m.input_nc, 32, 32, generator=gen) * 2 - 1,
        "guide": torch.rand(2, m.guide_nc, 32, 32, generator=gen) * 2 - 1,
        "target": torch.rand(2, m.output_nc, 32, 32, generator=gen) * 2 - 1,
    }
    result = optimizer_step(parts, [batch], cfg.train, accelerator, torch.Generator().manual_seed(2))
    return result, parts


@pytest.mark.parametrize("norm", ["instance", "none"])
@pytest.mark.parametrize("gan_mode", ["lsgan", "vanilla"])
def test_one_call_gives_the_two_calls_losses_and_updates(norm, gan_mode):
    cfg = load_config(
        "synthetic_depth",
        [
            *TINY,
            "train.lambda_gan=1.0",
            f"train.gan_mode={gan_mode}",
            f"discriminator.norm={norm}",
            "train.pool_size=0",
        ],
    )
    (two, parts_two), (one, parts_one) = _one_step(cfg, False), _one_step(cfg, True)
    assert one.losses.keys() == two.losses.keys() and "loss_D" in one.losses
    for key in two.losses:
        assert one.losses[key] == pytest.approx(two.losses[key], rel=1e-5, abs=1e-7)
    for model in ("D_raw", "G_raw"):
        a, b = getattr(parts_two, model).state_dict(), getattr(parts_one, model).state_dict()
        for key in a:
            torch.testing.assert_close(b[key], a[key], atol=1e-5, rtol=1e-5)
        # the step changed the weights (so the comparison above compares updates, not the seed)
        fresh = build_models(cfg, mode="fast", seed=0)[0 if model == "G_raw" else 1].state_dict()
        moved = any(not torch.equal(fresh[k], a[k]) for k in a)
        assert moved


def test_batch_norm_discriminator_keeps_two_calls():
    cfg = load_config("synthetic_depth", [*TINY, "train.lambda_gan=1.0", "discriminator.norm=batch"])
    accelerator = make_accelerator(cpu=True, precision="fp32")
    parts = prepare_parts(cfg, accelerator, *build_models(cfg, mode="fast", seed=0))
    assert not parts.one_D_call
    ref = load_config("synthetic_depth", [*TINY, "train.lambda_gan=1.0"])
    parts_ref = prepare_parts(ref, accelerator, *build_models(ref, mode="reference", seed=0))
    assert not parts_ref.one_D_call  # the reference mode runs the official op sequence
