"""`guided-pix2pix pretrained list`: the generators that ship with the package (`nn.pretrained`)."""

from __future__ import annotations

import json


def add_arguments(parser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    listing = actions.add_parser(
        "list", help="print each shipped model, what it is and the command that made it"
    )
    listing.add_argument("--json", action="store_true", help="print the index as JSON")


def run(args) -> int:
    from ..nn.pretrained import PREFIX, pretrained_index, resolve_pretrained

    index = pretrained_index()
    if args.json:
        print(json.dumps(index, indent=1))
        return 0
    if not index:
        print("no pretrained models ship with this installation")
    for name, record in sorted(index.items()):
        folder = resolve_pretrained(name)  # checks the SHA-256 of every file
        size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
        print(f"{PREFIX}{name}  ({size / 2**20:.1f} MiB)  {record.get('description', '')}")
        print(f"    made by:  {record.get('command', '?')}")
        print(f"    selected: {record.get('selection', '?')}")
        if "weights_dtype" in record:  # float16 halves the package; the parameters load as float32
            print(f"    weights:  stored as {record['weights_dtype']}, run in float32")
        for key, value in record.get("results", {}).items():
            print(f"    {key}: {value}")
    return 0
