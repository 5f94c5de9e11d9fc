"""Which files `translate` reads and writes, checked before anything runs: the (input, guide,
output) plan of its arguments, the check that no output overwrites an input or a guide, the
channel and size checks of a pair from its headers, and the dtype each output is written in.
Torch-free, so that `translate --onnx` (`commands.translate_onnx`) plans and checks exactly as
`translate --checkpoint` does."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import BadFileError, BadOptionError
from ..files.images import pair_by_stem
from ..files.outputs import check_outputs_apart


def plan_pairs(args) -> list[tuple[Path, Path, Path]]:
    """(input file, guide file, output file) for every pair the arguments name."""
    for option, path in (("--input", args.input), ("--guide", args.guide)):
        if not path.exists():
            raise BadFileError(path, f"no such file or folder ({option})")
    if args.input.is_dir() != args.guide.is_dir():
        raise BadOptionError("--guide", "give two files or two folders for --input and --guide")
    if args.input.is_dir():
        if args.out.exists() and not args.out.is_dir():
            raise BadOptionError("--out", f"{args.out} is a file; folder inputs need an output folder")
        return [
            (i, g, args.out / i.name) for _, i, g in pair_by_stem(args.input, args.guide, ("input", "guide"))
        ]
    out = args.out
    if out.is_dir() or not out.suffix:
        out = out / args.input.name
    return [(args.input, args.guide, out)]


def check_plan_apart(args, plan) -> None:
    """Refuse an --out that would overwrite what the user gave: an output path that is an input
    or guide file, or lies inside the --input or --guide folder (exit 2, before any write)."""
    check_outputs_apart(
        args.out,
        [out for _, _, out in plan],
        folders=[("--input", args.input), ("--guide", args.guide)],
        files=[p for i, g, _ in plan for p in (i, g)],
        files_are="the input or guide files",
    )


def check_pair_shapes(
    input_path: Path,
    guide_path: Path,
    input_hwc: tuple[int, int, int],
    guide_hwc: tuple[int, int, int],
    model_nc: tuple[int, int],
    sensor: bool,
) -> tuple[int, int]:
    """(H, W) of the output, the guide's size, after checking a pair's channels against the
    model's (input_nc, guide_nc) and its sizes: sensor depth may be smaller than its guide (it
    is up-sampled), otherwise the two sizes match."""
    (h, w, c_in), (gh, gw, c_g) = input_hwc, guide_hwc
    for path, role, got, want in (
        (input_path, "input", c_in, model_nc[0]),
        (guide_path, "guide", c_g, model_nc[1]),
    ):
        if got != want:
            raise BadFileError(path, f"the model expects {want} {role} channels, received {got}")
    if sensor and h <= gh and w <= gw:
        return gh, gw
    if (gh, gw) != (h, w):
        more = " (sensor depth may be smaller than its guide, not larger)" if sensor else ""
        raise BadFileError(
            guide_path, f"size {gh}x{gw} (HxW) differs from its input {input_path.name} ({h}x{w}){more}"
        )
    return h, w


def output_dtype(input_dtype: np.dtype, out_path: Path, channels: int) -> np.dtype:
    """The dtype an output is written in: the input's, checked against what the format can hold."""
    suffix = out_path.suffix.lower()
    if input_dtype == np.uint16 and suffix in (".png",) and channels != 1:
        raise BadFileError(out_path, f"a 16-bit PNG holds 1 channel, the model writes {channels}; use .tif")
    if input_dtype == np.uint16 and suffix in (".jpg", ".jpeg", ".bmp"):
        raise BadFileError(out_path, "16-bit input: write the output as .png, .tif or .npy")
    if input_dtype not in (np.uint8, np.uint16) and suffix not in (".npy", ".tif", ".tiff"):
        raise BadFileError(out_path, "float input: write the output as .npy or .tif")
    return input_dtype
