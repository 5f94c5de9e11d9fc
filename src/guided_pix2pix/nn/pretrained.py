"""Generators that ship inside the package, loaded by name: ``pretrained:NAME``.

Each lives in ``guided_pix2pix/pretrained/NAME/`` as a `save_pretrained` folder (config.json +
model.safetensors), and ``pretrained/index.json`` records for each: what it is, the command
that made it, how it was selected, and the SHA-256 of both files, checked at every load, so a
damaged or replaced file is refused. ``Generator.from_pretrained("pretrained:depth_x8")``,
``translate --checkpoint pretrained:depth_x8`` and ``evaluate --checkpoint pretrained:depth_x8``
all resolve through `resolve_pretrained`; ``guided-pix2pix pretrained list`` prints the index.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import BadFileError, BadOptionError
from ..files.atomic import sha256_file

PREFIX = "pretrained:"
PACKAGE_DIR = "pretrained"
INDEX = "index.json"


def pretrained_root() -> Path:
    return Path(str(resources.files("guided_pix2pix").joinpath(PACKAGE_DIR)))


def pretrained_index() -> dict[str, dict[str, Any]]:
    """name -> {"description", "command", "selection", "sha256": {file: hex}, ...} of what ships."""
    path = pretrained_root() / INDEX
    if not path.is_file():
        return {}
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadFileError(path, f"unreadable index of the shipped models ({exc})") from exc
    if not isinstance(index, dict) or not all(isinstance(v, dict) for v in index.values()):
        raise BadFileError(path, "the index of the shipped models must map names to records")
    return index


def is_pretrained_name(path: str | Path) -> bool:
    return str(path).startswith(PREFIX)


def resolve_pretrained(name: str | Path) -> Path:
    """The folder of shipped model ``pretrained:NAME`` (or NAME), after checking its SHA-256s."""
    key = str(name)[len(PREFIX) :] if is_pretrained_name(name) else str(name)
    index = pretrained_index()
    if key not in index:
        shipped = ", ".join(sorted(index)) or "none in this installation"
        raise BadOptionError("--checkpoint", f"no shipped model {PREFIX}{key}; shipped: {shipped}")
    folder = pretrained_root() / key
    sums = index[key].get("sha256")
    if not isinstance(sums, dict) or not sums:
        raise BadFileError(pretrained_root() / INDEX, f"{key}: no checksums recorded")
    for rel, digest in sums.items():
        path = folder / rel
        if not path.is_file():
            raise BadFileError(path, f"missing file of the shipped model {PREFIX}{key}")
        if sha256_file(path) != digest:
            raise BadFileError(path, f"checksum mismatch: the shipped model {PREFIX}{key} is damaged")
    return folder
