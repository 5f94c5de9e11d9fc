"""Loading untrusted files without running their code.

Pickles and PyTorch checkpoints from elsewhere can carry code. This module is the only place
that reads them: pickles through `RestrictedUnpickler`, which admits numpy arrays, scalars and
plain containers and nothing else, and checkpoints through `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import io
import pickle
import warnings
from pathlib import Path
from typing import Any

from ..errors import BadFileError

# (module, name) pairs a pickle of numpy data needs; everything else is refused.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("collections", "OrderedDict"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "complex"),
    ("builtins", "slice"),
    # protocol-2 pickles written by Python 3 rebuild bytes with _codecs.encode(str, "latin1")
    ("_codecs", "encode"),
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only numpy arrays, dtypes, scalars and plain containers."""

    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED_GLOBALS:
            if module.startswith("numpy.core"):  # numpy 2 renamed numpy.core -> numpy._core
                module = "numpy._core" + module[len("numpy.core") :]
            import importlib

            return getattr(importlib.import_module(module), name)
        # numpy dtype classes, e.g. numpy.dtypes.Float32DType, are data, not code.
        if module == "numpy.dtypes" and name.endswith("DType"):
            import numpy.dtypes

            return getattr(numpy.dtypes, name)
        raise pickle.UnpicklingError(f"refused to load global {module}.{name}: only numpy data is allowed")


def load_pickle(path: str | Path, encoding: str = "latin1") -> Any:
    """Read a pickle of numpy data from `path`; raise `BadFileError` for anything else.

    `encoding='latin1'` reads Python 2 pickles of numpy arrays, as the official data files are.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadFileError(path, f"cannot read: {exc.strerror or exc}") from exc
    if not data:
        raise BadFileError(path, "empty file (0 bytes)")
    try:
        return RestrictedUnpickler(io.BytesIO(data), encoding=encoding).load()
    except pickle.UnpicklingError as exc:
        raise BadFileError(path, f"unsafe or corrupt pickle: {exc}") from exc
    except (EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError, KeyError) as exc:
        raise BadFileError(path, f"truncated or corrupt pickle ({type(exc).__name__}: {exc})") from exc


def load_torch_weights(path: str | Path) -> dict:
    """Read a PyTorch checkpoint with `weights_only=True` (tensors and plain containers only)."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise BadFileError(path, "no such file")
    if path.stat().st_size == 0:
        raise BadFileError(path, "empty file (0 bytes)")
    check_archive_members(path)
    try:
        with warnings.catch_warnings():  # e.g. "Detected pickle protocol 4": the error says enough
            warnings.simplefilter("ignore")
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise BadFileError(
            path,
            f"refused or corrupt: not a checkpoint of tensors and plain containers ({_torch_reason(exc)})",
        ) from exc
    except (RuntimeError, EOFError, ValueError, OSError, AttributeError, KeyError) as exc:
        raise BadFileError(path, f"truncated or corrupt checkpoint ({_torch_reason(exc)})") from exc
    return obj


# A PyTorch checkpoint is a zip whose members torch.save stores uncompressed; these bound what a
# hostile file can make torch unpack before any check of its content.
MAX_MEMBER_BYTES = 8 * 2**30  # one tensor's storage
MAX_TOTAL_BYTES = 32 * 2**30  # a whole checkpoint (the official pose G + D + optimisers: < 2 GiB)
MAX_EXPANSION = 100  # uncompressed / compressed size of a compressed member ("zip bomb")


def check_archive_members(path: Path) -> None:
    """Refuse a zip-format checkpoint whose members are too large or expand too much, from the
    zip directory alone (nothing is decompressed); files that are not zips pass unchanged."""
    import zipfile

    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BadFileError(path, f"truncated or corrupt checkpoint archive ({exc})") from exc
    total = 0
    for info in members:
        total += info.file_size
        if info.file_size > MAX_MEMBER_BYTES:
            raise BadFileError(
                path, f"member {info.filename} unpacks to {info.file_size} bytes (limit {MAX_MEMBER_BYTES})"
            )
        if info.compress_type != zipfile.ZIP_STORED and info.file_size > MAX_EXPANSION * max(
            1, info.compress_size
        ):
            raise BadFileError(
                path,
                f"member {info.filename} expands {info.file_size} / {info.compress_size} bytes "
                f"(over {MAX_EXPANSION}x: refused as a zip bomb)",
            )
    if total > MAX_TOTAL_BYTES:
        raise BadFileError(path, f"members unpack to {total} bytes in all (limit {MAX_TOTAL_BYTES})")


def _torch_reason(exc: BaseException) -> str:
    """The informative sentence of a torch.load error, without its advice to disable weights_only."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("Weights only load failed", "Check the documentation", "Please file an issue")):
            continue
        return line.split(". ")[0].rstrip(".")
    return type(exc).__name__
