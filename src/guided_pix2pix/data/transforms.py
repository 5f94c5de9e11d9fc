"""Paired augmentation of batches, and padding to the sizes a backbone needs.

`augment_batch` flips and crops every spatial entry of an item (`input`, `guide`, `target`,
`mask`) the same way, so the images stay pixel-aligned; its random numbers come from the
generator it is given, which makes training reproducible and exactly resumable.

Colour conversion lives in `guided_pix2pix.data.color`; it is re-exported here.
"""

from __future__ import annotations

import torch

from ..errors import BadOptionError
from ..nn.padding import reflect_pad_to
from .color import denormalize_lab, lab_to_rgb, normalize_lab, rgb_to_lab

SPATIAL_KEYS = ("input", "guide", "target", "mask")

__all__ = [
    "SPATIAL_KEYS",
    "augment_batch",
    "pad_to_multiple",
    "crop_to",
    "rgb_to_lab",
    "lab_to_rgb",
    "normalize_lab",
    "denormalize_lab",
]


def augment_batch(batch: dict, rng: torch.Generator, flip: bool, crop, option: str = "train.crop") -> dict:
    """Paired random crop (of `crop` = (h, w) pixels, or None) and horizontal flip of a batch,
    the same window and flip for every spatial entry of an item (input, guide, target, mask),
    drawn per item from `rng` on the CPU and applied on the batch's device.

    This is the one augmentation path: the training loop calls it with a generator that depends
    only on (seed, rank, step), so a resumed run draws what an uninterrupted run would. A crop
    larger than the images raises `BadOptionError` naming `option`.
    """
    keys = [k for k in SPATIAL_KEYS if k in batch]
    n, _, h, w = batch["input"].shape
    if crop is not None:
        ch, cw = crop
        if ch > h or cw > w:
            raise BadOptionError(option, f"crop {ch}x{cw} is larger than the images ({h}x{w})")
        tops = torch.randint(0, h - ch + 1, (n,), generator=rng).tolist()
        lefts = torch.randint(0, w - cw + 1, (n,), generator=rng).tolist()
        for k in keys:
            batch[k] = torch.stack(
                [batch[k][i, :, t : t + ch, l : l + cw] for i, (t, l) in enumerate(zip(tops, lefts))]
            )  # (N, C, H, W) -> (N, C, ch, cw)
    if flip:
        flips = torch.rand(n, generator=rng) < 0.5
        if flips.any():
            sel = flips.to(batch["input"].device).view(n, 1, 1, 1)  # broadcast over (C, H, W)
            for k in keys:
                batch[k] = torch.where(sel, batch[k].flip(3), batch[k])
    return batch


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
