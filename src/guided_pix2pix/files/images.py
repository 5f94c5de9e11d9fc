"""Reading and writing image files safely.

`read_image` returns an (H, W, C) numpy array in the file's own dtype (uint8, uint16 or
float32), never executes anything from the file, refuses images over `MAX_PIXELS`, and
raises `BadFileError` naming the file for a missing, empty, truncated or corrupt file.
Supported: PNG (8/16 bit), JPEG, TIFF, BMP, and `.npy` / `.npz` (multi-channel arrays,
read with `allow_pickle=False`; an `.npz` must hold exactly one array).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import BadFileError
from .atomic import write_atomic

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
ARRAY_SUFFIXES = (".npy", ".npz")
SUFFIXES = IMAGE_SUFFIXES + ARRAY_SUFFIXES

# Decompression-bomb guard: 64 Mpixel covers every dataset in this field with room to spare.
MAX_PIXELS = 64 * 1024 * 1024
# Channels per pixel (an .npy/.npz guide may hold many: pose heat maps have 18); more is refused
# from the header, before a (H, W, C) buffer is allocated.
MAX_CHANNELS = 1024


def check_pixels(path: Path, shape) -> None:
    """Refuse a (H, W, ...) shape with no pixels or over `MAX_PIXELS`, before anything is decoded."""
    if len(shape) < 2:
        raise BadFileError(path, f"expected a 2-D image or (H, W, C) array, found shape {tuple(shape)}")
    n = int(shape[0]) * int(shape[1])
    if n > MAX_PIXELS:
        raise BadFileError(path, f"image of {shape[0]}x{shape[1]} pixels exceeds the limit of {MAX_PIXELS}")
    if n == 0:
        raise BadFileError(path, f"image has no pixels (shape {tuple(shape)})")


def check_channels(path: Path, channels: int) -> None:
    """Refuse more than `MAX_CHANNELS` channels (samples per pixel), from a file's header."""
    if int(channels) > MAX_CHANNELS:
        raise BadFileError(path, f"{channels} channels: expected (H, W, C) with C <= {MAX_CHANNELS}")


def _as_hwc(arr: np.ndarray) -> np.ndarray:
    return arr[:, :, None] if arr.ndim == 2 else arr


def decode_pil(path: Path, to_array) -> np.ndarray:
    """``to_array(image)`` of the file opened with PIL, safely: the pixel limit is checked from
    the header before any decoding, decompression bombs and truncated or corrupt data become a
    one-line `BadFileError` naming the file, and `to_array` runs inside that handling (so the
    full decode it forces does too; it may raise `BadFileError` itself)."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                check_pixels(path, (im.height, im.width))
                return np.array(to_array(im))  # np.array: the full decode happens here
    except BadFileError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise BadFileError(path, f"image exceeds the pixel limit ({exc})") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadFileError(path, f"truncated or corrupt image ({exc})") from exc


def _pil_array(path: Path, im) -> np.ndarray:
    """The pixels of an open PIL image in the dtype its mode holds (16-bit stays 16-bit)."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im, dtype=np.uint32 if mode == "I" else np.uint16)
        if mode == "I":
            if arr.max(initial=0) > 65535:
                raise BadFileError(path, "32-bit integer image with values above 65535")
            arr = arr.astype(np.uint16)
        return arr
    if mode == "F":
        return np.asarray(im, dtype=np.float32)
    if mode in ("L", "RGB"):
        return np.asarray(im)
    if mode in ("LA", "RGBA", "P", "PA", "CMYK", "YCbCr", "1", "LAB", "HSV"):
        return np.asarray(im.convert("RGB" if mode not in ("1", "LA") else "L"))
    raise BadFileError(path, f"unsupported image mode {mode!r}")


def _read_pil(path: Path) -> np.ndarray:
    return _as_hwc(decode_pil(path, lambda im: _pil_array(path, im)))


class quiet_tifffile:
    """Silence tifffile's own log lines (it logs corrupt headers before raising); the error we
    raise says it once, in one line."""

    def __enter__(self):
        import logging

        self.logger = logging.getLogger("tifffile")
        self.was = self.logger.disabled
        self.logger.disabled = True

    def __exit__(self, *exc):
        self.logger.disabled = self.was
        return False


def _read_tiff(path: Path) -> np.ndarray:
    import tifffile

    try:
        with quiet_tifffile(), tifffile.TiffFile(path) as tif:
            page = _first_page(path, tif)
            check_channels(path, page.samplesperpixel)  # header only: nothing decoded yet
            planar = tiff_is_planar(page)
            check_pixels(path, tiff_hw(page.shape, planar))
            arr = page.asarray()
    except BadFileError:
        raise
    except Exception as exc:  # tifffile raises many types for corrupt files
        raise BadFileError(path, f"truncated or corrupt TIFF ({type(exc).__name__}: {exc})") from exc
    if arr.ndim == 3 and planar:
        arr = np.moveaxis(arr, 0, -1)  # planar (C, H, W) -> (H, W, C)
    if arr.ndim not in (2, 3):
        raise BadFileError(path, f"expected a 2-D or 3-D TIFF, found shape {arr.shape}")
    if arr.dtype not in (np.uint8, np.uint16, np.float32):
        arr = arr.astype(np.float32)
    return _as_hwc(arr)


def _first_page(path: Path, tif):
    """The first page of a TIFF, as a full `TiffPage` (with its header's tags)."""
    import tifffile

    page = tif.pages[0]
    if not isinstance(page, tifffile.TiffPage):
        raise BadFileError(path, "corrupt TIFF: the first page has no header of its own")
    return page


def tiff_is_planar(page) -> bool:
    """Whether a TIFF page stores its samples as planes, (C, H, W): PlanarConfiguration 2 (separate),
    from the header. (Guessing from the shape took a contiguous 4 x W x C page for a planar one.)"""
    return int(page.planarconfig) == 2 and int(page.samplesperpixel) > 1 and len(page.shape) == 3


def tiff_hw(shape, planar: bool) -> tuple[int, ...]:
    """(H, W) of a TIFF page shape: (H, W), (H, W, C) or, planar, (C, H, W)."""
    shape = tuple(int(n) for n in shape)
    if len(shape) == 3 and planar:
        return shape[1:]
    return shape[:2] if len(shape) >= 2 else shape


def array_header(path: Path) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) of an .npy file or of the one array in an .npz, from the header only."""
    import zipfile

    def read(fh):
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
        return tuple(shape), dtype

    try:
        if path.suffix.lower() == ".npz":
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if n.endswith(".npy")]
                if len(names) != 1 or len(zf.namelist()) != 1:
                    raise BadFileError(
                        path, f"an .npz must hold exactly one array, found {len(zf.namelist())}"
                    )
                with zf.open(names[0]) as fh:
                    return read(fh)
        with open(path, "rb") as fh:
            return read(fh)
    except BadFileError:
        raise
    except Exception as exc:  # numpy parses the header with tokenize + ast.literal_eval: any error
        # (ValueError, SyntaxError, tokenize.TokenError, BadZipFile, ...) means a damaged header
        raise BadFileError(path, f"truncated or corrupt array header ({type(exc).__name__}: {exc})") from exc


def _read_array(path: Path) -> np.ndarray:
    shape, dtype = array_header(path)  # size checks before numpy allocates anything
    if len(shape) not in (2, 3):
        raise BadFileError(path, f"expected an (H, W) or (H, W, C) array, found shape {shape}")
    check_pixels(path, shape)
    if dtype.hasobject:
        raise BadFileError(path, "object arrays are refused (they would need pickle)")
    if dtype.kind not in "biuf":
        raise BadFileError(path, f"array of dtype {dtype} is not numeric image data")
    if len(shape) == 3:
        check_channels(path, shape[2])
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                if len(npz.files) != 1:
                    raise BadFileError(path, f"an .npz must hold exactly one array, found {len(npz.files)}")
                arr = npz[npz.files[0]]
        else:
            arr = np.load(path, allow_pickle=False)
    except BadFileError:
        raise
    except ValueError as exc:
        raise BadFileError(path, f"corrupt array or object array refused ({exc})") from exc
    except (OSError, EOFError) as exc:
        raise BadFileError(path, f"truncated or corrupt array file ({exc})") from exc
    if arr.ndim not in (2, 3):
        raise BadFileError(path, f"expected an (H, W) or (H, W, C) array, found shape {arr.shape}")
    check_pixels(path, arr.shape)
    if arr.dtype not in (np.uint8, np.uint16):
        arr = arr.astype(np.float32)
    return _as_hwc(arr)


def read_image(path: str | Path) -> np.ndarray:
    """Read `path` into an (H, W, C) array in its own dtype; raise `BadFileError` on any problem."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise BadFileError(path, f"unsupported file type {suffix!r} (supported: {', '.join(SUFFIXES)})")
    if not path.is_file():
        raise BadFileError(path, "no such file")
    if path.stat().st_size == 0:
        raise BadFileError(path, "empty file (0 bytes)")
    if suffix in ARRAY_SUFFIXES:
        return _read_array(path)
    if suffix in (".tif", ".tiff"):
        return _read_tiff(path)
    return _read_pil(path)


def write_image(path: str | Path, arr: np.ndarray) -> Path:
    """Write an (H, W) or (H, W, C) array. uint8/uint16 go to PNG/JPEG/TIFF, float to .npy/.tiff.

    The file is written to a temporary name and renamed (`files.atomic.write_atomic`), so a
    crash never leaves half a file; a full disk is one `BadFileError` naming `path`.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    arr = np.asarray(arr)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if suffix not in WRITERS:
        raise BadFileError(path, f"unsupported output type {suffix!r}")
    if suffix in PIL_FORMATS:
        if arr.dtype == np.uint16 and (suffix != ".png" or arr.ndim != 2):
            raise BadFileError(path, "16-bit images can only be written as 1-channel PNG or TIFF")
        if arr.dtype not in (np.uint8, np.uint16):
            raise BadFileError(path, f"cannot write dtype {arr.dtype} as {suffix}; convert to uint8/uint16")
    return write_atomic(path, lambda tmp: WRITERS[suffix](tmp, arr))


def _write_pil(tmp: Path, arr: np.ndarray) -> None:
    from PIL import Image

    fmt = PIL_FORMATS[tmp.suffix.lower()]
    Image.fromarray(arr).save(tmp, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))


def _write_tiff(tmp: Path, arr: np.ndarray) -> None:
    import tifffile

    tifffile.imwrite(tmp, arr)


PIL_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP"}
# output suffix -> writer(temporary path with that suffix, array)
WRITERS = {
    ".npy": lambda tmp, arr: np.save(tmp, arr),
    ".tif": _write_tiff,
    ".tiff": _write_tiff,
    **{suffix: _write_pil for suffix in PIL_FORMATS},
}


def files_by_stem(folder: str | Path) -> dict[str, Path]:
    """Stem -> file for the image and array files (`SUFFIXES`) directly inside `folder`.

    Hidden files and other suffixes are skipped; two files with one stem are an error naming
    both. An empty result is returned as is: callers decide whether that is an error."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BadFileError(folder, "not a directory")
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in SUFFIXES or not path.is_file():
            continue
        if path.stem in files:
            raise BadFileError(path, f"two files with stem {path.stem!r} (also {files[path.stem].name})")
        files[path.stem] = path
    return files


def pair_by_stem(
    first: Path, second: Path, roles: tuple[str, str] = ("input", "guide")
) -> list[tuple[str, Path, Path]]:
    """(stem, file in `first`, file in `second`) for every stem, sorted by stem.

    Both folders must hold at least one image or array file, and every stem needs a partner:
    otherwise `BadFileError` names the empty folder or the first file without one. `roles`
    names the two folders in the messages (e.g. ("input", "guide"), ("PRED_DIR", "TARGET_DIR")).
    """
    listings = []
    for folder, role in zip((first, second), roles):
        files = files_by_stem(folder)
        if not files:
            raise BadFileError(folder, f"holds no image or array files ({', '.join(SUFFIXES)}) ({role})")
        listings.append(files)
    for (have, role), (other, other_role), other_dir in (
        ((listings[0], roles[0]), (listings[1], roles[1]), second),
        ((listings[1], roles[1]), (listings[0], roles[0]), first),
    ):
        lonely = sorted(set(have) - set(other))
        if lonely:
            raise BadFileError(
                have[lonely[0]],
                f"no partner {other_role} {lonely[0]}.* for this {role} file "
                f"({len(lonely)} stem(s) have no match in {other_dir})",
            )
    return [(stem, listings[0][stem], listings[1][stem]) for stem in sorted(listings[0])]


# PIL mode -> channels after `read_image` (which converts palette/alpha/CMYK modes).
_PIL_CHANNELS = {"1": 1, "L": 1, "LA": 1, "I": 1, "I;16": 1, "I;16B": 1, "I;16L": 1, "F": 1}


def probe_image(path: Path) -> tuple[int, int, int]:
    """(height, width, channels) of an image or array file from its header, without decoding."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:  # as read_image: PIL would open more (GIF, WebP) than is read
        raise BadFileError(path, f"unsupported file type {suffix!r} (supported: {', '.join(SUFFIXES)})")
    try:
        if path.stat().st_size == 0:
            raise BadFileError(path, "empty file (0 bytes)")
        if suffix in ARRAY_SUFFIXES:
            shape = array_header(path)[0]
        elif suffix in (".tif", ".tiff"):
            import tifffile

            with quiet_tifffile(), tifffile.TiffFile(path) as tif:
                page = _first_page(path, tif)
                check_channels(path, page.samplesperpixel)
                shape, planar = page.shape, tiff_is_planar(page)
            if len(shape) == 3 and planar:
                shape = (*shape[1:], shape[0])  # planar (C, H, W) -> (H, W, C)
        else:
            from PIL import Image

            try:
                with Image.open(path) as im:
                    shape = (im.height, im.width, _PIL_CHANNELS.get(im.mode, 3))
            except Image.DecompressionBombError as exc:
                raise BadFileError(path, f"image exceeds the pixel limit ({exc})") from exc
    except BadFileError:
        raise
    except Exception as exc:  # PIL, numpy, zipfile and tifffile raise many types for bad headers
        raise BadFileError(path, f"unreadable or corrupt file ({type(exc).__name__}: {exc})") from exc
    if len(shape) not in (2, 3) or min(shape[:2]) < 1:
        raise BadFileError(path, f"expected an (H, W) or (H, W, C) image, found shape {tuple(shape)}")
    check_pixels(path, shape)
    if len(shape) == 3:
        check_channels(path, shape[2])
    return int(shape[0]), int(shape[1]), int(shape[2]) if len(shape) == 3 else 1
