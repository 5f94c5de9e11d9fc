"""Folder triplets: matching by stem, value mapping per file type, and every bad-data case."""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.utils.data import default_collate

from guided_pix2pix.data import FolderDataset, build_dataset
from guided_pix2pix.errors import BadFileError
from guided_pix2pix.files.images import write_image


def _triplet(root, stem, h=12, w=20, guide_ext=".png", target=True, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 65536, (h, w), dtype=np.uint16)
    g = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    t = rng.integers(0, 256, (h, w), dtype=np.uint8)
    write_image(root / "input" / f"{stem}.png", x)
    if guide_ext == ".npy":
        g = rng.uniform(-1, 1, (h, w, 5)).astype(np.float32)
        (root / "guide").mkdir(parents=True, exist_ok=True)
        np.save(root / "guide" / f"{stem}.npy", g)
    else:
        write_image(root / "guide" / f"{stem}{guide_ext}", g)
    if target:
        write_image(root / "target" / f"{stem}.png", t)
    return x, g, t


def test_items_match_files_exactly(tmp_path):
    x, g, t = _triplet(tmp_path, "b", guide_ext=".npy")
    _triplet(tmp_path, "a", guide_ext=".npy", seed=1)
    ds = FolderDataset(tmp_path)
    assert len(ds) == 2 and ds.channels == (1, 5, 1) and ds.task == "generic"
    item = ds[1]
    assert item["meta"]["id"] == "b"
    np.testing.assert_allclose(item["input"][0].numpy(), x / 65535 * 2 - 1, atol=1e-6)
    np.testing.assert_allclose(item["guide"].numpy(), g.transpose(2, 0, 1), atol=1e-7)
    np.testing.assert_allclose(item["target"][0].numpy(), t / 255 * 2 - 1, atol=1e-6)
    assert default_collate([ds[0], ds[1]])["guide"].shape == (2, 5, 12, 20)


def test_inference_folder_without_target_and_split_subfolder(tmp_path):
    _triplet(tmp_path / "val", "only", target=False)
    ds = build_dataset("folder", split="val", root=tmp_path)
    assert "target" not in ds[0] and ds.channels == (1, 3, None)


def test_mask_and_meta_json(tmp_path):
    _triplet(tmp_path, "s")
    mask = np.zeros((12, 20), np.uint8)
    mask[:, 5:] = 255
    write_image(tmp_path / "mask" / "s.png", mask)
    (tmp_path / "meta.json").write_text(
        json.dumps({"task": "depth", "items": {"s": {"depth_min_m": 1, "depth_max_m": 4.5}}})
    )
    ds = FolderDataset(tmp_path)
    item = ds[0]
    assert ds.task == "depth" and item["meta"] == {"id": "s", "depth_min_m": 1.0, "depth_max_m": 4.5}
    assert (
        item["mask"].shape == (1, 12, 20)
        and item["mask"][0, 0, :5].sum() == 0
        and item["mask"][0, 0, 5:].min() == 1
    )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    h=st.integers(1, 24),
    w=st.integers(1, 24),
    c=st.sampled_from([1, 2, 3, 7]),
    dtype=st.sampled_from(["uint8", "uint16", "float32"]),
    seed=st.integers(0, 2**16),
)
def test_any_size_channels_and_dtype_round_trip(tmp_path_factory, h, w, c, dtype, seed):
    root = tmp_path_factory.mktemp("prop")
    rng = np.random.default_rng(seed)
    if dtype == "float32":
        guide = rng.uniform(-1, 1, (h, w, c)).astype(np.float32)
        expected = guide
    else:
        top = 255 if dtype == "uint8" else 65535
        guide = rng.integers(0, top + 1, (h, w, c)).astype(dtype)
        expected = guide.astype(np.float64) / top * 2 - 1
    (root / "guide").mkdir()
    np.save(root / "guide" / "x.npy", guide)
    write_image(root / "input" / "x.png", rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    item = FolderDataset(root)[0]
    assert item["guide"].shape == (c, h, w) and item["input"].shape == (3, h, w)
    np.testing.assert_allclose(item["guide"].numpy(), expected.transpose(2, 0, 1), atol=1e-6)
    assert item["guide"].abs().max() <= 1


# ------------------------------------------------------------------------------------ bad data
def test_missing_partner_names_the_file(tmp_path):
    _triplet(tmp_path, "a")
    _triplet(tmp_path, "b")
    (tmp_path / "target" / "b.png").unlink()
    with pytest.raises(BadFileError, match=r"b\.png.*no partner target/b"):
        FolderDataset(tmp_path)
    (tmp_path / "guide" / "orphan.png").write_bytes((tmp_path / "guide" / "a.png").read_bytes())
    with pytest.raises(BadFileError, match=r"orphan\.png"):
        FolderDataset(tmp_path)


def test_size_mismatch_names_the_file(tmp_path):
    _triplet(tmp_path, "a")
    write_image(tmp_path / "guide" / "a.png", np.zeros((12, 21, 3), np.uint8))
    with pytest.raises(BadFileError, match=r"guide/a\.png: size 12x21 differs"):
        FolderDataset(tmp_path)


def test_wrong_channel_count_names_the_file(tmp_path):
    _triplet(tmp_path, "a")
    _triplet(tmp_path, "b")
    write_image(tmp_path / "guide" / "b.png", np.zeros((12, 20), np.uint8))
    with pytest.raises(BadFileError, match=r"guide/b\.png: has 1 channels, expected 3"):
        FolderDataset(tmp_path)
    with pytest.raises(BadFileError, match=r"input/a\.png: has 1 channels, expected 4"):
        FolderDataset(tmp_path, channels=(4, 3, 1))


def test_corrupt_header_is_found_at_scan(tmp_path):
    _triplet(tmp_path, "a")
    (tmp_path / "guide" / "a.png").write_bytes(b"not a png at all")
    with pytest.raises(BadFileError, match=r"guide/a\.png: unreadable or corrupt"):
        FolderDataset(tmp_path)


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_truncated_file_found_at_read_or_with_verify(tmp_path):
    _triplet(tmp_path, "a", h=64, w=64)
    _truncate(tmp_path / "target" / "a.png")
    ds = FolderDataset(tmp_path)  # the header is intact: the scan passes
    with pytest.raises(BadFileError, match=r"target/a\.png: truncated or corrupt"):
        ds[0]
    with pytest.raises(BadFileError, match=r"target/a\.png"):
        FolderDataset(tmp_path, verify=True)


@pytest.mark.parametrize("bad", [np.nan, np.inf, 3.0])
def test_nan_inf_or_out_of_range_float_is_refused(tmp_path, bad):
    _triplet(tmp_path, "a", guide_ext=".npy")
    g = np.load(tmp_path / "guide" / "a.npy")
    g[3, 4, 1] = bad
    np.save(tmp_path / "guide" / "a.npy", g)
    with pytest.raises(BadFileError, match=r"guide/a\.npy: (holds 1 NaN|float values must lie)"):
        FolderDataset(tmp_path)[0]


def test_skip_policy_logs_counts_and_never_serves_a_bad_item(tmp_path, caplog):
    for i, stem in enumerate("abcd"):
        _triplet(tmp_path, stem, h=64, w=64, seed=i)
    (tmp_path / "guide" / "b.png").write_bytes(b"garbage")  # caught at scan
    _truncate(tmp_path / "target" / "c.png")  # caught at read
    with caplog.at_level("WARNING", logger="guided_pix2pix.data"):
        ds = FolderDataset(tmp_path, on_error="skip")
        assert len(ds) == 3 and ds.num_skipped == 1
        ids = [ds[i]["meta"]["id"] for i in range(len(ds))]
    assert ids == ["a", "d", "d"]  # c is unreadable: the next readable item is served
    assert ds.num_skipped == 2 and "c.png" in ds.skipped[1]
    assert sum("skipping item" in r.message for r in caplog.records) == 2
