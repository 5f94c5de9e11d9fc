"""`guided-pix2pix export`: a generator as an ONNX file or a torch.export archive, checked.

``guided-pix2pix export --checkpoint DIR_OR_pretrained:NAME --format onnx|torch-export --out FILE
[--dynamic] [--size H W]`` traces the generator (`nn.export`), writes FILE (.onnx or .pt2),
runs it against PyTorch eager on seeded inputs (at --size, and with --dynamic at a second,
larger non-square size with a batch of 2) and prints what it wrote and the largest difference
at each size; a file that differs by more than 1e-4 is not written (exit 2).

--dynamic: height and width are free within the backbone's size rule (multiples of 8 from 16 for
ResNet, of 2**n_layers for U-Net); without it they are fixed at --size (default: the smallest
size of at least 64 x 64 the backbone takes); the batch is free either way. An ONNX file carries
the generator config, the size rule and the task in its metadata_props, for ``translate --onnx``.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import BadOptionError

FORMATS = ("onnx", "torch-export")  # = nn.export.FORMATS (kept equal by a test)
SUFFIXES = {"onnx": ".onnx", "torch-export": ".pt2"}


def add_arguments(parser) -> None:
    parser.add_argument(
        "--checkpoint",
        required=True,
        help="generator folder (save_pretrained), run folder or pretrained:NAME",
    )
    parser.add_argument(
        "--format", required=True, choices=FORMATS, help="onnx (.onnx) or torch-export (.pt2)"
    )
    parser.add_argument("--out", required=True, type=Path, help="the file to write (.onnx or .pt2)")
    parser.add_argument(
        "--dynamic", action="store_true", help="free height and width (within the backbone's size rule)"
    )
    parser.add_argument(
        "--size",
        nargs=2,
        type=int,
        metavar=("H", "W"),
        help="the fixed size (without --dynamic) and the first size checked (default: 64 x 64 or the "
        "backbone's smallest size)",
    )


def run(args) -> int:
    suffix = SUFFIXES[args.format]
    if args.out.suffix.lower() != suffix:
        raise BadOptionError("--out", f"--format {args.format} writes a {suffix} file, not {args.out.name!r}")
    if args.out.is_dir():
        raise BadOptionError("--out", f"{args.out} is a folder; give the file to write")

    from ..nn.export import export_generator
    from ..training.model_task import generator_task
    from ..training.run_folder import load_generator

    model, folder = load_generator(args.checkpoint, "cpu")
    result = export_generator(
        model,
        args.out,
        args.format,
        dynamic=args.dynamic,
        size=tuple(args.size) if args.size else None,
        task=generator_task(model, folder, args.checkpoint),
    )
    for line in result.describe():
        print(line)
    return 0
