"""Never overwrite what the user gave: an output path checked against the inputs it comes from."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import BadOptionError


def check_outputs_apart(
    given: Path,
    outputs: Iterable[Path],
    folders: Sequence[tuple[str, Path]] = (),
    files: Iterable[Path] = (),
    files_are: str = "the input files",
    option: str = "--out",
) -> None:
    """Refuse (`BadOptionError` naming `option`, before any write) an output path that is one of
    `files` or is, or lies inside, one of `folders` ((what names it, folder) pairs; folders that do
    not exist are skipped). `given` is the path as the user wrote it, for the message."""
    sources = {p.resolve() for p in files}
    inside = [(name, folder, folder.resolve()) for name, folder in folders if folder.is_dir()]
    for out in outputs:
        where = out.resolve()
        for name, folder, resolved in inside:
            if where == resolved or resolved in where.parents:
                raise BadOptionError(
                    option, f"{given} lies inside the {name} folder {folder}; choose another {option}"
                )
        if where in sources:
            raise BadOptionError(option, f"{out} is one of {files_are}; choose another {option}")
