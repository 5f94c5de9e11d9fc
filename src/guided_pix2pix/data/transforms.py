"""Paired transforms on dataset items, and padding to the sizes a backbone needs.

A paired transform draws its random numbers once per item and applies the same flip or crop
to every spatial entry of the item (`input`, `guide`, `target`, `mask`), so the three images
stay pixel-aligned. Random numbers come from torch's global generator, which DataLoader seeds
differently in every worker; pass a `torch.Generator` to make a transform reproducible.

Colour conversion lives in `guided_pix2pix.data.color`; it is re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from ..errors import BadOptionError
from .color import denormalize_lab, lab_to_rgb, normalize_lab, rgb_to_lab

SPATIAL_KEYS = ("input", "guide", "target", "mask")

__all__ = [
    "SPATIAL_KEYS",
    "Compose",
    "PairedRandomFlip",
    "PairedRandomCrop",
    "paired_flip",
    "paired_crop",
    "pad_to_multiple",
    "crop_to",
    "rgb_to_lab",
    "lab_to_rgb",
    "normalize_lab",
    "denormalize_lab",
]


def _spatial(item: dict) -> list[str]:
    return [k for k in SPATIAL_KEYS if k in item]


def paired_flip(item: dict) -> dict:
    """Mirror every spatial entry left-right (last axis). Returns a new dict; meta is shared."""
    out = dict(item)
    for key in _spatial(item):
        out[key] = torch.flip(item[key], dims=[-1])
    return out


def paired_crop(item: dict, top: int, left: int, height: int, width: int) -> dict:
    """Cut the same (top, left, height, width) window, in pixels, out of every spatial entry."""
    out = dict(item)
    for key in _spatial(item):
        out[key] = item[key][..., top : top + height, left : left + width]
    return out


class PairedRandomFlip:
    """Horizontal flip with probability `p` (0..1), identical for input, guide, target and mask."""

    def __init__(self, p: float = 0.5, generator: torch.Generator | None = None):
        if not 0.0 <= p <= 1.0:
            raise BadOptionError("p", f"flip probability must be in [0, 1], got {p}")
        self.p = p
        self.generator = generator

    def __call__(self, item: dict) -> dict:
        if float(torch.rand((), generator=self.generator)) < self.p:
            return paired_flip(item)
        return item


class PairedRandomCrop:
    """Random window of `size` = (height, width) pixels, at the same place in every entry.

    Items smaller than `size` raise `BadOptionError` (crop size larger than the image).
    """

    def __init__(self, size: int | Sequence[int], generator: torch.Generator | None = None):
        size = (size, size) if isinstance(size, int) else tuple(int(s) for s in size)
        if len(size) != 2 or min(size) < 1:
            raise BadOptionError("crop_size", f"expected a positive (height, width), got {size!r}")
        self.size = size
        self.generator = generator

    def __call__(self, item: dict) -> dict:
        H, W = item["input"].shape[-2:]
        h, w = self.size
        if h > H or w > W:
            raise BadOptionError("crop_size", f"crop {h}x{w} is larger than the {H}x{W} item")
        top = int(torch.randint(0, H - h + 1, (), generator=self.generator))
        left = int(torch.randint(0, W - w + 1, (), generator=self.generator))
        return paired_crop(item, top, left, h, w)


class Compose:
    """Apply item transforms in order."""

    def __init__(self, transforms: Sequence[Callable[[dict], dict]]):
        self.transforms = list(transforms)

    def __call__(self, item: dict) -> dict:
        for t in self.transforms:
            item = t(item)
        return item


def reflect_pad_to(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Reflect-pad (N, C, h, w) at the bottom and right to (height, width) pixels.

    Images smaller than the padding are reflected repeatedly; a 1-pixel side is replicated.
    """
    pad_h, pad_w = height - x.shape[-2], width - x.shape[-1]
    while pad_h > 0 or pad_w > 0:
        cur_h, cur_w = x.shape[-2:]
        step_h, step_w = min(max(pad_h, 0), cur_h - 1), min(max(pad_w, 0), cur_w - 1)
        if step_h == 0 and step_w == 0:  # only 1-pixel sides are left to grow: replicate them
            x = F.pad(x, (0, max(pad_w, 0), 0, max(pad_h, 0)), mode="replicate")
            break
        x = F.pad(x, (0, step_w, 0, step_h), mode="reflect")  # (N, C, h, w) -> (N, C, h + step_h, w + step_w)
        pad_h, pad_w = pad_h - step_h, pad_w - step_w
    return x


def pad_to_multiple(tensor: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad the last two axes at the bottom and right up to multiples of `multiple`.

    Works on (H, W), (C, H, W) or (N, C, H, W). Returns the padded tensor and the original
    (h, w), to give to `crop_to` after the network. Images too small for one reflection are
    reflected repeatedly (and a 1-pixel side is replicated).
    """
    if int(multiple) < 1:
        raise BadOptionError("multiple", f"must be a positive integer, got {multiple!r}")
    h, w = tensor.shape[-2:]
    x = tensor.reshape(-1, 1, h, w) if tensor.ndim < 4 else tensor  # (..., h, w) -> (N, C, h, w)
    x = reflect_pad_to(x, h + (-h) % multiple, w + (-w) % multiple)
    if tensor.ndim < 4:
        x = x.reshape(*tensor.shape[:-2], *x.shape[-2:])  # (N, C, H', W') -> (..., H', W')
    return x, (h, w)


def crop_to(tensor: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Undo `pad_to_multiple`: keep the top-left (h, w) of the last two axes."""
    h, w = size
    return tensor[..., :h, :w]
