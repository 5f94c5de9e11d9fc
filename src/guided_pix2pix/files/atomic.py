"""Atomic writes and file hashes: the one place that writes a result file or folder.

Every file this project writes (weights, configs, logs, pages, images, checkpoints) goes
through `write_atomic` or `atomic_folder`: the content is written under a temporary name in
the same folder, flushed and fsynced, then renamed over the destination, so a kill or a full
disk at any moment leaves either the old file or the new one, never half of one. A failed
write raises `BadFileError` naming the destination, and the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from ..errors import writing


def temporary_name(path: Path) -> Path:
    """The temporary sibling a file is written to before its rename. It keeps the suffix, which
    some writers (numpy's `np.save`, PIL by extension) need."""
    return path.with_name(f".{path.name}.tmp{path.suffix}")


def fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def fsync_tree(folder: Path) -> None:
    """fsync every file below `folder`, then the folder itself (so renames inside it persist)."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            fsync_file(path)
    fsync_dir(folder)


def fsync_dir(folder: Path) -> None:
    """fsync a folder's entry list (the renames and creations inside it)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: str | Path, write: Callable[[Path], object], what: str = "write failed") -> Path:
    """Create `path` through `write(temporary_path)`, fsync it and rename it into place.

    `what` starts the error message of a failed write (`BadFileError(path, "<what> (<reason>)")`).
    """
    path = Path(path)
    tmp = temporary_name(path)
    with writing(path, what):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            write(tmp)
            fsync_file(tmp)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)  # no temporary file left behind (full disk, kill)
            raise
    return path


def write_text_atomic(path: str | Path, text: str, what: str = "write failed") -> Path:
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), what)


def write_bytes_atomic(path: str | Path, data: bytes, what: str = "write failed") -> Path:
    return write_atomic(path, lambda tmp: tmp.write_bytes(data), what)


@contextlib.contextmanager
def atomic_folder(final: str | Path, what: str = "write failed") -> Iterator[Path]:
    """Yield an empty temporary folder beside `final`; on success, fsync it and rename it over
    `final` (replacing an older folder of that name). On any error the temporary folder is
    deleted, freeing the space a half-written folder holds."""
    final = Path(final)
    tmp = final.with_name(f".tmp_{final.name}")
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        with writing(tmp, what):
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp.mkdir()
            yield tmp
            fsync_tree(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    with writing(final, what.replace("write", "rename")):
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        fsync_dir(final.parent)


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
