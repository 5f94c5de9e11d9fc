"""Training checkpoints: written atomically, verified by checksum, kept last-K.

A checkpoint is a folder `checkpoints/step_XXXXXXXX/` holding
  state.pt      everything needed to resume (tensors and plain containers only, so it loads
                with `torch.load(weights_only=True)`)
  generator/    the generator alone, by `save_pretrained` (for translate / evaluate)
  meta.json     step and the SHA-256 of every file above
It is written under a temporary name, each file flushed and fsynced, and renamed into place
last, so a kill at any moment leaves either the whole checkpoint or none of it. On resume a
checkpoint whose files fail their checksum is reported and the previous one used.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import torch

from ..errors import BadFileError
from ..files.atomic import atomic_folder, sha256_file
from ..files.safe_load import load_torch_weights

PREFIX = "step_"
META = "meta.json"
STATE = "state.pt"
GENERATOR = "generator"


class _RecordingFile:
    """A binary file whose `write` remembers the OSError it raised: torch.save reports a failed
    write (a full disk) as a RuntimeError without the cause, and this keeps the cause."""

    def __init__(self, fh):
        self.fh, self.error = fh, None

    def write(self, data) -> int:
        try:
            return self.fh.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        self.fh.flush()


def torch_save(obj, path: Path) -> None:
    """`torch.save(obj, path)`, flushed and fsynced; a failed write raises its OSError."""
    with open(path, "wb") as fh:
        out = _RecordingFile(fh)
        try:
            torch.save(obj, out)  # type: ignore[arg-type]  # any object with write/flush works; the stub wants IO[bytes]
        except RuntimeError:
            if out.error is not None:
                raise out.error from None
            raise
        fh.flush()
        os.fsync(fh.fileno())


def checkpoint_dir(root: Path, step: int) -> Path:
    return root / f"{PREFIX}{step:08d}"


def save_checkpoint(root: Path, step: int, state: dict, generator, keep_last: int) -> Path:
    """Write checkpoint `step` under `root` atomically; then delete all but the newest `keep_last`."""
    final = checkpoint_dir(root, step)
    with atomic_folder(final, f"checkpoint write failed at step {step}") as tmp:
        torch_save(state, tmp / STATE)
        generator.save_pretrained(tmp / GENERATOR)
        files = sorted(p for p in tmp.rglob("*") if p.is_file())
        meta = {"step": step, "sha256": {str(p.relative_to(tmp)): sha256_file(p) for p in files}}
        (tmp / META).write_text(json.dumps(meta, indent=1))  # inside the folder that is renamed last
    for old in list_checkpoints(root)[:-keep_last]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(root: Path) -> list[Path]:
    """Complete checkpoint folders under `root`, oldest first (temporary folders are ignored)."""
    if not root.is_dir():
        return []
    found = [
        p
        for p in root.iterdir()
        if p.is_dir() and p.name.startswith(PREFIX) and p.name[len(PREFIX) :].isdigit()
    ]
    return sorted(found, key=lambda p: int(p.name[len(PREFIX) :]))


def verify_checkpoint(folder: Path) -> None:
    """Raise BadFileError unless every file listed in meta.json is present with its checksum."""
    meta_path = folder / META
    try:
        meta = json.loads(meta_path.read_text())
        sums = meta["sha256"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BadFileError(meta_path, f"missing or unreadable checkpoint metadata ({exc})") from exc
    for rel, digest in sums.items():
        path = folder / rel
        if not path.is_file():
            raise BadFileError(path, "missing file listed in the checkpoint metadata")
        if sha256_file(path) != digest:
            raise BadFileError(path, "checksum mismatch: the file changed or is corrupt")


def load_latest_checkpoint(root: Path, log=None) -> tuple[Path, dict] | None:
    """The newest checkpoint that passes its checksums, as (folder, state); None if there is none.

    A checkpoint that fails is reported through `log` (stderr by default) and skipped."""
    log = log or (lambda msg: print(msg, file=sys.stderr))
    for folder in reversed(list_checkpoints(root)):
        try:
            verify_checkpoint(folder)
            return folder, load_torch_weights(folder / STATE)
        except BadFileError as exc:
            log(f"warning: skipping checkpoint {folder.name}: {exc}")
    return None
