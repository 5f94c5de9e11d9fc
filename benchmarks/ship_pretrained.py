"""Copy a finished run's generator into the package as ``pretrained:NAME`` and record it.

    python benchmarks/ship_pretrained.py runs/pretrained_depth_x8 depth_x8 \
        --command "guided-pix2pix train --config pretrained_depth_x8 --out runs/pretrained_depth_x8"

Writes ``src/guided_pix2pix/pretrained/NAME/{config.json,model.safetensors}`` and its record in
``pretrained/index.json``: the description and command, the run config (preset + overrides, so
``evaluate --checkpoint pretrained:NAME`` knows its data), the selection rule, the run's last
synthetic validation scores (from its metrics.jsonl), and the SHA-256 of both files.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from guided_pix2pix.files.atomic import sha256_file, write_text_atomic
from guided_pix2pix.nn.generator import CONFIG_NAME, WEIGHTS_NAME, Generator
from guided_pix2pix.nn.pretrained import INDEX, pretrained_root

SELECTION = (
    "the run's last checkpoint, fixed budget; the preset was fixed before any real-image number "
    "was looked at, and only synthetic validation scores are recorded as its selection data"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a finished run folder (holding generator/ and metrics.jsonl)")
    parser.add_argument("name", help="the shipped name, e.g. depth_x8")
    parser.add_argument("--command", required=True, help="the command that made the run")
    parser.add_argument("--preset", required=True, help="the run's preset (for evaluate's data)")
    parser.add_argument("--description", required=True)
    args = parser.parse_args()

    Generator.from_pretrained(args.run / "generator")  # refuse a broken folder
    dest = pretrained_root() / args.name
    dest.mkdir(parents=True, exist_ok=True)
    for name in (CONFIG_NAME, WEIGHTS_NAME):
        shutil.copyfile(args.run / "generator" / name, dest / name)
    records = [json.loads(line) for line in (args.run / "metrics.jsonl").read_text().splitlines()]
    val = [r for r in records if any(k.startswith("val/") for k in r)]
    index_path = pretrained_root() / INDEX
    index = json.loads(index_path.read_text()) if index_path.is_file() else {}
    index[args.name] = {
        "description": args.description,
        "command": args.command,
        "config": {"preset": args.preset, "overrides": []},
        "selection": SELECTION,
        "results": {"synthetic validation (last)": {k: v for k, v in val[-1].items() if k.startswith("val/")}}
        if val
        else {},
        "sha256": {name: sha256_file(dest / name) for name in (CONFIG_NAME, WEIGHTS_NAME)},
    }
    write_text_atomic(index_path, json.dumps(index, indent=1, sort_keys=True) + "\n")
    print(json.dumps({args.name: index[args.name]["sha256"]}))


if __name__ == "__main__":
    main()
