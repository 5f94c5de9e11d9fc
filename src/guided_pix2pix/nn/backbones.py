"""Two-stream encoder-decoder backbones, conditioned at FT positions by a scheme from SCHEMES.

Both backbones follow the official bFT networks:

ResNet (official bFT_resnet / uFT_resnet): per stream a reflect-padded 7x7 stem and three
stride-2 3x3 convs, with a conditioning stage after the stem and after each stride-2 conv, each
followed by ReLU; then `n_blocks` residual blocks at 8*ngf, three transposed convs with norm and
ReLU, a reflect-padded 7x7 conv and tanh. H and W must be multiples of 8 (at least 16).

U-Net (official bFT_unet / uFT_unet), `n_layers` = L levels of 4x4 stride-2 convs with widths
ngf * min(2**(k-1), 8); LeakyReLU(0.2) before every conv but the first; conditioning stages at
levels 2 .. L-1; no norm in the encoder; a decoder of transposed convs with norm, skips
concatenated as [skip, up]. As in the official code, where LeakyReLU runs in place on a level's
output before the next conv, the skip that the decoder receives is that activated tensor.
H and W must be multiples of 2**L.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from .modulation import SCHEMES
from .norms import conv_bias_for, make_norm

if TYPE_CHECKING:
    from .generator import GeneratorConfig


class ResnetBlock(nn.Module):
    """x + norm(conv(relu(norm(conv(x))))) with reflect padding; convs keep their bias as officially."""

    def __init__(self, channels: int, norm: str) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3)
        self.norm1 = make_norm(norm, channels)
        self.conv2 = nn.Conv2d(channels, channels, kernel_size=3)
        self.norm2 = make_norm(norm, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.norm1(self.conv1(F.pad(x, (1, 1, 1, 1), mode="reflect"))))
        return x + self.norm2(self.conv2(F.pad(y, (1, 1, 1, 1), mode="reflect")))


class UpBlock(nn.Sequential):
    """Transposed conv (stride 2) with norm and ReLU, in the order each official backbone uses:
    U-Net `act_first` (ReLU -> conv -> norm), ResNet not (conv -> norm -> ReLU)."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        norm: str,
        kernel: int,
        padding: int,
        output_padding: int,
        bias: bool,
        act_first: bool,
    ) -> None:
        super().__init__()
        if act_first:
            self.act = nn.ReLU()
        self.conv = nn.ConvTranspose2d(
            c_in, c_out, kernel, stride=2, padding=padding, output_padding=output_padding, bias=bias
        )
        self.norm = make_norm(norm, c_out)
        if not act_first:
            self.act = nn.ReLU()


def _stem(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(c_in, c_out, kernel_size=7))


class ResnetBackbone(nn.Module):
    """Two-stream ResNet generator body (see module docstring).

    Built from a `GeneratorConfig`, of which it reads:
        input_nc / guide_nc / output_nc: channels of input, guide and output images.
        ngf: width of the first level; levels are ngf, 2ngf, 4ngf, 8ngf.
        n_blocks: residual blocks at 8*ngf (official 9).
        norm: name in NORMS for the residual blocks, the decoder and scheme-internal norms.
        bottleneck: hidden width of parameter generators.
        conditioning: the conditioning stage class, by name in SCHEMES.
    """

    n_down = 3

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        input_nc, guide_nc, output_nc = config.input_nc, config.guide_nc, config.output_nc
        ngf, norm, bottleneck = config.ngf, config.norm, config.bottleneck
        scheme = SCHEMES[config.conditioning]
        widths = [ngf * 2**i for i in range(self.n_down + 1)]  # ngf, 2ngf, 4ngf, 8ngf
        stem_in = input_nc + guide_nc if scheme.guide_in_input else input_nc
        self.input_stem = _stem(stem_in, ngf)
        self.input_down = nn.ModuleList(
            nn.Conv2d(c, 2 * c, kernel_size=3, stride=2, padding=1) for c in widths[:-1]
        )
        if scheme.guide_stream:
            self.guide_stem = _stem(guide_nc, ngf)
            self.guide_down = nn.ModuleList(
                nn.Conv2d(c, 2 * c, kernel_size=3, stride=2, padding=1) for c in widths[:-1]
            )
        self.stages = nn.ModuleList(
            scheme(c, bottleneck, norm, last=(i == len(widths) - 1)) for i, c in enumerate(widths)
        )
        self.blocks = nn.Sequential(*(ResnetBlock(widths[-1], norm) for _ in range(config.n_blocks)))
        self.up = nn.Sequential(
            *(UpBlock(c, c // 2, norm, 3, 1, 1, bias=True, act_first=False) for c in reversed(widths[1:]))
        )
        self.head = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7))
        self.uses_guide_stream = scheme.guide_stream
        self.guide_in_input = scheme.guide_in_input

    @staticmethod
    def size_rule(config: GeneratorConfig) -> tuple[int, int, str]:
        """(multiple, minimum, rule text) for H and W."""
        return 8, 16, "multiples of 8, at least 16 (three stride-2 levels, reflect padding)"

    def forward(self, input: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
        if self.guide_in_input:
            input = torch.cat([input, guide], dim=1)  # (N, C_in + C_g, H, W)
        x = self.input_stem(input)
        g = self.guide_stem(guide) if self.uses_guide_stream else None
        last = len(self.stages) - 1
        for i, stage in enumerate(self.stages):
            x, g = stage(x, g)
            x = F.relu(x)
            if i == last:
                break
            x = self.input_down[i](x)
            if g is not None:
                g = self.guide_down[i](F.relu(g))
        x = self.blocks(x)
        return self.head(self.up(x)).tanh()


class UnetBackbone(nn.Module):
    """Two-stream U-Net generator body (see module docstring). Reads the config as
    `ResnetBackbone` does, with `n_layers` (L >= 3) levels instead of residual blocks."""

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        input_nc, guide_nc, output_nc = config.input_nc, config.guide_nc, config.output_nc
        ngf, n_layers, norm, bottleneck = config.ngf, config.n_layers, config.norm, config.bottleneck
        scheme = SCHEMES[config.conditioning]
        bias = conv_bias_for(norm)
        widths = [ngf * min(2**k, 8) for k in range(n_layers)]  # level k+1 has widths[k] maps
        stem_in = input_nc + guide_nc if scheme.guide_in_input else input_nc

        def encoder(c_in: int, levels: int) -> nn.ModuleList:
            ins = [c_in] + widths[: levels - 1]
            return nn.ModuleList(
                nn.Conv2d(a, b, kernel_size=4, stride=2, padding=1, bias=bias) for a, b in zip(ins, widths)
            )

        self.input_down = encoder(stem_in, n_layers)
        if scheme.guide_stream:
            self.guide_down = encoder(guide_nc, n_layers - 1)  # the guide stream ends at level L-1
        # stages at levels 2 .. L-1, i.e. widths[1 : L-1]
        self.stages = nn.ModuleList(
            scheme(c, bottleneck, norm, last=(k == n_layers - 2))
            for k, c in enumerate(widths)
            if 1 <= k <= n_layers - 2
        )
        # decoder from the innermost level outwards: level L -> L-1 without a skip, then [skip, up]
        up = [UpBlock(widths[-1], widths[-2], norm, 4, 1, 0, bias, act_first=True)]
        up += [
            UpBlock(2 * widths[k], widths[k - 1], norm, 4, 1, 0, bias, act_first=True)
            for k in range(n_layers - 2, 0, -1)
        ]
        self.up = nn.ModuleList(up)
        self.head = nn.ConvTranspose2d(2 * widths[0], output_nc, kernel_size=4, stride=2, padding=1)
        self.uses_guide_stream = scheme.guide_stream
        self.guide_in_input = scheme.guide_in_input

    @staticmethod
    def size_rule(config: GeneratorConfig) -> tuple[int, int, str]:
        m = 2**config.n_layers
        return m, m, f"multiples of 2**n_layers = {m} (n_layers={config.n_layers} stride-2 levels)"

    def forward(self, input: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
        if self.guide_in_input:
            input = torch.cat([input, guide], dim=1)  # (N, C_in + C_g, H, W)
        x = self.input_down[0](input)  # level 1
        g = self.guide_down[0](guide) if self.uses_guide_stream else None
        n_levels = len(self.input_down)
        skips = []  # activated outputs of levels 1 .. L-1
        for level in range(1, n_levels):
            if level >= 2:
                x, g = self.stages[level - 2](x, g)
            x = F.leaky_relu(x, 0.2)
            skips.append(x)
            x = self.input_down[level](x)  # level + 1
            if g is not None and level < n_levels - 1:
                g = self.guide_down[level](F.leaky_relu(g, 0.2))
        x = self.up[0](x)
        for block, skip in zip(self.up[1:], reversed(skips[1:])):
            x = block(torch.cat([skip, x], dim=1))  # (N, 2C, h, w)
        return self.head(F.relu(torch.cat([skips[0], x], dim=1))).tanh()


BACKBONES: dict[str, type[ResnetBackbone] | type[UnetBackbone]] = {
    "resnet": ResnetBackbone,
    "unet": UnetBackbone,
}
