"""GAN objectives by name. Each takes raw discriminator scores (logits).

- `lsgan` (the official default): least squares to targets 1 (real) and 0 (fake).
- `vanilla`: the original GAN loss, binary cross-entropy with logits.
- `hinge`: D minimises relu(1 - real) + relu(1 + fake); G minimises -fake.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import BadOptionError


class GANLoss:
    """`loss(scores, real, for_discriminator)`: mean loss over all patches."""

    def __call__(self, scores: torch.Tensor, real: bool, for_discriminator: bool = True) -> torch.Tensor:
        raise NotImplementedError


class LSGANLoss(GANLoss):
    def __call__(self, scores: torch.Tensor, real: bool, for_discriminator: bool = True) -> torch.Tensor:
        target = torch.ones_like(scores) if real else torch.zeros_like(scores)
        return F.mse_loss(scores.float(), target.float())


class VanillaGANLoss(GANLoss):
    def __call__(self, scores: torch.Tensor, real: bool, for_discriminator: bool = True) -> torch.Tensor:
        target = torch.ones_like(scores) if real else torch.zeros_like(scores)
        return F.binary_cross_entropy_with_logits(scores.float(), target.float())


class HingeGANLoss(GANLoss):
    def __call__(self, scores: torch.Tensor, real: bool, for_discriminator: bool = True) -> torch.Tensor:
        scores = scores.float()
        if not for_discriminator:  # the generator's side: raise the fake scores
            return -scores.mean()
        return F.relu(1.0 - scores).mean() if real else F.relu(1.0 + scores).mean()


GAN_LOSSES: dict[str, type[GANLoss]] = {"lsgan": LSGANLoss, "vanilla": VanillaGANLoss, "hinge": HingeGANLoss}


def make_gan_loss(name: str) -> GANLoss:
    if name not in GAN_LOSSES:
        raise BadOptionError("gan_mode", f"unknown GAN loss {name!r}; choose from {', '.join(GAN_LOSSES)}")
    return GAN_LOSSES[name]()
