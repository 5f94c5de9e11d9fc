"""Official formats: tiny files written in each format must give the official loaders' items."""

import pickle

import h5py
import numpy as np
import pytest
import scipy.io
import torch
from PIL import Image
from skimage.color import rgb2lab
from torch.utils.data import default_collate

from guided_pix2pix.data import (
    DeepFashionDataset,
    MiddleburyDataset,
    NYUDepthDataset,
    TextureGANDataset,
    build_dataset,
)
from guided_pix2pix.data.texturegan import place_patch
from guided_pix2pix.errors import BadFileError

H, W = 8, 12  # NYU test size: (rows, cols)
N_TRAIN, N_TEST, N_LABELED = 3, 2, 1002


# ------------------------------------------------------------------------------------- NYU
@pytest.fixture(scope="module")
def nyu(tmp_path_factory):
    root = tmp_path_factory.mktemp("nyu")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (N_LABELED, 3, W, H), dtype=np.uint8)  # h5py view of MATLAB (H, W, 3, N)
    depths = rng.uniform(0.7, 9.0, (N_LABELED, W, H)).astype(np.float32)
    with h5py.File(root / "nyu_depth_v2_labeled.mat", "w") as f:
        f["images"], f["depths"] = images, depths
    train_in = rng.uniform(-0.1, 1.1, (N_TRAIN, 1, W, H)).astype(np.float32)  # overshoot: clipped
    train_d = rng.uniform(0, 1, (N_TRAIN, 1, W, H)).astype(np.float32)
    with h5py.File(root / "input_4x_train.mat", "w") as f:
        f["input_4x_train"] = train_in
    with h5py.File(root / "depth_train.mat", "w") as f:
        f["depth_train"] = train_d
    test_in = rng.uniform(-0.1, 1.1, (H, W, 1, N_TEST)).astype(np.float32)
    test_d = rng.uniform(0, 1, (H, W, 1, N_TEST)).astype(np.float32)
    scipy.io.savemat(root / "input_4x_test.mat", {"input_4x_test": test_in})
    scipy.io.savemat(root / "depth_test.mat", {"depth_test": test_d})
    scipy.io.savemat(root / "min_16x.mat", {"min_16x": np.array([[0.9, 1.1]])})
    scipy.io.savemat(root / "max_16x.mat", {"max_16x": np.array([[4.0, 7.5]])})
    return root, images, depths, train_in, train_d, test_in, test_d


def _official_depth(a, guide, b):
    """What the official loader returns, rebuilt from its documented steps (HWC -> CHW at the end)."""
    t = lambda x: torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))  # noqa: E731
    return t(np.clip(a, 0, 1) * 2 - 1), t(guide.astype(np.float32) / 255 * 2 - 1), t(b * 2 - 1)


def test_nyu_train_hdf5_matches_official(nyu):
    root, images, _, train_in, train_d, _, _ = nyu
    ds = NYUDepthDataset(root, split="train", scale=4)
    assert len(ds) == N_TRAIN and ds.source == "official" and ds.channels == (1, 3, 1)
    As, Bs = train_in.transpose(0, 3, 2, 1), train_d.transpose(0, 3, 2, 1)  # official (N, H, W, C)
    guides = images.transpose(0, 3, 2, 1)
    for i in range(N_TRAIN):
        a, g, b = _official_depth(As[i], guides[i], Bs[i])
        item = ds[i]
        assert item["input"].shape == (1, H, W) and item["guide"].shape == (3, H, W)
        assert (
            torch.allclose(item["input"], a)
            and torch.allclose(item["guide"], g)
            and torch.allclose(item["target"], b)
        )
    assert ds[0]["input"].min() >= -1 and ds[0]["input"].max() <= 1


def test_nyu_test_v5_matches_official_with_offset_and_ranges(nyu):
    root, images, _, _, _, test_in, test_d = nyu
    ds = build_dataset("nyu", split="test", root=root, scale=4)
    As, Bs = test_in.transpose(3, 0, 1, 2), test_d.transpose(3, 0, 1, 2)  # official (N, H, W, C)
    guides = images.transpose(0, 3, 2, 1)
    for i in range(N_TEST):
        a, g, b = _official_depth(As[i], guides[1000 + i], Bs[i])
        item = ds[i]
        assert (
            torch.allclose(item["input"], a)
            and torch.allclose(item["guide"], g)
            and torch.allclose(item["target"], b)
        )
    assert ds[1]["meta"]["depth_min_m"] == pytest.approx(1.1) and ds[1]["meta"][
        "depth_max_m"
    ] == pytest.approx(7.5)
    assert ds[1]["meta"]["id"] == "nyu/test/1001"
    assert default_collate([ds[0], ds[1]])["guide"].shape == (2, 3, H, W)


@pytest.mark.parametrize("protocol", ["A", "B"])
def test_nyu_from_labeled_only(nyu, protocol):
    root, images, depths, *_ = nyu
    ds = NYUDepthDataset(root, split="test", scale=8, source="labeled", protocol=protocol)
    assert len(ds) == N_LABELED - 1000
    item = ds[1]
    d = depths[1001].T  # (W, H) -> (H, W)
    lo, hi = item["meta"]["depth_min_m"], item["meta"]["depth_max_m"]
    assert lo == pytest.approx(d.min()) and hi == pytest.approx(d.max())
    np.testing.assert_allclose(
        item["target"][0].numpy(), (d - d.min()) / (d.max() - d.min()) * 2 - 1, atol=1e-5
    )
    np.testing.assert_allclose(
        item["guide"].numpy(), images[1001].transpose(0, 2, 1) / 255 * 2 - 1, atol=1e-6
    )
    assert item["input"].shape == (1, H, W) and not torch.equal(item["input"], item["target"])
    assert len(NYUDepthDataset(root, split="train", scale=16)) == 1000  # no 16x files: labeled path


def test_nyu_bad_files(nyu, tmp_path):
    root = nyu[0]
    for name in ("nyu_depth_v2_labeled.mat", "input_4x_train.mat", "min_16x.mat", "max_16x.mat"):
        (tmp_path / name).write_bytes((root / name).read_bytes())
    with pytest.raises(BadFileError, match=r"depth_train\.mat: no such file"):
        NYUDepthDataset(tmp_path, split="train", scale=4)
    (tmp_path / "depth_train.mat").write_bytes((root / "depth_train.mat").read_bytes()[:300])  # truncated
    with pytest.raises(BadFileError, match=r"depth_train\.mat: not a readable MATLAB v7\.3"):
        NYUDepthDataset(tmp_path, split="train", scale=4)
    with h5py.File(tmp_path / "depth_train.mat", "w") as f:
        f["depth_train"] = np.zeros((N_TRAIN, 1, W + 1, H), np.float32)  # size disagrees
    with pytest.raises(BadFileError, match=r"depth_train\.mat: depth shape .* disagrees"):
        NYUDepthDataset(tmp_path, split="train", scale=4)
    bad = np.zeros((N_TRAIN, 1, W, H), np.float32)
    bad[1, 0, 2, 3] = np.nan
    with h5py.File(tmp_path / "depth_train.mat", "w") as f:
        f["depth_train"] = bad
    ds = NYUDepthDataset(tmp_path, split="train", scale=4)
    with pytest.raises(BadFileError, match=r"depth_train\.mat: item 1 holds 1 NaN"):
        ds[1]
    skip = NYUDepthDataset(tmp_path, split="train", scale=4, on_error="skip")
    assert skip[1]["meta"]["id"] == "nyu/train/2" and skip.num_skipped == 1
    scipy.io.savemat(tmp_path / "input_4x_test.mat", {"input_4x_test": np.zeros((H, W, 2, N_TEST))})
    scipy.io.savemat(tmp_path / "depth_test.mat", {"depth_test": np.zeros((H, W, 1, N_TEST))})
    with pytest.raises(BadFileError, match=r"input_4x_test\.mat: input has 2 channels"):
        NYUDepthDataset(tmp_path, split="test", scale=4)


# ------------------------------------------------------------------------------ Middlebury
def test_middlebury_motorcycle_is_metric_and_masks_unknown():
    from skimage import data

    _, _, disp = data.stereo_motorcycle()
    item = MiddleburyDataset(scale=8, protocol="B")[0]
    assert item["mask"].shape == (1, 500, 741)
    np.testing.assert_array_equal(item["mask"][0].numpy() == 1, np.isfinite(disp))
    depth_mm = 193.001 * 994.978 / (disp[np.isfinite(disp)] + 31.086)
    assert item["meta"]["depth_min_m"] == pytest.approx(depth_mm.min() / 1000, rel=1e-5)
    assert item["meta"]["depth_max_m"] == pytest.approx(depth_mm.max() / 1000, rel=1e-5)
    assert torch.isfinite(item["target"]).all() and torch.isfinite(item["input"]).all()
    with pytest.raises(Exception, match="split"):
        MiddleburyDataset(split="train")


# ----------------------------------------------------------------------------- DeepFashion
def _fashion_sample(rng, h=16, w=12, dtype=np.float32):
    img = lambda: rng.integers(0, 256, (h, w, 3)).astype(dtype)  # noqa: E731
    pose = lambda: np.where(rng.random((h, w, 18)) < 0.05, 1.0, -1.0).astype(np.float32)  # noqa: E731
    mask = lambda: (rng.random((h, w, 1)) < 0.5).astype(np.float32)  # noqa: E731
    return {
        "x": img(),
        "x_target": img(),
        "pose": pose(),
        "pose_target": pose(),
        "mask": mask(),
        "mask_target": mask(),
    }


def test_deepfashion_pickles_match_official(tmp_path):
    rng = np.random.default_rng(1)
    (tmp_path / "train").mkdir()
    samples = [_fashion_sample(rng, dtype=np.float32 if i else np.uint8) for i in range(3)]
    for i, s in enumerate(samples):
        (tmp_path / "train" / f"{i}.pkl").write_bytes(pickle.dumps(s))
    ds = build_dataset("deepfashion", root=tmp_path)
    assert len(ds) == 3 and ds.channels == (3, 18, 3) and ds.task == "pose"
    for i, s in enumerate(samples):
        item = ds[i]
        to_t = lambda a: torch.from_numpy(a.astype(np.float32).transpose(2, 0, 1))  # noqa: E731
        assert torch.allclose(item["input"], to_t(s["x"]) / 255 * 2 - 1)
        assert torch.equal(item["guide"], to_t(s["pose_target"]))  # as stored, (18, H, W)
        assert torch.allclose(item["target"], to_t(s["x_target"]) / 255 * 2 - 1)


def test_deepfashion_bad_files(tmp_path):
    rng = np.random.default_rng(2)
    (tmp_path / "test").mkdir()
    for i in (0, 2):
        (tmp_path / "test" / f"{i}.pkl").write_bytes(pickle.dumps(_fashion_sample(rng)))
    with pytest.raises(BadFileError, match=r"1\.pkl: missing"):
        DeepFashionDataset(tmp_path, split="test")
    (tmp_path / "test" / "1.pkl").write_bytes(pickle.dumps(_fashion_sample(rng))[:100])
    ds = DeepFashionDataset(tmp_path, split="test")
    with pytest.raises(BadFileError, match=r"1\.pkl: .*(truncated|corrupt)"):
        ds[1]

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (tmp_path / "test" / "1.pkl").write_bytes(pickle.dumps({"x": Evil()}))
    with pytest.raises(BadFileError, match=r"1\.pkl: unsafe or corrupt pickle: refused"):
        ds[1]
    s = _fashion_sample(rng)
    s["pose_target"] = s["pose_target"][:, :, :17]
    (tmp_path / "test" / "1.pkl").write_bytes(pickle.dumps(s))
    with pytest.raises(BadFileError, match=r"1\.pkl: pose_target has shape \(16, 12, 17\)"):
        ds[1]
    s = _fashion_sample(rng)
    s["x"][0, 0, 0] = np.nan
    (tmp_path / "test" / "1.pkl").write_bytes(pickle.dumps(s))
    with pytest.raises(BadFileError, match=r"1\.pkl: x holds NaN"):
        ds[1]
    skip = DeepFashionDataset(tmp_path, split="test", on_error="skip")
    assert skip[1]["meta"]["id"] == "deepfashion/test/2" and skip.num_skipped == 1


# ------------------------------------------------------------------------------ TextureGAN
def _write_texturegan(root, part, names, size=(150, 140)):
    rng = np.random.default_rng(3)
    h, w = size
    for cls, name in names:
        photo = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        sketch = np.full((h, w, 3), 255, np.uint8)
        sketch[40:44, 20:120] = 0
        seg = np.zeros((h, w), np.uint8)
        seg[30:120, 25:110] = 255
        for folder, arr in ((f"{part}_img", photo), (f"{part}_skg", sketch), (f"eroded_{part}_seg", seg)):
            (root / folder / cls).mkdir(parents=True, exist_ok=True)
            Image.fromarray(arr).save(root / folder / cls / f"{name}.jpg", quality=95)


def _official_texture_item(root, part, key, u_side, u_pick):
    """The official val pipeline, step by step: Scale(128) bilinear, centre crop, LAB, scaling."""
    ims = []
    for folder in (f"{part}_img", f"{part}_skg", f"eroded_{part}_seg"):
        im = Image.open(root / folder / f"{key}.jpg").convert("RGB")
        w, h = im.size
        im = im.resize((128, int(128 * h / w)) if w < h else (int(128 * w / h), 128), Image.BILINEAR)
        w, h = im.size
        top, left = int(np.floor((h - 128) / 2 + 0.5)), int(np.floor((w - 128) / 2 + 0.5))
        ims.append(im.crop((left, top, left + 128, top + 128)))
    labs = [rgb2lab(np.asarray(im) / 255.0) for im in ims]
    scale = lambda lab: ((lab - [50, 0, 0]) / [50, 128, 128]).transpose(2, 0, 1)  # noqa: E731
    img, skg = scale(labs[0]), scale(labs[1])
    seg = labs[2][:, :, 0]
    seg = np.round(seg / 100 if seg.max() > 1 else seg)
    seg = seg / seg.max()
    seg[:10], seg[:, :10], seg[:, 118:], seg[118:] = 0, 0, 0, 0
    side = int(20 + np.round(u_side * 20))
    ones = np.flatnonzero(seg.ravel() == 1)
    r, c = divmod(int(ones[int(np.round(u_pick * (len(ones) - 1)))]), 128)
    tex, mask = np.ones((3, 128, 128)), -np.ones((1, 128, 128))
    tex[:, max(r - side // 2, 0) : r + side // 2, max(c - side // 2, 0) : c + side // 2] = img[
        :, max(r - side // 2, 0) : r + side // 2, max(c - side // 2, 0) : c + side // 2
    ]
    mask[:, max(r - side // 2, 0) : r + side // 2, max(c - side // 2, 0) : c + side // 2] = 1
    return skg[0:1], np.concatenate([tex, mask]), img


def test_texturegan_val_matches_official(tmp_path):
    _write_texturegan(tmp_path, "val", [("shoes", "a"), ("bags", "b")])
    ds = build_dataset("texturegan", split="val", root=tmp_path, seed=7)
    assert len(ds) == 2 and ds.channels == (1, 4, 3) and ds.task == "texture"
    for index, key in enumerate(["bags/b", "shoes/a"]):  # sorted by class/name, as the official glob
        u_side, u_pick = np.random.default_rng([7, index]).random(2)
        x, g, t = _official_texture_item(tmp_path, "val", key, u_side, u_pick)
        item = ds[index]
        assert item["meta"]["id"] == f"texturegan/{key}"
        np.testing.assert_allclose(item["input"].numpy(), x, atol=1e-5)
        np.testing.assert_allclose(item["guide"].numpy(), g, atol=1e-5)
        np.testing.assert_allclose(item["target"].numpy(), t, atol=1e-5)
        inside = item["guide"][3] == 1
        assert 19 * 19 <= int(inside.sum()) <= 40 * 40  # one square patch
        assert torch.all(item["guide"][:3][:, ~inside] == 1)


def test_texturegan_patch_rule_edges():
    lab = np.random.default_rng(0).uniform(-1, 1, (3, 64, 64))
    guide, (r, c, side) = place_patch(lab, np.zeros((64, 64)), 0.99, 0.5)  # empty mask: centred
    assert (r, c, side) == (32, 32, 40) and guide[3].sum() == 40 * 40 - (64 * 64 - 40 * 40)
    eroded = np.zeros((64, 64))
    eroded[5, 5] = eroded[30, 40] = 1  # (5, 5) lies in the cleared border
    _, (r, c, _) = place_patch(lab, eroded, 0.0, 0.9)
    assert (r, c) == (30, 40)


def test_texturegan_missing_partner_and_corrupt(tmp_path):
    _write_texturegan(tmp_path, "train", [("shoes", "a"), ("shoes", "b")], size=(128, 128))
    (tmp_path / "train_skg" / "shoes" / "b.jpg").unlink()
    with pytest.raises(BadFileError, match=r"train_img/shoes/b\.jpg: no partner train_skg/shoes/b"):
        TextureGANDataset(tmp_path)
    ds = TextureGANDataset(tmp_path, on_error="skip")
    assert len(ds) == 1 and ds.num_skipped == 1
    (tmp_path / "train_img" / "shoes" / "a.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (tmp_path / "train_img" / "shoes" / "b.jpg").unlink()
    (tmp_path / "eroded_train_seg" / "shoes" / "b.jpg").unlink()
    with pytest.raises(BadFileError, match=r"train_img/shoes/a\.jpg: truncated or corrupt"):
        TextureGANDataset(tmp_path)[0]
    with pytest.raises(BadFileError, match=r"a\.jpg: no readable item left .*truncated or corrupt"):
        ds[0]
    torch.manual_seed(0)
    _write_texturegan(tmp_path, "train", [("shoes", "a")], size=(160, 150))
    item = TextureGANDataset(tmp_path, random_crop=True, on_error="skip")[0]
    assert item["guide"].shape == (4, 128, 128) and item["target"].shape == (3, 128, 128)
