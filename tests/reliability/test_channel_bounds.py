"""TIFF, .npy and .npz headers that declare more than `MAX_CHANNELS` channels are refused from the
header, by `read_image` and `probe_image`, before any pixel data is read (the files below end
where their pixel data would begin: a reader that decoded first would report a truncated file)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from guided_pix2pix.errors import BadFileError
from guided_pix2pix.files.images import MAX_CHANNELS, probe_image, read_image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "corpus"))
import make_corpus  # noqa: E402


@pytest.mark.parametrize(
    "name, data",
    [
        ("contig.tif", lambda: make_corpus.tiff_many_channels(2000)),
        ("planar.tif", lambda: make_corpus.tiff_many_channels(2000, planar=True)),
        ("guide.npz", lambda: make_corpus.npz_many_channels(2000)),
        ("guide.npy", lambda: make_corpus.npy_bomb((8, 8, 2000))),
    ],
)
@pytest.mark.parametrize("reader", [read_image, probe_image], ids=["read_image", "probe_image"])
def test_more_than_max_channels_is_refused_from_the_header(name, data, reader, tmp_path):
    path = tmp_path / name
    path.write_bytes(data())
    with pytest.raises(
        BadFileError, match=rf"2000 channels: expected \(H, W, C\) with C <= {MAX_CHANNELS}"
    ) as raised:
        reader(path)
    assert raised.value.path == str(path)


def test_max_channels_itself_is_read(tmp_path):
    import numpy as np
    import tifffile

    path = tmp_path / "ok.tif"
    tifffile.imwrite(
        path, np.zeros((4, 4, MAX_CHANNELS), np.uint8), photometric="minisblack", planarconfig="contig"
    )
    assert probe_image(path) == (4, 4, MAX_CHANNELS)
    assert read_image(path).shape == (4, 4, MAX_CHANNELS)
