"""Fashion-MNIST silhouettes for the synthetic texture task: the IDX reader and their use."""

import gzip
import struct

import numpy as np
import pytest

from guided_pix2pix.data import build_dataset
from guided_pix2pix.data.fashion_mnist import DEBIAN_DIR, read_idx, silhouettes
from guided_pix2pix.errors import BadFileError


def _write_idx(folder, images, labels):
    folder.mkdir(parents=True, exist_ok=True)
    n, rows, cols = images.shape
    with gzip.open(folder / "train-images-idx3-ubyte.gz", "wb") as fh:
        fh.write(struct.pack(">IIII", 0x803, n, rows, cols) + images.astype(np.uint8).tobytes())
    with gzip.open(folder / "train-labels-idx1-ubyte.gz", "wb") as fh:
        fh.write(struct.pack(">II", 0x801, n) + labels.astype(np.uint8).tobytes())


def _blobs(n):
    """n 28x28 items: filled ellipses of varying width with a bright inner band (a 'detail')."""
    ys, xs = np.mgrid[0:28, 0:28]
    out = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
        inside = ((xs - 14) / (6 + i % 6)) ** 2 + ((ys - 14) / 10) ** 2 <= 1
        out[i][inside] = 120
        out[i][inside & (abs(ys - 14) < 2)] = 250
    return out


def test_idx_reader_and_shoe_bag_selection(tmp_path):
    images, labels = _blobs(10), np.arange(10)
    _write_idx(tmp_path, images, labels)
    assert np.array_equal(read_idx(tmp_path / "train-images-idx3-ubyte.gz"), images)
    picked = silhouettes(tmp_path)
    assert np.array_equal(picked, images[[5, 7, 8, 9]])  # sandal, sneaker, bag, ankle boot
    assert silhouettes(tmp_path / "absent") is None


def test_bad_idx_files_name_the_file(tmp_path):
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wb") as fh:
        fh.write(struct.pack(">IIII", 0x803, 5, 28, 28) + bytes(100))  # far fewer bytes than 5 images
    with pytest.raises(BadFileError, match="bad.gz: IDX data holds 100 bytes"):
        read_idx(bad)
    (tmp_path / "x.gz").write_bytes(b"not gzip at all")
    with pytest.raises(BadFileError, match="x.gz"):
        read_idx(tmp_path / "x.gz")


def test_texture_items_use_the_silhouettes(tmp_path):
    _write_idx(tmp_path, _blobs(10), np.arange(10))
    kwargs = dict(split="train", size=(64, 64), count=12, seed=3)
    procedural = build_dataset("synthetic_texture", silhouettes_dir=None, **kwargs)
    with_shapes = build_dataset("synthetic_texture", silhouettes_dir=str(tmp_path), **kwargs)
    same = [np.array_equal(procedural[i]["target"], with_shapes[i]["target"]) for i in range(12)]
    assert not all(same)  # some items are Fashion-MNIST objects now
    again = build_dataset("synthetic_texture", silhouettes_dir=str(tmp_path), **kwargs)
    assert all(np.array_equal(with_shapes[i]["target"], again[i]["target"]) for i in range(12))
    for i in range(12):
        item = with_shapes[i]
        assert item["input"].shape == (1, 64, 64) and item["guide"].shape == (4, 64, 64)
        assert item["target"].abs().max() <= 1.0 + 1e-6


@pytest.mark.skipif(not DEBIAN_DIR.is_dir(), reason="Debian package dataset-fashion-mnist is not installed")
def test_debian_package_silhouettes():
    shapes = silhouettes(DEBIAN_DIR)
    assert shapes.shape == (24000, 28, 28)  # 6,000 training items in each of the four classes
