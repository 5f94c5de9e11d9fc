"""The metric-weight cache: where installed metric weights live and how they are found.

The folder is ``$GUIDED_PIX2PIX_CACHE``, else ``$XDG_CACHE_HOME/guided-pix2pix``, else
``~/.cache/guided-pix2pix``. `metrics.weights` installs the files; the metrics look them up
here by name (`weights_file("lpips_alex")`), so a metric never needs the installer.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import BadFileError, BadOptionError

CACHE_ENV = "GUIDED_PIX2PIX_CACHE"
FID_FILE = "fid_inception-2015-12-05.pt"


def cache_dir() -> Path:
    """The weights cache folder (not created)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "guided-pix2pix"


# weights name -> (package that installs it, file in the cache)
WEIGHT_FILES: dict[str, tuple[str, str]] = {
    "lpips_alex": ("lpips", "lpips_alex.safetensors"),
    "lpips_vgg": ("lpips", "lpips_vgg.safetensors"),
    "fid_inception": ("fid", FID_FILE),
}


def weights_file(name: str, cache: str | Path | None = None) -> Path:
    """Path of installed weights `name` (a key of `WEIGHT_FILES`); `BadFileError` if not installed."""
    if name not in WEIGHT_FILES:
        raise BadOptionError("weights", f"unknown weights {name!r} (choose from {', '.join(WEIGHT_FILES)})")
    package, filename = WEIGHT_FILES[name]
    path = Path(cache) if cache is not None else cache_dir()
    path = path / filename
    if not path.is_file():
        raise BadFileError(
            path, f"{name} weights not installed; run `guided-pix2pix weights install {package}`"
        )
    return path


def status(cache: str | Path | None = None) -> dict[str, dict]:
    """For each weights name: its package, cache path, whether installed and the size in bytes."""
    folder = Path(cache) if cache is not None else cache_dir()
    report = {}
    for name, (package, filename) in WEIGHT_FILES.items():
        path = folder / filename
        report[name] = {
            "package": package,
            "path": str(path),
            "installed": path.is_file(),
            "bytes": path.stat().st_size if path.is_file() else None,
        }
    return report
