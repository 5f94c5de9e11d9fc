"""Output priors: a parameter-free first guess of a task's output from (input, guide).

A generator with ``output_prior`` (`GeneratorConfig`) returns
``clamp(prior(input, guide) + tanh(net(input, guide)), -1, 1)`` with its last layer initialised
to zero, so training starts from the prior and the network learns a correction to it. This is
how the depth presets start from OpenCV's joint bilateral filter (`GeneratorConfig.input_filter`),
for the two tasks whose trivial baselines are strong (`evaluation.baselines`): on the synthetic
data a network trained from scratch for a few CPU minutes stayed below them (docs/results.md).

| name | task | channels (input, guide, output) | the guess |
|---|---|---|---|
| ``patch_colour_fill`` | texture | 1, 4, 3 | inside the sketch's outline the patch's mean LAB colour; outside the sketch itself |
| ``border_background`` | pose | 3, any, 3 | every pixel the median colour of the input's one-pixel border |

The same functions are the baselines ``mean_colour_fill`` and ``background`` of `evaluate`, so
the model's starting point is exactly the baseline it is compared with. They take and return
network values and are not differentiated through.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..errors import BadOptionError


def plain_background(input: torch.Tensor, guide: torch.Tensor | None = None) -> torch.Tensor:
    """Every pixel the median colour of the input's one-pixel border (the synthetic figures and
    DeepFashion's photos stand on a plain background): (N, C, H, W) -> (N, C, H, W)."""
    x = input
    border = torch.cat([x[:, :, 0], x[:, :, -1], x[:, :, :, 0], x[:, :, :, -1]], dim=2)  # (N, C, 2W + 2H)
    return border.median(dim=2).values[:, :, None, None].expand_as(x).clone()


def inside_outline(sketch: torch.Tensor) -> torch.Tensor:
    """(1, H, W) TextureGAN-scaled sketch L -> (H, W) bool: the pixels enclosed by its dark
    strokes (L below 50), strokes included (scipy's binary_fill_holes)."""
    from scipy import ndimage

    lines = (sketch[0] < 0.0).cpu().numpy()
    return torch.from_numpy(ndimage.binary_fill_holes(lines)).to(sketch.device)


def patch_colour_fill(input: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
    """Texture: the sketch with the inside of its outline filled with the mean LAB colour of the
    patch (guide channels 0-2 where the guide's mask channel 3 is set); outside, the sketch itself
    (grey: its L with a = b = 0). (N, 1, H, W) sketch and (N, 4, H, W) guide in TextureGAN-scaled
    LAB -> (N, 3, H, W)."""
    outs = []
    for s, g in zip(input, guide):
        inside = inside_outline(s)
        patch = g[3] > 0  # the mask channel marks the patch's pixels
        colour = g[:3][:, patch].mean(dim=1) if bool(patch.any()) else torch.zeros(3, device=s.device)
        grey = torch.cat([s, torch.zeros_like(s), torch.zeros_like(s)])  # (1, H, W) -> (3, H, W)
        outs.append(torch.where(inside[None], colour[:, None, None].to(s.dtype), grey))
    return torch.stack(outs)


@dataclass(frozen=True)
class OutputPrior:
    """function(input, guide) -> (N, output_nc, H, W); channels: required (input_nc, guide_nc,
    output_nc), None where any count is accepted (then output_nc must equal input_nc)."""

    function: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    channels: tuple[int | None, int | None, int | None]
    doc: str


OUTPUT_PRIORS: dict[str, OutputPrior] = {
    "patch_colour_fill": OutputPrior(
        patch_colour_fill, (1, 4, 3), "texture: the sketch's inside filled with the patch's mean colour"
    ),
    "border_background": OutputPrior(
        plain_background, (None, None, None), "pose: a plain image of the input's border median colour"
    ),
}


def check_output_prior(name: object, input_nc: int, guide_nc: int, output_nc: int) -> str:
    """`name` if it is a known prior that fits these channel counts, else BadOptionError."""
    if not isinstance(name, str) or name not in OUTPUT_PRIORS:
        raise BadOptionError(
            "output_prior", f"unknown prior {name!r}; choose from {', '.join(OUTPUT_PRIORS)}"
        )
    want = OUTPUT_PRIORS[name].channels
    got = (input_nc, guide_nc, output_nc)
    fits = all(w is None or w == g for w, g in zip(want, got))
    if want[2] is None:
        fits = fits and input_nc == output_nc
    if not fits:
        shown = "/".join("any" if w is None else str(w) for w in want)
        raise BadOptionError(
            "output_prior",
            f"{name} needs input/guide/output channels {shown}"
            f"{' with output_nc == input_nc' if want[2] is None else ''}, got {'/'.join(map(str, got))}",
        )
    return name


@torch.no_grad()
def output_prior(name: str, input: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
    """The prior `name` for a batch, on the input's device and dtype."""
    return OUTPUT_PRIORS[name].function(input, guide).to(input.dtype)
