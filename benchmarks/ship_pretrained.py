"""Copy a finished run's generator into the package as ``pretrained:NAME`` and record it.

    python benchmarks/ship_pretrained.py runs/pretrained_depth_x8 depth_x8 \
        --preset pretrained_depth_x8 --description "..." \
        --command "guided-pix2pix train --config pretrained_depth_x8 --out runs/pretrained_depth_x8"

Writes ``src/guided_pix2pix/pretrained/NAME/{config.json,model.safetensors}`` and its record in
``pretrained/index.json``: the description and command, the run config (preset + overrides, so
``evaluate --checkpoint pretrained:NAME`` knows its data), the selection rule, the run's last
synthetic validation scores (from its metrics.jsonl), the stored dtype and the SHA-256 of both
files.

The weights are stored as float16 by default (half the bytes, so six models fit the package's
20 MB budget); `Generator.from_pretrained` loads them into its float32 parameters, so inference
runs in float32 exactly as before up to the rounding of each weight (relative 2**-11; the
shipped models' Middlebury errors move by at most 0.01 cm, docs/results.md).
``--recast NAME`` re-stores an already shipped model in ``--dtype`` and updates its record.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch

from guided_pix2pix.files.atomic import sha256_file, write_atomic, write_text_atomic
from guided_pix2pix.nn.generator import CONFIG_NAME, WEIGHTS_NAME, Generator
from guided_pix2pix.nn.pretrained import INDEX, pretrained_index, pretrained_root

SELECTION = (
    "the run's last checkpoint, fixed budget; the preset was fixed before any real-image number "
    "was looked at, and only synthetic validation scores are recorded as its selection data"
)
DTYPES = {"float16": torch.float16, "float32": torch.float32}


def store_weights(source: Path, dest: Path, dtype: str) -> None:
    """Write `source`'s tensors to `dest` with every floating-point tensor cast to `dtype`."""
    from safetensors.torch import load_file, save_file

    state = load_file(str(source))
    cast = {k: v.to(DTYPES[dtype]) if v.dtype.is_floating_point else v for k, v in state.items()}
    for key, value in cast.items():
        if not bool(torch.isfinite(value).all()):
            raise SystemExit(f"{source}: tensor {key} does not fit {dtype} (overflows)")
    write_atomic(dest, lambda p: save_file(cast, str(p), metadata={"format": "pt"}))


def save_index(index: dict, name: str) -> None:
    dest = pretrained_root() / name
    index[name]["sha256"] = {n: sha256_file(dest / n) for n in (CONFIG_NAME, WEIGHTS_NAME)}
    write_text_atomic(pretrained_root() / INDEX, json.dumps(index, indent=1, sort_keys=True) + "\n")
    Generator.from_pretrained(f"pretrained:{name}")  # the checksums and the tensors load back
    print(json.dumps({name: index[name]["sha256"]}))


def recast(name: str, dtype: str) -> None:
    index = pretrained_index()
    if name not in index:
        raise SystemExit(f"no shipped model {name}; shipped: {', '.join(sorted(index))}")
    path = pretrained_root() / name / WEIGHTS_NAME
    store_weights(path, path, dtype)
    index[name]["weights_dtype"] = dtype
    save_index(index, name)


def ship(args: argparse.Namespace) -> None:
    Generator.from_pretrained(args.run / "generator")  # refuse a broken folder
    dest = pretrained_root() / args.name
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args.run / "generator" / CONFIG_NAME, dest / CONFIG_NAME)
    store_weights(args.run / "generator" / WEIGHTS_NAME, dest / WEIGHTS_NAME, args.dtype)
    records = [json.loads(line) for line in (args.run / "metrics.jsonl").read_text().splitlines()]
    val = [r for r in records if any(k.startswith("val/") for k in r)]
    index = pretrained_index()
    index[args.name] = {
        "description": args.description,
        "command": args.command,
        "config": {"preset": args.preset, "overrides": []},
        "selection": SELECTION,
        "results": {"synthetic validation (last)": {k: v for k, v in val[-1].items() if k.startswith("val/")}}
        if val
        else {},
        "weights_dtype": args.dtype,
    }
    save_index(index, args.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "run", type=Path, nargs="?", help="a finished run folder (holding generator/ and metrics.jsonl)"
    )
    parser.add_argument("name", nargs="?", help="the shipped name, e.g. depth_x8")
    parser.add_argument("--command", help="the command that made the run")
    parser.add_argument("--preset", help="the run's preset (for evaluate's data)")
    parser.add_argument("--description")
    parser.add_argument(
        "--dtype", choices=sorted(DTYPES), default="float16", help="how the weights are stored"
    )
    parser.add_argument("--recast", metavar="NAME", help="re-store the shipped NAME's weights in --dtype")
    args = parser.parse_args()
    if args.recast:
        recast(args.recast, args.dtype)
        return
    missing = [f"--{k}" for k in ("command", "preset", "description") if not getattr(args, k)]
    if args.run is None or args.name is None or missing:
        parser.error("shipping a run needs RUN NAME --command --preset --description")
    ship(args)


if __name__ == "__main__":
    main()
