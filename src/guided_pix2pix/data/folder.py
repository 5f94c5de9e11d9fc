"""Folder triplets: the user's own data as ``ROOT/{input,guide,target}/`` matched by file stem.

Layout::

    ROOT/input/NAME.png     required
    ROOT/guide/NAME.npy     required, same stem; any supported type (multi-channel: .npy/.npz)
    ROOT/target/NAME.png    optional (absent: an inference folder, items have no "target")
    ROOT/mask/NAME.png      optional, 1 channel, nonzero = valid target pixel
    ROOT/meta.json          optional: {"task": "depth", "items": {"NAME": {"depth_min_m": ...}}}

File types: PNG (8 / 16 bit), JPEG, TIFF, BMP, ``.npy`` / ``.npz`` (see `guided_pix2pix.files.images`).
Values (`guided_pix2pix.files.values`): uint8 / 255 and uint16 / 65535 are mapped to [-1, 1];
float arrays must already hold values in [-1, 1] (used as stored, like the official pose
heat-maps) and be finite.
1-channel and non-square images are fine; within one folder every file of one role must have
the same channel count, and the files of one stem must share height and width.

Opening the dataset scans it: every file's header is read (sizes, channels) and partners are
matched, so a missing partner, a size or channel disagreement, or an unreadable header is
reported before training starts, naming the file. ``verify=True`` also decodes every file at
open time (catches truncated files and NaN early). ``on_error="skip"`` drops bad stems at
scan time and bad reads at read time instead, logging and counting them in `skipped`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..errors import BadFileError, BadOptionError
from ..files.images import files_by_stem, probe_image, read_image
from ..files.values import to_signed_unit
from .base import ItemDataset

ROLES = ("input", "guide", "target", "mask")
TASKS = ("depth", "pose", "texture", "generic")


class FolderDataset(ItemDataset):
    """Items from ``ROOT/{input,guide,target}/`` files matched by stem (see the module docstring).

    root: the folder; for `build_dataset("folder", split=S, root=R)` the folder ``R/S`` is used
    when it exists, else R itself. channels: optional (input_nc, guide_nc, output_nc) the files
    must have (a mismatch names the file). task: "depth" | "pose" | "texture" | "generic"
    (default: from meta.json, else "generic"). verify: decode every file at open time.
    `channels` of the dataset is (input_nc, guide_nc, output_nc); output_nc is None without target/.
    """

    def __init__(
        self,
        root,
        split: str | None = None,
        on_error: str = "raise",
        channels=None,
        task: str | None = None,
        verify: bool = False,
    ):
        super().__init__(on_error=on_error)
        root = Path(root)
        if split is not None and (root / split / "input").is_dir():
            root = root / split
        self.root = root
        if not root.is_dir():
            raise BadFileError(root, "no such folder")
        for role in ("input", "guide"):
            if not (root / role).is_dir():
                raise BadFileError(
                    root / role, f"missing: a folder dataset needs {role}/ beside input/, guide/"
                )
        self.roles = [r for r in ROLES if (root / r).is_dir()]
        listing = {role: files_by_stem(root / role) for role in self.roles}
        meta = self._read_meta(root / "meta.json")
        self.task = task or meta.get("task", "generic")
        if self.task not in TASKS:
            raise BadOptionError("task", f"{self.task!r} is not one of {', '.join(TASKS)}")
        self.item_meta = meta.get("items", {})
        self.sizes: dict[Path, tuple[int, int]] = {}  # input file -> (H, W) from its header
        self.items = self._scan(listing, expected=channels, verify=verify)
        if not self.items:
            raise BadFileError(root / "input", "no usable input files found")
        self._check_meta()

    # ---------------------------------------------------------------- scan
    @staticmethod
    def _read_meta(path: Path) -> dict:
        if not path.exists():
            return {}
        try:
            meta = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise BadFileError(path, f"not valid JSON ({exc})") from exc
        if not isinstance(meta, dict) or not isinstance(meta.get("items", {}), dict):
            raise BadFileError(path, 'expected {"task": ..., "items": {stem: {...}}}')
        return meta

    def _check_meta(self) -> None:
        if not self.item_meta:
            return
        keys = None
        for stem, _ in self.items:
            entry = self.item_meta.get(stem)
            if not isinstance(entry, dict):
                raise BadFileError(self.root / "meta.json", f"no entry for item {stem!r}")
            if keys is None:
                keys = set(entry)
            elif set(entry) != keys:
                raise BadFileError(
                    self.root / "meta.json", f"item {stem!r} has keys {sorted(entry)}, not {sorted(keys)}"
                )
            for k, v in entry.items():
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
                    raise BadFileError(self.root / "meta.json", f"item {stem!r}: {k} must be a finite number")

    def _scan(self, listing: dict, expected, verify: bool) -> list[tuple[str, dict[str, Path]]]:
        inputs = listing["input"]
        for role in self.roles[1:]:  # files whose input partner is missing
            for stem, path in listing[role].items():
                if stem not in inputs:
                    self._bad(BadFileError(path, f"no partner input/{stem}.* for this {role} file"))
        role_channels: dict[str, tuple[int, Path]] = {}
        if expected is not None:
            expected = tuple(expected)
            for role, nc in zip(("input", "guide", "target"), expected):
                if nc is not None:
                    role_channels[role] = (int(nc), Path(f"channels option ({role})"))
        items = []
        for stem, in_path in inputs.items():
            try:
                paths = {"input": in_path}
                for role in self.roles[1:]:
                    if stem not in listing[role]:
                        if role == "mask":
                            raise BadFileError(
                                in_path, "no partner in mask/ (mask/ exists, so every item needs one)"
                            )
                        raise BadFileError(in_path, f"no partner {role}/{stem}.* for this input file")
                    paths[role] = listing[role][stem]
                self._check_item(paths, role_channels, verify)
                items.append((stem, paths))
            except BadFileError as exc:
                self._bad(exc)
        nc = {r: role_channels[r][0] if r in role_channels else None for r in ("input", "guide", "target")}
        self.channels = (nc["input"], nc["guide"], nc["target"])
        return items

    def _bad(self, exc: BadFileError) -> None:
        if self.on_error != "skip":
            raise exc
        self.record_skip(exc)

    def _check_item(self, paths: dict[str, Path], role_channels: dict, verify: bool) -> None:
        shapes = {role: probe_image(path) for role, path in paths.items()}
        H, W, _ = shapes["input"]
        self.sizes[paths["input"]] = (H, W)
        for role, (h, w, c) in shapes.items():
            if (h, w) != (H, W):
                raise BadFileError(
                    paths[role], f"size {h}x{w} differs from input/{paths['input'].name} ({H}x{W})"
                )
            if role == "mask":
                if c != 1:
                    raise BadFileError(paths[role], f"a mask must have 1 channel, found {c}")
                continue
            if role in role_channels and role_channels[role][0] != c:
                want, first = role_channels[role]
                raise BadFileError(paths[role], f"has {c} channels, expected {want} (as {first})")
        for role, (_, _, c) in shapes.items():
            if role != "mask":
                role_channels.setdefault(role, (c, paths[role]))
        if verify:
            self._read(paths, check_channels=False)  # channels were just checked from headers

    # ---------------------------------------------------------------- items
    def __len__(self) -> int:
        return len(self.items)

    def _read(self, paths: dict[str, Path], check_channels: bool = True) -> dict:
        out = {}
        shape = None
        for role, path in paths.items():
            arr = read_image(path)
            if shape is None:
                shape = arr.shape[:2]
            elif arr.shape[:2] != shape:
                raise BadFileError(
                    path, f"size {arr.shape[0]}x{arr.shape[1]} differs from its input ({shape[0]}x{shape[1]})"
                )
            if role == "mask":
                if arr.shape[2] != 1:
                    raise BadFileError(path, f"a mask must have 1 channel, found {arr.shape[2]}")
                out[role] = torch.from_numpy((arr[:, :, 0] != 0).astype(np.float32))[None]  # (1, H, W)
            else:
                out[role] = to_signed_unit(arr, path)
                want = self.channels[("input", "guide", "target").index(role)] if check_channels else None
                if want is not None and out[role].shape[0] != want:
                    raise BadFileError(path, f"has {out[role].shape[0]} channels, expected {want}")
        return out

    def load_item(self, index: int) -> dict:
        stem, paths = self.items[index]
        item = self._read(paths)
        item["meta"] = {"id": stem, **{k: float(v) for k, v in self.item_meta.get(stem, {}).items()}}
        return item
