"""`guided-pix2pix data ...`: write, preview and time the embedded synthetic tasks.

- ``data synth --task T --out DIR --count N --size H W --seed S [--scale 8 --protocol A]``
  writes items as folder triplets (``DIR/{input,guide,target}/NNNNNN.*`` plus ``meta.json``)
  that `guided_pix2pix.data.FolderDataset` reads back: depth as 16-bit PNG, RGB as 8-bit
  PNG, heat-maps and LAB arrays as float32 ``.npy`` in [-1, 1].
- ``data preview --task T --out FILE.png`` saves a grid of samples (input | guide | target).
- ``data bench --task T --size H W --count N`` prints samples/s on one thread as JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from ..data.visualize import lab_to_display_rgb
from ..errors import BadOptionError
from ..files.atomic import write_text_atomic
from ..files.images import write_image
from ..files.values import from_signed_unit

TASKS = ("depth", "pose", "texture")


def preset_size(task: str) -> tuple[int, int]:
    """The image size the task's synthetic preset (`synthetic_<task>`) trains at."""
    from ..training.config import load_config

    h, w = load_config(f"synthetic_{task}").data.options["size"]
    return int(h), int(w)


def _dataset(args, count: int | None = None):
    from ..data import build_dataset

    size = tuple(args.size) if args.size is not None else preset_size(args.task)
    options = {"size": size, "count": count or args.count, "seed": args.seed}
    if args.task == "depth":
        options.update(scale=args.scale, protocol=args.protocol)
    return build_dataset(f"synthetic_{args.task}", split=args.split, **options)


# task -> role -> (file suffix, file dtype); `files.values.from_signed_unit` writes what FolderDataset reads
U8, U16, F32 = np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32)
WRITERS: dict[str, dict[str, tuple[str, np.dtype]]] = {
    "depth": {"input": (".png", U16), "guide": (".png", U8), "target": (".png", U16)},
    "pose": {"input": (".png", U8), "guide": (".npy", F32), "target": (".png", U8)},
    "texture": {"input": (".npy", F32), "guide": (".npy", F32), "target": (".npy", F32)},
}


def _common(p: argparse.ArgumentParser, count: int) -> None:
    p.add_argument("--task", choices=TASKS, required=True, help="synthetic task")
    p.add_argument(
        "--size",
        type=int,
        nargs=2,
        default=None,
        metavar=("H", "W"),
        help="pixels (default: the size the task's synthetic_<task> preset trains at: depth 128x128, "
        "pose and texture 64x64)",
    )
    p.add_argument("--count", type=int, default=count, help="number of items")
    p.add_argument("--seed", type=int, default=0, help="random seed (item i of a seed is always the same)")
    p.add_argument("--split", choices=("train", "val", "test"), default="train", help="item stream")
    p.add_argument("--scale", type=int, default=8, help="depth: up-sampling factor (4, 8, 16)")
    p.add_argument("--protocol", choices=("A", "B"), default="A", help="depth: A interval, B bicubic")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", parser_class=type(parser))
    sub.required = True
    synth = sub.add_parser("synth", help="write synthetic items as folder triplets")
    _common(synth, 100)
    synth.add_argument("--out", type=Path, required=True, help="output folder")
    synth.set_defaults(_data_run=_synth)
    preview = sub.add_parser("preview", help="save a picture of samples (input | guide | target)")
    _common(preview, 4)
    preview.add_argument("--out", type=Path, required=True, help="output .png")
    preview.set_defaults(_data_run=_preview)
    bench = sub.add_parser("bench", help="print generation samples/s (one thread) as JSON")
    _common(bench, 50)
    bench.set_defaults(_data_run=_bench)


def _synth(args) -> int:
    ds = _dataset(args)
    out: Path = args.out
    if out.exists() and any(out.iterdir()):
        raise BadOptionError("--out", f"{out} exists and is not empty")
    meta = {"task": ds.task, "items": {}}
    for i in range(len(ds)):
        item = ds[i]
        stem = f"{i:06d}"
        for role, (suffix, dtype) in WRITERS[args.task].items():
            write_image(out / role / f"{stem}{suffix}", from_signed_unit(item[role], dtype))
        extra = {k: float(v) for k, v in item["meta"].items() if k != "id"}
        if extra:
            meta["items"][stem] = extra
    write_text_atomic(out / "meta.json", json.dumps(meta, indent=1))
    print(f"wrote {len(ds)} {args.task} items to {out}")
    return 0


def _panel(task: str, item: dict) -> np.ndarray:
    """(H, 3W, 3) uint8: input | guide | target, each shown as a picture."""

    def rgb(x):
        return from_signed_unit(x, U8)

    def grey(x):
        return np.repeat(rgb(x[:1]), 3, 2)

    def lab(x):
        return (
            (lab_to_display_rgb(x[None].double())[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        )

    if task == "depth":
        cells = [grey(item["input"]), rgb(item["guide"]), grey(item["target"])]
    elif task == "pose":
        cells = [
            rgb(item["input"]),
            grey(item["guide"].max(0, keepdim=True).values),
            rgb(item["target"]),
        ]
    else:
        sketch = grey(item["input"])
        guide = sketch.copy()
        inside = item["guide"][3].numpy() > 0
        guide[inside] = lab(item["guide"][:3])[inside]
        cells = [sketch, guide, lab(item["target"])]
    return np.concatenate(cells, 1)


def _preview(args) -> int:
    ds = _dataset(args)
    rows = [_panel(args.task, ds[i]) for i in range(len(ds))]
    gap = np.full((4, rows[0].shape[1], 3), 255, np.uint8)
    grid = np.concatenate([r for row in rows for r in (row, gap)][:-1], 0)
    write_image(args.out, grid)
    print(f"wrote {args.out}")
    return 0


def _bench(args) -> int:
    if args.count < 1:  # the dataset is built with count + 2 (warm-up items), so check it here
        raise BadOptionError("--count", f"expected an integer >= 1, got {args.count}")
    torch.set_num_threads(1)
    ds = _dataset(args, count=args.count + 2)
    ds[args.count]  # warm caches (texture photos, imports)
    start = time.perf_counter()
    for i in range(args.count):
        ds[i]
    seconds = time.perf_counter() - start
    report = {
        "task": args.task,
        "size": list(args.size),
        "count": args.count,
        "samples_per_s_per_core": round(args.count / seconds, 2),
        "threads": 1,
        "machine": f"{platform.processor() or platform.machine()}, {platform.system()}",
    }
    print(json.dumps(report))
    return 0


def run(args) -> int:
    return args._data_run(args)
