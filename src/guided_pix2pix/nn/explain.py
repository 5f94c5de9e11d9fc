"""Modulation maps: where, and how strongly, one stream modulates the other at each FT stage.

At every FT position ("stage") of a uFT or bFT generator a parameter generator turns the guide
stream's features into a per-pixel scale map gamma and shift map beta (called alpha and beta in
`nn.modulation`), and FT(x; gamma, beta) = gamma * (x - mean) / std + beta applies them to the
input stream; a bFT stage also turns the input stream's features into maps that modulate the
guide stream. FiLM computes per-channel vectors from the globally pooled guide features instead:
the same at every pixel. `modulation_maps(model, input, guide)` returns them all, per stage:

    StageMaps(index, scheme, channels, size=(h, w),
              directions={"guide->input": ScaleShift(gamma, beta), "input->guide": ...})

with gamma and beta (N, C, h, w) at the stage's own spatial size (FiLM's vectors broadcast to
it, so spatially constant). Stages are listed in the order the backbone runs them, outermost
(full or half resolution) first. A bFT stage built `last` (where the guide stream ends) has
guide -> input only, as does every uFT stage.

The maps are captured with forward hooks on the stages' parameter generators: the generator's
computation (fast or reference mode) is the one it always runs, and its output is unchanged.
Inputs of any size are reflect-padded to the backbone's size rule as `nn.padding.run_padded`
does; each map is then cropped to the part that covers the image (ceil(H * h / H_padded) rows,
likewise columns), so for an input the backbone takes as is, a map is exactly the stage's size.

`draw_modulation_maps(stages, pictures, path)` draws them as one PNG (matplotlib; see its doc).
Schemes without FT (input_concat, feature_concat) have no maps: `NoModulationMaps`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from ..errors import UserError
from ..files.atomic import write_atomic
from .modulation import BidirectionalFT, FiLM, ParameterGenerator, Stage, UnidirectionalFT
from .padding import padded_size, reflect_pad_to

if TYPE_CHECKING:
    from .generator import Generator

GUIDE_TO_INPUT = "guide->input"
INPUT_TO_GUIDE = "input->guide"
# stage class -> scheme name, for the conditioning schemes that have scale and shift maps
FT_SCHEMES: dict[type[Stage], str] = {BidirectionalFT: "bft", UnidirectionalFT: "uft", FiLM: "film"}


class NoModulationMaps(UserError):
    """The generator's conditioning scheme has no feature transformation, hence no maps."""


@dataclass(frozen=True)
class ScaleShift:
    """One direction's FT parameters at one stage.

    gamma: (N, C, h, w) per-pixel scale of the normalised features (modulation.py's alpha).
    beta: (N, C, h, w) per-pixel shift.
    """

    gamma: torch.Tensor
    beta: torch.Tensor


@dataclass(frozen=True)
class StageMaps:
    """The modulation maps of one FT stage.

    index: position among the generator's FT stages, 0 first (the outermost).
    scheme: "bft", "uft" or "film".
    channels: C, feature maps of the stream modulated.
    size: (h, w) of the stage's features, in pixels of that stage (after cropping, see module doc).
    directions: GUIDE_TO_INPUT always; INPUT_TO_GUIDE at bFT stages that are not the last.
    """

    index: int
    scheme: str
    channels: int
    size: tuple[int, int]
    directions: dict[str, ScaleShift]


def ft_stages(model: Generator) -> list[Stage]:
    """The FT stages of `model`'s backbone in the order they run; `NoModulationMaps` if none."""
    stages = [m for m in model.body.stages if isinstance(m, Stage) and type(m) in FT_SCHEMES]
    if not stages:
        raise NoModulationMaps(
            f"conditioning {model.config.conditioning!r} has no modulation maps (no feature "
            "transformation: the guide is concatenated); explain works for film, uft and bft"
        )
    return stages


def _generators(stage: Stage) -> list[tuple[str, ParameterGenerator]]:
    """(direction, parameter generator) pairs of an FT stage: from_guide, and bFT's from_input."""
    found = []
    for direction, name in ((GUIDE_TO_INPUT, "from_guide"), (INPUT_TO_GUIDE, "from_input")):
        generator = getattr(stage, name, None)
        if isinstance(generator, ParameterGenerator):
            found.append((direction, generator))
    return found


def _kept(t: torch.Tensor) -> torch.Tensor:
    """A copy of captured parameters, half precision (autocast) as float32."""
    t = t.detach()
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t.clone()


@torch.no_grad()
def trace_modulation(
    model: Generator, input: torch.Tensor, guide: torch.Tensor
) -> tuple[torch.Tensor, list[StageMaps]]:
    """(output, maps of every FT stage) of one forward pass of `model` on (N, C, H, W) batches.

    The model runs in eval mode (its mode is restored afterwards) without gradients; the output
    is `run_padded`'s (cropped back to H x W, float32)."""
    stages = ft_stages(model)
    sizes: dict[int, tuple[int, int]] = {}
    captured: dict[tuple[int, str], tuple[torch.Tensor, torch.Tensor]] = {}
    handles: list[torch.utils.hooks.RemovableHandle] = []

    def size_hook(i: int) -> Any:
        def hook(module: nn.Module, args: tuple[Any, ...]) -> None:
            x = args[0]  # the input stream, (N, C, h, w)
            sizes[i] = (int(x.shape[-2]), int(x.shape[-1]))

        return hook

    def params_hook(i: int, direction: str) -> Any:
        def hook(module: nn.Module, args: tuple[Any, ...], out: tuple[torch.Tensor, torch.Tensor]) -> None:
            captured[(i, direction)] = (_kept(out[0]), _kept(out[1]))

        return hook

    was_training = model.training
    try:
        for i, stage in enumerate(stages):
            handles.append(stage.register_forward_pre_hook(size_hook(i)))
            for direction, generator in _generators(stage):
                handles.append(generator.register_forward_hook(params_hook(i, direction)))
        model.eval()
        h, w = input.shape[-2:]
        H, W = padded_size(model, h, w)
        output = model(reflect_pad_to(input, H, W), reflect_pad_to(guide, H, W))[..., :h, :w].float()
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)

    result = []
    for i, stage in enumerate(stages):
        hs, ws = sizes[i]
        keep_h, keep_w = math.ceil(h * hs / H), math.ceil(w * ws / W)  # the part covering the image
        directions = {}
        for direction, _ in _generators(stage):
            gamma, beta = captured[(i, direction)]
            n, c = gamma.shape[:2]
            if gamma.shape[-2:] != (hs, ws):  # FiLM: (N, C, 1, 1) vectors, the same at every pixel
                gamma = gamma.expand(n, c, hs, ws).clone()  # (N, C, 1, 1) -> (N, C, h, w)
                beta = beta.expand(n, c, hs, ws).clone()
            directions[direction] = ScaleShift(gamma[..., :keep_h, :keep_w], beta[..., :keep_h, :keep_w])
        channels = directions[GUIDE_TO_INPUT].gamma.shape[1]
        result.append(StageMaps(i, FT_SCHEMES[type(stage)], channels, (keep_h, keep_w), directions))
    return output, result


def modulation_maps(model: Generator, input: torch.Tensor, guide: torch.Tensor) -> list[StageMaps]:
    """The scale and shift maps of every FT stage of `model` for (N, C, H, W) batches (see the
    module doc); raises `NoModulationMaps` for input_concat and feature_concat generators."""
    return trace_modulation(model, input, guide)[1]


# ----------------------------------------------------------------------------- drawing
DIVERGING_CMAP = "RdBu_r"  # red above the map's own mean, blue below, white at it


def _deviation(values: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(values - their spatial mean, the mean, the half-range of a symmetric colour scale); a
    constant map (FiLM) gets a tiny half-range, so it shows white."""
    centre = float(values.mean()) if values.max() != values.min() else float(values.flat[0])
    deviation = values - centre
    half = float(np.abs(deviation).max())
    return deviation, centre, half if half > 0 else max(abs(centre), 1.0) * 1e-6


def draw_modulation_maps(
    stages: Sequence[StageMaps],
    pictures: Sequence[tuple[str, np.ndarray]],
    path: str | Path,
    item: int = 0,
    title: str = "",
) -> Path:
    """Draw item `item` of `stages` as one PNG at `path`; return `path`.

    The first row shows `pictures` ((label, (H, W, 3) RGB in [0, 1] or uint8) pairs, e.g. input,
    guide, output). Then one row per stage (labelled with its index, scheme and size) with, for
    each direction, the channel mean of gamma and of beta (mean over the C feature maps at each
    pixel), drawn as its deviation from its own spatial mean in a diverging colour map (RdBu_r,
    symmetric about 0): red where the stream is scaled (or shifted) more than on average, blue
    where less, white everywhere for a spatially constant map (FiLM). Each panel's title gives
    the map's mean, minimum and maximum (the colour scale's ends are the mean -+ the larger
    deviation). Needs matplotlib (`pip install matplotlib`)."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise UserError("drawing modulation maps needs matplotlib: pip install matplotlib") from exc
    if not stages:
        raise ValueError("no stages to draw")
    panels = max(len(s.directions) for s in stages) * 2
    cols = max(panels, len(pictures))
    rows = len(stages) + (1 if pictures else 0)
    # a fixed layout (matplotlib's constrained layout doubles the drawing time): inches per cell,
    # a band at the top for the title and one at the bottom for the colour key
    cell_w, cell_h, top, bottom = 2.0, 2.3, 0.5 if title else 0.2, 0.4
    height = cell_h * rows + top + bottom
    fig = Figure(figsize=(cell_w * cols, height), dpi=100)
    if title:
        fig.suptitle(title, fontsize=10, y=1 - 0.15 / height)
    fig.text(
        0.5,
        0.12 / height,
        "colour: the map minus its spatial mean, symmetric: red = +max |deviation|, white = mean, "
        "blue = -max |deviation|",
        ha="center",
        fontsize=7,
    )
    grid = fig.add_gridspec(
        rows,
        cols,
        left=0.07,
        right=0.99,
        top=1 - top / height,
        bottom=bottom / height,
        hspace=0.5,
        wspace=0.15,
    )
    first = 0
    if pictures:
        for c, (label, picture) in enumerate(pictures):
            ax = fig.add_subplot(grid[0, c])
            ax.imshow(np.asarray(picture), interpolation="nearest")
            ax.set_title(label, fontsize=9)
            ax.set_axis_off()
        first = 1
    for r, stage in enumerate(stages):
        c = 0
        for direction, maps in stage.directions.items():
            for name, tensor in (("γ scale", maps.gamma), ("β shift", maps.beta)):
                values = tensor[item].float().mean(dim=0).cpu().numpy()  # (C, h, w) -> (h, w)
                deviation, centre, half = _deviation(values)
                ax = fig.add_subplot(grid[first + r, c])
                ax.imshow(deviation, cmap=DIVERGING_CMAP, vmin=-half, vmax=half, interpolation="nearest")
                ax.set_title(
                    f"{direction} {name}\nmean {centre:.3g}\nrange [{values.min():.3g}, {values.max():.3g}]",
                    fontsize=7,
                )
                ax.set_xticks([])
                ax.set_yticks([])
                if c == 0:
                    ax.set_ylabel(
                        f"stage {stage.index} ({stage.scheme})\n{stage.size[0]}x{stage.size[1]}", fontsize=8
                    )
                c += 1
    path = Path(path)
    return write_atomic(path, lambda tmp: fig.savefig(tmp, format="png"), "cannot write the figure")
