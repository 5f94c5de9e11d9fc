"""Training checkpoints: written atomically, verified by checksum, kept last-K.

A checkpoint is a folder `checkpoints/step_XXXXXXXX/` holding
  state.pt      everything needed to resume (tensors and plain containers only, so it loads
                with `torch.load(weights_only=True)`)
  generator/    the generator alone, by `save_pretrained` (for translate / evaluate)
  meta.json     step and the SHA-256 of every file above
It is written under a temporary name, each file flushed and fsynced, and renamed into place
last, so a kill at any moment leaves either the whole checkpoint or none of it. On resume a
checkpoint is verified before use, and one that fails is reported and the previous one used:
meta.json must be `{"step": <int, the folder's step>, "sha256": {<relative path>: <64 hex>}}`
listing every file of the folder and nothing else (`read_meta`), each file must match its
checksum, and the state must hold every entry the run needs (`REQUIRED_STATE`).

Pruning (`train.keep_last`) counts only checkpoints up to the step just written: newer ones
are those a resume skipped as corrupt, and they neither count nor push out the good lineage,
so the checkpoint a run resumed from stays until a newer good one exists.
"""

from __future__ import annotations

import json
import os
import re
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
MAX_META_BYTES = 1 << 20
_HEX64 = re.compile(r"[0-9a-f]{64}")
# entries of state.pt a resume reads; with a discriminator (train.lambda_gan > 0) also GAN_STATE
REQUIRED_STATE = ("step", "G", "opt_G", "sched_G", "bad_streak", "bad_total")
GAN_STATE = ("D", "opt_D", "sched_D", "pool")


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


def save_checkpoint(
    root: Path, step: int, state: dict, generator, keep_last: int, run: str | None = None
) -> Path:
    """Write checkpoint `step` under `root` atomically; then delete all but the newest `keep_last`.

    run: the run's identity (`run_folder.run_identity`), recorded in meta.json so that a resume
    can be checked against it even without the run folder's config.yaml."""
    final = checkpoint_dir(root, step)
    with atomic_folder(final, f"checkpoint write failed at step {step}") as tmp:
        torch_save(state, tmp / STATE)
        generator.save_pretrained(tmp / GENERATOR)
        files = sorted(p for p in tmp.rglob("*") if p.is_file())
        meta: dict = {"step": step, "sha256": {str(p.relative_to(tmp)): sha256_file(p) for p in files}}
        if run is not None:
            meta["run"] = run
        (tmp / META).write_text(json.dumps(meta, indent=1))  # inside the folder that is renamed last
    prune_checkpoints(root, step, keep_last)
    return final


def step_of(folder: Path) -> int:
    return int(folder.name[len(PREFIX) :])


def prune_checkpoints(root: Path, step: int, keep_last: int) -> None:
    """Delete all but the newest `keep_last` checkpoints of steps <= `step` (the one just written).

    Checkpoints of later steps are left alone and not counted: a resume found them corrupt and
    went back past them, so they must not push the good lineage out."""
    lineage = [p for p in list_checkpoints(root) if step_of(p) <= step]
    for old in lineage[:-keep_last]:
        shutil.rmtree(old, ignore_errors=True)


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


def read_meta(folder: Path) -> dict:
    """meta.json of checkpoint `folder`, checked against its schema; BadFileError otherwise.

    Schema: a JSON object with "step", an int equal to the folder's step, and "sha256", an
    object mapping each relative file path (no absolute path, no "..") to 64 lowercase hex
    digits. Other keys are ignored."""
    meta_path = folder / META
    try:
        with open(meta_path, "rb") as fh:
            raw = fh.read(MAX_META_BYTES + 1)
        if len(raw) > MAX_META_BYTES:
            raise ValueError(f"larger than {MAX_META_BYTES} bytes")
        meta = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise BadFileError(meta_path, f"missing or unreadable checkpoint metadata ({reason})") from exc

    def bad(problem: str) -> BadFileError:
        return BadFileError(meta_path, f"invalid checkpoint metadata: {problem}")

    if not isinstance(meta, dict):
        raise bad(f"expected a JSON object, found {type(meta).__name__}")
    step, sums = meta.get("step"), meta.get("sha256")
    if isinstance(step, bool) or not isinstance(step, int):
        raise bad(f"step must be an integer, got {step!r}")
    if folder.name.startswith(PREFIX) and folder.name[len(PREFIX) :].isdigit() and step != step_of(folder):
        raise bad(f"step {step} does not match the folder {folder.name}")
    if not isinstance(sums, dict):
        raise bad(f"sha256 must be an object of file -> checksum, found {type(sums).__name__}")
    for rel, digest in sums.items():
        parts = Path(rel).parts
        if not rel or Path(rel).is_absolute() or ".." in parts or rel == META:
            raise bad(f"sha256 lists {rel!r}, not a file inside the checkpoint")
        if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
            raise bad(f"sha256 of {rel} must be 64 hex digits, got {digest!r}")
    return meta


def verify_checkpoint(folder: Path) -> None:
    """Raise BadFileError unless meta.json is valid, lists every file of the checkpoint (and no
    other), and each file matches its checksum."""
    sums = read_meta(folder)["sha256"]
    present = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} - {META}
    uncovered = sorted(present - set(sums))
    if uncovered:
        raise BadFileError(folder / uncovered[0], "not covered by the checkpoint's checksum list (meta.json)")
    for rel, digest in sums.items():
        path = folder / rel
        if not path.is_file():
            raise BadFileError(path, "missing file listed in the checkpoint metadata")
        if sha256_file(path) != digest:
            raise BadFileError(path, "checksum mismatch: the file changed or is corrupt")


def check_state(state, path: Path, required: tuple[str, ...]) -> dict:
    """`state` (a loaded state.pt) if it is a mapping holding every `required` entry."""
    if not isinstance(state, dict):
        raise BadFileError(path, f"checkpoint state is not a mapping ({type(state).__name__})")
    for key in required:
        if key not in state:
            raise BadFileError(path, f"checkpoint state has no {key!r} entry")
    step = state["step"] if "step" in required else None
    if "step" in required and (isinstance(step, bool) or not isinstance(step, int)):
        raise BadFileError(path, f"checkpoint state: step must be an integer, got {step!r}")
    return state


def load_latest_checkpoint(
    root: Path, log=None, required: tuple[str, ...] = REQUIRED_STATE
) -> tuple[Path, dict] | None:
    """The newest checkpoint that passes its checks, as (folder, state); None if there is none.

    A checkpoint that fails (metadata, checksums, or a state without a `required` entry) is
    reported through `log` (stderr by default) and skipped."""
    log = log or (lambda msg: print(msg, file=sys.stderr))
    for folder in reversed(list_checkpoints(root)):
        try:
            verify_checkpoint(folder)
            state = load_torch_weights(folder / STATE)
            return folder, check_state(state, folder / STATE, required)
        except BadFileError as exc:
            log(f"warning: skipping checkpoint {folder.name}: {exc}")
    return None
