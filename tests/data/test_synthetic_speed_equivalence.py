"""The synthetic producers' fast paths give the same items as the straightforward code they replaced.

Trained and shipped models depend on these exact data distributions, so the vectorised
renderers must reproduce the old items (same random streams, same pixels):

- `synthetic_items_v1.npz` holds a few small items of every synthetic task made by the code
  before the speed-up (commit 8325560). ``python tests/data/test_synthetic_speed_equivalence.py
  OUT.npz`` writes the current code's items: replace the fixture only when a change of the
  distributions is intended (and name it in the commit);
- each replaced building block is checked against the library routine it stands in for
  (scikit-image's polygon, scipy's distance transform and erosion, torch LAB, full-image
  textures, the float patch rule).
"""

import gzip
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage
from skimage.draw import polygon as skimage_polygon

from guided_pix2pix.data import SyntheticDepthDataset, SyntheticPoseDataset, SyntheticTextureDataset
from guided_pix2pix.data.color import normalize_lab, rgb_to_lab, rgb_to_lab_array
from guided_pix2pix.data.keypoints import keypoint_heatmaps
from guided_pix2pix.data.synthetic_common import pixel_grid, polygon_pixels
from guided_pix2pix.data.synthetic_texture import (
    TEXTURES,
    _batch_shaded_colours,
    _eroded,
    inside_distance,
)
from guided_pix2pix.data.texturegan import patch_window, place_patch

FIXTURE = Path(__file__).with_name("synthetic_items_v1.npz")


def _fake_fashion_mnist(root: Path) -> Path:
    """Twelve 28 x 28 blobs with Fashion-MNIST labels (9 of them shoes or bags), as IDX files."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    ys, xs = np.mgrid[0:28, 0:28]
    images = []
    for _ in range(12):
        cy, cx = rng.uniform(10, 18, 2)
        ry, rx = rng.uniform(5, 11, 2)
        im = np.clip(255 * (1.2 - ((ys - cy) / ry) ** 2 - ((xs - cx) / rx) ** 2), 0, 255)
        images.append((im * (0.6 + 0.4 * ((xs // 4 + ys // 5) % 2))).astype(np.uint8))
    labels = np.array([7, 8, 1, 9, 5, 8, 7, 3, 9, 8, 5, 7], np.uint8)
    with gzip.open(root / "train-images-idx3-ubyte.gz", "wb") as fh:
        fh.write(struct.pack(">IIII", 0x803, 12, 28, 28) + np.stack(images).tobytes())
    with gzip.open(root / "train-labels-idx1-ubyte.gz", "wb") as fh:
        fh.write(struct.pack(">II", 0x801, 12) + labels.tobytes())
    return root


def _datasets(fashion_dir: Path):
    """name -> dataset: small items of every task and option that changes the renderer's path."""
    return {
        "depth_4A": SyntheticDepthDataset(size=(32, 32), count=2, seed=3, scale=4, protocol="A"),
        "depth_8B_val": SyntheticDepthDataset(
            split="val", size=(24, 40), count=2, seed=1, scale=8, protocol="B"
        ),
        "depth_photo": SyntheticDepthDataset(size=(32, 32), count=2, seed=2, scale=16, photo_textures=1.0),
        "pose": SyntheticPoseDataset(size=(32, 32), count=2, seed=4),
        "pose_val": SyntheticPoseDataset(split="val", size=(48, 40), count=1, seed=0),
        "texture": SyntheticTextureDataset(size=(64, 64), count=3, seed=0, silhouettes_dir=None),
        "texture_fashion": SyntheticTextureDataset(
            split="val", size=(64, 64), count=2, seed=3, silhouettes_dir=str(fashion_dir)
        ),
    }


def _items(fashion_dir: Path) -> dict[str, np.ndarray]:
    out = {}
    for name, ds in _datasets(fashion_dir).items():
        for i in range(len(ds)):
            item = ds[i]
            for key in ("input", "guide", "target"):
                out[f"{name}/{i}/{key}"] = item[key].numpy()
            for key, value in item["meta"].items():
                if key != "id":
                    out[f"{name}/{i}/meta/{key}"] = np.array(value)
    return out


def test_items_match_the_fixture_made_before_the_speed_up(tmp_path):
    expected = dict(np.load(FIXTURE))
    got = _items(_fake_fashion_mnist(tmp_path / "fashion"))
    assert sorted(got) == sorted(expected)
    for key, want in expected.items():
        have = got[key]
        assert have.shape == want.shape and have.dtype == want.dtype, key
        off = np.abs(have.astype(np.float64) - want) > 1e-5
        # identical here; a pixel or two may flip on a platform whose libm rounds differently
        assert off.mean() <= 1e-3, f"{key}: {int(off.sum())} of {off.size} values differ"


def _random_polygons(rng, count):
    for k in range(count):
        n, H, W = int(rng.integers(3, 9)), int(rng.integers(5, 50)), int(rng.integers(5, 50))
        if k % 3 == 0:  # vertices on pixel centres: points on vertices and edges
            r, c = rng.integers(-5, H + 5, n).astype(float), rng.integers(-5, W + 5, n).astype(float)
        elif k % 3 == 1:
            r, c = rng.uniform(-10, H + 10, n), rng.uniform(-10, W + 10, n)
        else:  # half pixels: crossings exactly between pixels
            r, c = np.round(rng.uniform(-3, H + 3, n) * 2) / 2, np.round(rng.uniform(-3, W + 3, n) * 2) / 2
        yield r, c, (H, W)


def test_polygon_pixels_are_scikit_images():
    rng = np.random.default_rng(0)
    for r, c, shape in _random_polygons(rng, 1500):
        want, got = skimage_polygon(r, c, shape), polygon_pixels(r, c, shape)
        assert np.array_equal(want[0], got[0]) and np.array_equal(want[1], got[1]), (r, c, shape)


def _random_masks(rng, count):
    yield np.zeros((20, 30), bool)
    yield np.ones((20, 30), bool)
    for _ in range(count):
        H, W = int(rng.integers(8, 60)), int(rng.integers(8, 60))
        blobs = ndimage.gaussian_filter(rng.random((H, W)), rng.uniform(1, 4))
        mask = blobs > np.quantile(blobs, rng.uniform(0.2, 0.9))
        if rng.random() < 0.5:  # away from the image border
            mask[:2], mask[-2:], mask[:, :2], mask[:, -2:] = False, False, False, False
        yield mask


def test_inside_distance_and_outline_are_scipys():
    rng = np.random.default_rng(1)
    for mask in _random_masks(rng, 300):
        np.testing.assert_array_equal(inside_distance(mask), ndimage.distance_transform_edt(mask))
        np.testing.assert_array_equal(_eroded(mask), ndimage.binary_erosion(mask))


def test_rgb_to_lab_array_agrees_with_the_torch_conversion():
    rng = np.random.default_rng(2)
    rgb = np.concatenate([rng.random((500, 3)), np.eye(3), [[0, 0, 0], [1, 1, 1], [0.04045, 0.5, 0.0031]]])
    want = normalize_lab(rgb_to_lab(torch.from_numpy(rgb.T.copy())[None, :, None, :]))[0, :, 0].numpy().T
    np.testing.assert_allclose(rgb_to_lab_array(rgb, normalized=True), want, rtol=0, atol=1e-12)
    unscaled = rgb_to_lab(torch.from_numpy(rgb.T.copy())[None, :, None, :])[0, :, 0].numpy().T
    np.testing.assert_allclose(rgb_to_lab_array(rgb), unscaled, rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", sorted(TEXTURES))
def test_texture_at_pixels_is_the_full_image_there(name):
    size = (40, 56)
    rows, cols = np.nonzero(np.random.default_rng(3).random(size) < 0.3)
    for seed in range(6):
        full = TEXTURES[name](np.random.default_rng(seed), size)
        palette, index = TEXTURES[name](np.random.default_rng(seed), size, (rows, cols))
        np.testing.assert_array_equal(palette[index], full[rows, cols])


def test_shaded_colours_are_the_per_pixel_product():
    rng = np.random.default_rng(4)
    for mask in list(_random_masks(rng, 40))[2:]:
        inside = ndimage.distance_transform_edt(mask)[mask]
        for palette, index in (
            (rng.random((2, 3)).astype(np.float32), rng.integers(0, 2, len(inside))),  # a few colours
            (rng.random((len(inside), 3)), np.arange(len(inside))),  # one per pixel
        ):
            want = (palette[index] * (0.7 + 0.3 * np.clip(inside / 3.3, 0, 1))[:, None]).astype(np.float32)
            distinct, which = _batch_shaded_colours([palette], [index], inside, 3.3)
            np.testing.assert_array_equal(distinct[which], want)


def test_patch_window_takes_a_bool_mask_as_zero_one():
    rng = np.random.default_rng(5)
    lab = rng.normal(size=(3, 50, 60))
    for k in range(40):
        eroded = rng.random((50, 60)) < (0.0 if k % 7 == 0 else 0.05)
        u_side, u_pick = rng.random(2)
        guide, patch = place_patch(lab, eroded.astype(np.float64), u_side, u_pick)
        assert patch_window(eroded, u_side, u_pick)[0] == patch
        (row, col, side), (r0, r1, c0, c1) = patch_window(eroded.astype(np.float64), u_side, u_pick)
        assert np.all(guide[3, r0:r1, c0:c1] == 1) and (guide[3] == 1).sum() == (r1 - r0) * (c1 - c0)


def test_depth_screen_windows_lose_no_hit(monkeypatch):
    """Objects are ray-cast only on the pixels of their screen bounding box: casting every
    pixel instead gives the same scene."""
    from guided_pix2pix.data import synthetic_depth

    def scenes():
        return [
            synthetic_depth.render_scene(np.random.default_rng(seed), (36, 48), 0.3) for seed in range(12)
        ]

    windowed = scenes()
    monkeypatch.setattr(
        synthetic_depth._Camera, "pixels_of_points", lambda cam, points: np.arange(cam.size[0] * cam.size[1])
    )
    for (rgb, depth), (rgb_all, depth_all) in zip(windowed, scenes()):
        np.testing.assert_array_equal(rgb, rgb_all)
        np.testing.assert_array_equal(depth, depth_all)


def test_heatmaps_and_pixel_grid():
    ys, xs = pixel_grid((5, 7))
    assert np.array_equal(ys, np.mgrid[0:5, 0:7][0]) and ys.dtype == np.float32 and not xs.flags.writeable
    pts = np.array([[3.2, 4.7], [0.0, 0.0], [-1.0, 2.0], [np.nan, 1.0]])
    maps = keypoint_heatmaps(pts, (9, 11), sigma=1.5)
    grid_y, grid_x = np.mgrid[0:9, 0:10]  # the map is cut off 4 sigma (6 px) from its point
    want = 2 * np.exp(-((grid_x + 0.5 - 3.2) ** 2 + (grid_y + 0.5 - 4.7) ** 2) / (2 * 1.5**2)) - 1
    np.testing.assert_array_equal(maps[0, :, :10], want.astype(np.float32))
    assert np.all(maps[0, :, 10] == -1)
    assert maps[1, 0, 0] > 0.5 and np.all(maps[2] == -1) and np.all(maps[3] == -1)  # outside / missing


if __name__ == "__main__":  # write the fixture: python tests/data/test_synthetic_speed_equivalence.py OUT.npz
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        np.savez_compressed(sys.argv[1], **_items(_fake_fashion_mnist(Path(tmp) / "fashion")))
