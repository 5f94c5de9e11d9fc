"""Normalisation layers by name, as the official `get_norm_layer` offers them."""

from __future__ import annotations

from torch import nn


def _instance(channels: int) -> nn.Module:
    # The official code uses affine=False, track_running_stats=False: no parameters, no buffers.
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


def _batch(channels: int) -> nn.Module:
    return nn.BatchNorm2d(channels, affine=True)


def _none(channels: int) -> nn.Module:
    return nn.Identity()


NORMS = {"instance": _instance, "batch": _batch, "none": _none}


def make_norm(name: str, channels: int) -> nn.Module:
    """Build the norm layer `name` (one of NORMS) for `channels` feature maps."""
    return NORMS[name](channels)


def conv_bias_for(norm: str) -> bool:
    """Whether a conv followed by `norm` carries a bias: not before batch norm (its shift absorbs it).

    The official U-Net uses `use_bias = norm is instance`; 'none' (which the official code cannot
    build) gets a bias since nothing follows that could absorb it.
    """
    return norm != "batch"
