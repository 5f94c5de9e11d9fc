"""PatchGAN discriminators, as the official `define_D` offers them.

The discriminator sees `cat(input, guide, image)` on channels, so its `input_nc` is
input_nc + guide_nc + output_nc of the generator it judges. Outputs are raw scores (logits);
each GAN loss applies its own link function.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..errors import BadOptionError
from .generator import init_weights
from .norms import NORMS, conv_bias_for, make_norm


def _n_layer_patchgan(input_nc: int, ndf: int, n_layers: int, norm: str) -> list[nn.Module]:
    """The official NLayerDiscriminator: 4x4 convs, `n_layers` stride-2 levels, then two stride-1."""
    bias = conv_bias_for(norm)
    layers: list[nn.Module] = [nn.Conv2d(input_nc, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
    mult = 1
    for n in range(1, n_layers + 1):
        prev, mult = mult, min(2**n, 8)
        stride = 2 if n < n_layers else 1
        layers += [
            nn.Conv2d(ndf * prev, ndf * mult, 4, stride=stride, padding=1, bias=bias),
            make_norm(norm, ndf * mult),
            nn.LeakyReLU(0.2),
        ]
    layers.append(nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1))
    return layers


def _pixel_gan(input_nc: int, ndf: int, n_layers: int, norm: str) -> list[nn.Module]:
    """The official PixelDiscriminator: 1x1 convs, one score per pixel."""
    bias = conv_bias_for(norm)
    return [
        nn.Conv2d(input_nc, ndf, 1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(ndf, ndf * 2, 1, bias=bias),
        make_norm(norm, ndf * 2),
        nn.LeakyReLU(0.2),
        nn.Conv2d(ndf * 2, 1, 1, bias=bias),
    ]


# name -> (builder, fixed n_layers or None to use the option)
DISCRIMINATORS = {
    "basic": (_n_layer_patchgan, 3),
    "n_layers": (_n_layer_patchgan, None),
    "pixel": (_pixel_gan, None),
}


@dataclass
class DiscriminatorConfig:
    """kind: one of DISCRIMINATORS; input_nc: channels of cat(input, guide, image); ndf: base width
    (official 64); n_layers: stride-2 levels for kind 'n_layers' (official --n_layers_D 3);
    norm: one of NORMS (official default for D: batch in their options, instance when --norm instance)."""

    kind: str = "basic"
    input_nc: int = 7
    ndf: int = 64
    n_layers: int = 3
    norm: str = "instance"

    def __post_init__(self) -> None:
        if self.kind not in DISCRIMINATORS:
            raise BadOptionError(
                "netD", f"unknown discriminator {self.kind!r}; choose from {', '.join(DISCRIMINATORS)}"
            )
        if self.norm not in NORMS:
            raise BadOptionError("norm", f"unknown norm {self.norm!r}; choose from {', '.join(NORMS)}")
        for name in ("input_nc", "ndf", "n_layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise BadOptionError(name, f"must be an integer >= 1, got {value!r}")


class Discriminator(nn.Module):
    """PatchGAN discriminator; `D(x)` with x = cat(input, guide, image) -> score map (N, 1, h, w)."""

    def __init__(self, config: DiscriminatorConfig | None = None, **options: Any) -> None:
        super().__init__()
        self.config = config or DiscriminatorConfig(**options)
        build, fixed_layers = DISCRIMINATORS[self.config.kind]
        c = self.config
        self.model = nn.Sequential(*build(c.input_nc, c.ndf, fixed_layers or c.n_layers, c.norm))
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.config.input_nc:
            raise ValueError(
                f"discriminator: expected (N, {self.config.input_nc}, H, W) = cat(input, guide, image), "
                f"received {tuple(x.shape)}"
            )
        return self.model(x)
