"""Real shoe and bag silhouettes from Fashion-MNIST (Debian package ``dataset-fashion-mnist``).

The package installs the four IDX files (gzip) under ``/usr/share/datasets/fashion-mnist/``:
28 x 28 grey images with labels 0-9, of which 5 (sandal), 7 (sneaker), 9 (ankle boot) are
shoes and 8 is a bag. The synthetic texture task uses them as object silhouettes when they are
present (`silhouettes()` returns None otherwise). Nothing is downloaded or copied into the
project: install the package (``apt-get install dataset-fashion-mnist``) to use them.

IDX layout (big-endian): u32 magic 0x00000803 (images) / 0x00000801 (labels), u32 count,
then for images u32 rows, u32 cols, then the uint8 data.
"""

from __future__ import annotations

import functools
import gzip
import struct
from pathlib import Path

import numpy as np

from ..errors import BadFileError

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
SHOE_AND_BAG_LABELS = (5, 7, 8, 9)
_IMAGES_MAGIC, _LABELS_MAGIC = 0x803, 0x801


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (optionally gzip) -> uint8 array: (N,) labels or (N, rows, cols) images."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as exc:
        raise BadFileError(path, f"cannot read IDX file ({exc})") from exc
    if len(data) < 8:
        raise BadFileError(path, "truncated IDX header")
    magic, count = struct.unpack(">II", data[:8])
    if magic == _LABELS_MAGIC:
        shape, offset = (count,), 8
    elif magic == _IMAGES_MAGIC and len(data) >= 16:
        shape, offset = (count, *struct.unpack(">II", data[8:16])), 16
    else:
        raise BadFileError(path, f"not a uint8 IDX image or label file (magic 0x{magic:08x})")
    size = int(np.prod(shape))
    if len(data) - offset != size:
        raise BadFileError(path, f"IDX data holds {len(data) - offset} bytes, the header says {size}")
    return np.frombuffer(data, np.uint8, count=size, offset=offset).reshape(shape)


@functools.lru_cache(maxsize=4)
def silhouettes(root: str | Path = DEBIAN_DIR) -> np.ndarray | None:
    """(N, 28, 28) uint8 shoe and bag images of the training set under `root`, or None if absent."""
    root = Path(root)
    images, labels = root / "train-images-idx3-ubyte.gz", root / "train-labels-idx1-ubyte.gz"
    if not (images.is_file() and labels.is_file()):
        return None
    x, y = read_idx(images), read_idx(labels)
    if x.ndim != 3 or len(x) != len(y):
        raise BadFileError(images, f"{len(x)} images but {len(y)} labels in {labels.name}")
    return np.ascontiguousarray(x[np.isin(y, SHOE_AND_BAG_LABELS)])


def silhouette_mask(
    image: np.ndarray, size: tuple[int, int], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A 28 x 28 grey item -> (mask (H, W) bool, detail (H, W) float in [0, 1]) centred with a margin.

    The item is scaled (bilinear) to 70-90 % of the shorter side, its holes filled; `detail` is
    the item's own grey level, whose edges the sketch draws inside the object."""
    from scipy import ndimage
    from skimage.transform import resize

    H, W = size
    side = int(min(H, W) * rng.uniform(0.7, 0.9))
    grey = resize(image.astype(np.float32) / 255.0, (side, side), order=1, anti_aliasing=False)
    canvas = np.zeros((H, W), np.float32)
    top, left = (H - side) // 2, (W - side) // 2
    canvas[top : top + side, left : left + side] = grey
    mask = ndimage.binary_fill_holes(canvas > 0.08)
    return mask, canvas
