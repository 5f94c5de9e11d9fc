"""Feature transformation and the conditioning schemes that use it.

FT(x; a, b) = a * (x - mean) / sqrt(var + 1e-5) + b, with mean and the unbiased variance taken
per sample and channel over H x W, and a, b per-pixel maps (bFT / uFT) or per-channel vectors
(FiLM) from a parameter generator: 1x1 conv C -> bottleneck, ReLU, 1x1 conv bottleneck -> C.

A conditioning scheme is one small class registered in `SCHEMES`. The backbone builds one
instance per FT position ("stage") and calls it as `stage(x, g) -> (x, g)` where x is the
input stream and g the guide stream (None for schemes without a guide stream). The class
attributes tell the backbone what to build:
  guide_stream        the backbone builds a guide encoder parallel to the input encoder
  guide_in_input      the guide is concatenated to the input image (input_concat)
At the last stage the guide stream ends, so stages built with `last=True` leave g alone and
own no parameters for it (the official classes hold such dead parameters; we do not).

Every module here has two execution modes with identical parameters: `fast` (default: fused
parameter generators, one-pass float32 statistics) and `reference` (the official op sequence,
unfused and with its clones), switched by `Generator.set_execution_mode`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .norms import make_norm

EPS = 1e-5


def _stats_dtype(x: torch.Tensor) -> torch.Tensor:
    """x in at least float32: statistics of half-precision features are taken in float32."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def feature_transform(x: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """FT(x; alpha, beta) with float32 statistics (also under autocast). alpha/beta broadcast to x.

    On the CPU (eager) it runs as `_FeatureTransformCPU`, whose hand-written backward takes a
    third of the memory passes of autograd's; elsewhere (CUDA, torch.compile) as plain ops,
    which the compiler fuses."""
    if x.device.type == "cpu" and not torch.compiler.is_compiling() and torch.is_grad_enabled():
        return _FeatureTransformCPU.apply(x, alpha, beta)
    xf = _stats_dtype(x)
    var, mean = torch.var_mean(xf, dim=(2, 3), keepdim=True, correction=1)  # (N, C, 1, 1) each
    x_hat = ((xf - mean) * torch.rsqrt(var + EPS)).to(alpha.dtype)
    return torch.addcmul(beta, alpha, x_hat)


class _FeatureTransformCPU(torch.autograd.Function):
    """FT with an analytic backward. With x_hat = (x - mean) * r, r = 1 / sqrt(var + eps), var
    unbiased over the n = H*W pixels, and y = alpha * x_hat + beta, g = dL/dy:
        dL/dbeta = g,  dL/dalpha = g * x_hat,  with h = g * alpha:
        dL/dx = r * (h - sum(h) / n - x_hat * sum(h * x_hat) / (n - 1))."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        xf = _stats_dtype(x)
        var, mean = torch.var_mean(xf, dim=(2, 3), keepdim=True, correction=1)  # (N, C, 1, 1) each
        rstd = torch.rsqrt(var + EPS)
        x_hat = torch.sub(xf, mean).mul_(rstd).to(alpha.dtype)
        ctx.save_for_backward(x_hat, alpha, rstd)
        ctx.x_dtype, ctx.beta_shape = x.dtype, beta.shape
        return torch.addcmul(beta, alpha, x_hat)

    @staticmethod
    def backward(
        ctx: Any, grad: torch.Tensor
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        x_hat, alpha, rstd = ctx.saved_tensors
        need_x, need_alpha, need_beta = ctx.needs_input_grad
        grad_x = grad_alpha = grad_beta = None
        if need_alpha:
            grad_alpha = (grad * x_hat).sum_to_size(alpha.shape)
        if need_beta:
            grad_beta = grad.sum_to_size(ctx.beta_shape)
        if need_x:
            n, c, h, w = x_hat.shape
            hg = (grad * alpha).float() if x_hat.dtype != rstd.dtype else grad * alpha  # (N, C, H, W)
            xh = x_hat.to(hg.dtype)
            s1 = hg.sum(dim=(2, 3), keepdim=True)  # (N, C, 1, 1)
            # per (sample, channel) dot products sum(h * x_hat) as a batched matmul: no temporary
            s2 = torch.matmul(hg.reshape(n * c, 1, h * w), xh.reshape(n * c, h * w, 1)).view(n, c, 1, 1)
            shift = -rstd * s1 / (h * w)  # (N, C, 1, 1)
            slope = -rstd * s2 / (h * w - 1)
            grad_x = torch.addcmul(torch.addcmul(shift, xh, slope), hg, rstd).to(ctx.x_dtype)
        return grad_x, grad_alpha, grad_beta


def feature_transform_reference(x: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """The official `affine_transformation`, op for op (clone, view, var + eps, sqrt, divide)."""
    x = x.clone()
    n, c = x.shape[:2]
    std = (x.view(n, c, -1).var(dim=2) + EPS).sqrt().view(n, c, 1, 1)
    mean = x.view(n, c, -1).mean(dim=2).view(n, c, 1, 1)
    return alpha * ((x - mean.expand_as(x)) / std.expand_as(x)) + beta


class ParameterGenerator(nn.Module):
    """Maps features (N, C, H, W) to (alpha, beta), each (N, C, H, W), through a 1x1 bottleneck.

    The alpha and beta branches of the official code are stored fused: `hidden` is one 1x1 conv
    C -> 2*bottleneck (alpha's rows first), `out` one grouped 1x1 conv 2*bottleneck -> 2*C with
    two groups (alpha's group first). In `reference` mode the two branches run separately on
    slices of the same weights, as the official code runs them.

    Args:
        channels: C, feature maps in and in each of alpha and beta.
        bottleneck: hidden width of each branch (the official `bottleneck_depth`, 100).
    """

    def __init__(self, channels: int, bottleneck: int) -> None:
        super().__init__()
        self.channels = channels
        self.bottleneck = bottleneck
        self.hidden = nn.Conv2d(channels, 2 * bottleneck, kernel_size=1)
        self.out = nn.Conv2d(2 * bottleneck, 2 * channels, kernel_size=1, groups=2)
        self.reference = False

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.reference:
            return self._forward_reference(x)
        if x.device.type == "cpu" and x.is_contiguous():
            return self._forward_matmul(x)
        params = self.out(F.relu(self.hidden(x)))  # (N, 2C, H, W): alpha | beta
        return params[:, : self.channels], params[:, self.channels :]

    def _forward_matmul(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The fused generators as two batched matrix products over (N, C, H*W).

        On CPUs oneDNN runs 1x1 convolutions on NCHW tensors several times slower than the same
        products through BLAS (measured in docs/benchmarks.md), so contiguous CPU inputs take
        this path; CUDA and channels_last inputs use the convolutions."""
        n, c, h, w = x.shape
        b = self.bottleneck
        assert self.hidden.bias is not None and self.out.bias is not None  # built with bias=True
        w1 = self.hidden.weight.view(1, 2 * b, c).expand(n, -1, -1)  # (N, 2B, C), no copy
        hidden = torch.baddbmm(self.hidden.bias.view(1, 2 * b, 1), w1, x.view(n, c, h * w))
        hidden = F.relu(hidden).view(2 * n, b, h * w)  # (N, 2B, HW) -> (2N, B, HW): [alpha | beta] per sample
        w2 = self.out.weight.view(1, 2, c, b).expand(n, -1, -1, -1).reshape(2 * n, c, b)  # (2N, C, B)
        b2 = self.out.bias.view(1, 2, c, 1).expand(n, -1, -1, -1).reshape(2 * n, c, 1)  # (2N, C, 1)
        params = torch.baddbmm(b2, w2, hidden).view(n, 2, c, h, w)  # (2N, C, HW) -> (N, 2, C, H, W)
        return params[:, 0], params[:, 1]

    def _forward_reference(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x.clone()
        b, c = self.bottleneck, self.channels
        w1, b1, w2, b2 = self.hidden.weight, self.hidden.bias, self.out.weight, self.out.bias
        assert b1 is not None and b2 is not None  # built with bias=True
        alpha = F.conv2d(F.relu(F.conv2d(x, w1[:b], b1[:b])), w2[:c], b2[:c])
        beta = F.conv2d(F.relu(F.conv2d(x, w1[b:], b1[b:])), w2[c:], b2[c:])
        return alpha, beta


class Stage(nn.Module):
    """Base of the conditioning stages: the switch between the fast and the reference FT."""

    guide_stream = True
    guide_in_input = False

    reference = False

    def transform(self, x: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        return (feature_transform_reference if self.reference else feature_transform)(x, alpha, beta)


class BidirectionalFT(Stage):
    """bFT: the guide modulates the input and the input modulates the guide, per pixel.

    Both parameter pairs come from the pre-modulation features of both streams and are then
    applied crosswise. At the last stage only guide -> input is built.

    Args:
        channels: feature maps in each stream at this position.
        bottleneck: hidden width of the parameter generators.
        norm: unused by bFT (FT normalises itself); accepted for a uniform signature.
        last: whether the guide stream ends here.
    """

    def __init__(self, channels: int, bottleneck: int, norm: str, last: bool) -> None:
        super().__init__()
        self.from_guide = ParameterGenerator(channels, bottleneck)
        self.from_input = None if last else ParameterGenerator(channels, bottleneck)

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        alpha_g, beta_g = self.from_guide(g)
        if self.from_input is None:
            return self.transform(x, alpha_g, beta_g), g
        alpha_i, beta_i = self.from_input(x)
        return self.transform(x, alpha_g, beta_g), self.transform(g, alpha_i, beta_i)


class UnidirectionalFT(Stage):
    """uFT: the guide modulates the input per pixel; the guide stream is normalised by `norm`."""

    def __init__(self, channels: int, bottleneck: int, norm: str, last: bool) -> None:
        super().__init__()
        self.from_guide = ParameterGenerator(channels, bottleneck)
        self.guide_norm = None if last else make_norm(norm, channels)

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        alpha, beta = self.from_guide(g)
        x = self.transform(x, alpha, beta)
        return x, (g if self.guide_norm is None else self.guide_norm(g))


class FiLM(Stage):
    """FiLM baseline: per-channel scale and shift vectors from globally average-pooled guide features.

    The input stream is normalised as FT does and scaled/shifted channel-wise; the guide stream is
    normalised by `norm`, as in uFT.
    """

    def __init__(self, channels: int, bottleneck: int, norm: str, last: bool) -> None:
        super().__init__()
        self.from_guide = ParameterGenerator(channels, bottleneck)
        self.guide_norm = None if last else make_norm(norm, channels)

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = g.mean(dim=(2, 3), keepdim=True)  # (N, C, 1, 1)
        alpha, beta = self.from_guide(pooled)
        x = self.transform(x, alpha, beta)
        return x, (g if self.guide_norm is None else self.guide_norm(g))


class FeatureConcat(Stage):
    """Feature concatenation baseline: guide-encoder features are concatenated to the input
    stream's and fused back to C channels by a 1x1 conv, so the backbone's widths stay as they are.
    Both streams are normalised by `norm` first."""

    def __init__(self, channels: int, bottleneck: int, norm: str, last: bool) -> None:
        super().__init__()
        self.input_norm = make_norm(norm, channels)
        self.guide_norm = make_norm(norm, channels)
        self.fuse = nn.Conv2d(2 * channels, channels, kernel_size=1)

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        g = self.guide_norm(g)
        x = self.fuse(torch.cat([self.input_norm(x), g], dim=1))  # (N, 2C, H, W) -> (N, C, H, W)
        return x, g


class InputConcat(Stage):
    """Input concatenation baseline (pix2pix with an extra input): one stream on cat(input, guide),
    normalised by `norm` where the other schemes apply FT."""

    guide_stream = False
    guide_in_input = True

    def __init__(self, channels: int, bottleneck: int, norm: str, last: bool) -> None:
        super().__init__()
        self.input_norm = make_norm(norm, channels)

    def forward(self, x: torch.Tensor, g: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.input_norm(x), g


SCHEMES: dict[str, type[Stage]] = {
    "input_concat": InputConcat,
    "feature_concat": FeatureConcat,
    "film": FiLM,
    "uft": UnidirectionalFT,
    "bft": BidirectionalFT,
}
