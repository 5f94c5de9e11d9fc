"""`guided-pix2pix explain --checkpoint DIR --input F --guide F --out maps.png`: where the guide acts.

Draws, for each FT stage of a film, uft or bft generator, the channel mean of its scale (gamma)
and shift (beta) maps in each direction (guide -> input; for bFT also input -> guide) beside
the input, the guide and the output (`guided_pix2pix.nn.explain`). Each map is coloured by its
deviation from its own spatial mean in a diverging colour map (red above, blue below; white
everywhere for FiLM, whose vectors are the same at every pixel); each panel's title gives the
map's minimum and maximum. The files are read as `translate` reads them (same formats, value
mapping and ``--depth`` handling). A generator without FT stages (input_concat,
feature_concat) has no maps: exit status 2 and one line.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import BadFileError, BadOptionError
from ..evaluation.study import explain_figure
from ..files.outputs import check_outputs_apart
from ..nn.devices import resolve_device
from ..nn.explain import ft_stages
from ..training.run_folder import load_generator
from .translate import DEPTH_MODES, _load_input, check_pair, sensor_depth_mode


def add_arguments(parser) -> None:
    parser.add_argument("--checkpoint", required=True, help="generator folder, run folder or pretrained:NAME")
    parser.add_argument("--input", required=True, type=Path, help="input image file")
    parser.add_argument("--guide", required=True, type=Path, help="guide file (.npy/.npz: many channels)")
    parser.add_argument("--out", required=True, type=Path, help="the figure, a .png file")
    parser.add_argument("--device", default="auto", help="auto (best available), cpu, cuda, cuda:N, mps")
    parser.add_argument(
        "--depth",
        choices=DEPTH_MODES,
        default="auto",
        help="how to read a depth input, as for translate (default auto: sensor for depth models)",
    )


def run(args) -> int:
    if args.out.suffix.lower() != ".png":
        raise BadOptionError("--out", f"the figure is written as PNG: give a .png file, not {args.out}")
    for option, path in (("--input", args.input), ("--guide", args.guide)):
        if not path.is_file():
            raise BadFileError(path, f"no such file ({option})")
    check_outputs_apart(
        args.out, [args.out], files=[args.input, args.guide], files_are="the input or guide files"
    )
    model, folder = load_generator(args.checkpoint, resolve_device(args.device))
    ft_stages(model)  # no FT stages: one line, before any file is read
    sensor = sensor_depth_mode(model, args.depth)
    hw = check_pair(model, args.input, args.guide, sensor)
    input, _ = _load_input(args.input, hw, sensor)
    guide, _ = _load_input(args.guide, hw, False)
    title = f"{model.config.conditioning}: {folder}"
    stages = explain_figure(model, input, guide, args.out, title=title)
    for stage in stages:
        for direction, maps in stage.directions.items():
            spread = [
                float(t.mean(dim=1)[0].std()) if t.shape[-1] * t.shape[-2] > 1 else 0.0
                for t in (maps.gamma, maps.beta)
            ]
            print(
                f"stage {stage.index} ({stage.size[0]}x{stage.size[1]}, {stage.channels} channels) {direction}: "
                f"gamma [{float(maps.gamma.min()):.4g}, {float(maps.gamma.max()):.4g}], "
                f"beta [{float(maps.beta.min()):.4g}, {float(maps.beta.max()):.4g}], "
                f"spatial std of the channel means {spread[0]:.3g} / {spread[1]:.3g}"
            )
    print(f"wrote {args.out}", file=sys.stderr)
    return 0
