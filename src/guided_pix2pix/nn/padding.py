"""Running a generator on images of any size: reflect-pad to what its backbone takes, crop back.

`padded_size(model, h, w)` is the smallest size >= (h, w) that the backbone's size rule
(`body.size_rule`) accepts; `run_padded(model, input, guide)` pads (N, C, H, W) batches at the
bottom and right with `reflect_pad_to`, runs the model and crops the output back to (H, W).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from .memory import check_forward_fits

if TYPE_CHECKING:
    from .generator import Generator


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


def padded_size(model: Generator, h: int, w: int) -> tuple[int, int]:
    """The smallest (H', W') >= (h, w) that the model's backbone accepts (pixels)."""
    multiple, minimum, _ = model.body.size_rule(model.config)

    def up(n: int) -> int:
        n = max(n, minimum)
        return -(-n // multiple) * multiple

    return up(h), up(w)


@torch.no_grad()
def run_padded(model: Generator, input: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
    """G(input, guide) for (N, C, H, W) batches of any H, W: pad, run, crop back; float32 output."""
    h, w = input.shape[-2:]
    H, W = padded_size(model, h, w)
    check_forward_fits(model.config, input.shape[0], H, W, input.device)  # large batches only
    out = model(reflect_pad_to(input, H, W), reflect_pad_to(guide, H, W))
    return out[..., :h, :w].float()
