"""PatchGAN discriminators and GAN losses."""

import pytest
import torch

from guided_pix2pix.errors import BadOptionError
from guided_pix2pix.nn.discriminator import DISCRIMINATORS, Discriminator
from guided_pix2pix.nn.losses import GAN_LOSSES, make_gan_loss


@pytest.mark.parametrize("kind,out_hw", [("basic", (6, 10)), ("n_layers", (14, 22)), ("pixel", (64, 96))])
def test_patchgan_shapes_and_gradients(kind, out_hw):
    D = Discriminator(kind=kind, input_nc=7, ndf=8, n_layers=2)
    x = torch.randn(2, 7, 64, 96)
    y = D(x)
    assert y.shape == (2, 1, *out_hw)
    y.mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in D.parameters())


def test_official_init_statistics():
    D = Discriminator(kind="basic", input_nc=7, ndf=64, norm="batch")
    convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    w = torch.cat([c.weight.flatten() for c in convs])
    assert abs(w.mean().item()) < 1e-3 and abs(w.std().item() - 0.02) < 1e-3
    bn = [m for m in D.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert abs(torch.cat([b.weight for b in bn]).mean().item() - 1.0) < 0.01


def test_discriminator_rejects_wrong_channels():
    D = Discriminator(kind="basic", input_nc=7, ndf=4)
    with pytest.raises(ValueError, match=r"expected \(N, 7, H, W\).*received \(1, 6, 32, 32\)"):
        D(torch.randn(1, 6, 32, 32))
    with pytest.raises(BadOptionError, match="netD: unknown discriminator 'huge'"):
        Discriminator(kind="huge")
    assert set(DISCRIMINATORS) == {"basic", "n_layers", "pixel"}


def test_gan_losses_values():
    s = torch.tensor([[0.5, -1.0], [2.0, 0.0]])
    assert make_gan_loss("lsgan")(s, True).item() == pytest.approx(((s - 1) ** 2).mean().item())
    assert make_gan_loss("lsgan")(s, False).item() == pytest.approx((s**2).mean().item())
    bce = torch.nn.functional.softplus(-s).mean().item()
    assert make_gan_loss("vanilla")(s, True).item() == pytest.approx(bce, rel=1e-6)
    hinge = make_gan_loss("hinge")
    assert hinge(s, True).item() == pytest.approx(torch.relu(1 - s).mean().item())
    assert hinge(s, False).item() == pytest.approx(torch.relu(1 + s).mean().item())
    assert hinge(s, True, for_discriminator=False).item() == pytest.approx(-s.mean().item())
    with pytest.raises(BadOptionError, match="gan_mode: unknown GAN loss 'wgan'"):
        make_gan_loss("wgan")
    assert set(GAN_LOSSES) == {"lsgan", "vanilla", "hinge"}
