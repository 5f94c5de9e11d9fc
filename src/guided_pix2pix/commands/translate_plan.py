"""Which files `translate` reads and writes: the (input, guide, output) plan of its arguments,
and the check that no output overwrites an input or a guide. Torch-free, so that `translate
--onnx` (`commands.translate_onnx`) plans exactly as `translate --checkpoint` does."""

from __future__ import annotations

from pathlib import Path

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
