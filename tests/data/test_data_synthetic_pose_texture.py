"""Synthetic pose and texture tasks, the registry, and `data synth` round trips through folders."""

import numpy as np
import pytest
import torch
from torch.utils.data import default_collate

from guided_pix2pix.cli import main
from guided_pix2pix.data import (
    DATASETS,
    FolderDataset,
    SyntheticPoseDataset,
    SyntheticTextureDataset,
    build_dataset,
    denormalize_lab,
    lab_to_rgb,
)
from guided_pix2pix.data.synthetic_pose import heatmaps
from guided_pix2pix.data.synthetic_texture import read_gimp_pattern
from guided_pix2pix.errors import BadFileError, BadOptionError


@pytest.mark.parametrize("cls", [SyntheticPoseDataset, SyntheticTextureDataset])
def test_determinism_and_split_separation(cls):
    a, b = cls(size=(64, 64), count=2, seed=1), cls(size=(64, 64), count=2, seed=1)
    c, v = cls(size=(64, 64), count=2, seed=2), cls(split="val", size=(64, 64), count=2, seed=1)
    for key in ("input", "guide", "target"):
        assert torch.equal(a[1][key], b[1][key])
        assert not torch.equal(a[1][key], c[1][key]) and not torch.equal(a[1][key], v[1][key])


def test_pose_items_shapes_ranges_and_heatmaps_mark_the_target_pose():
    ds = SyntheticPoseDataset(size=(96, 64), count=3, seed=0)
    assert ds.task == "pose" and ds.channels == (3, 18, 3)
    item = ds[0]
    assert item["input"].shape == (3, 96, 64) and item["guide"].shape == (18, 96, 64)
    for key in ("input", "guide", "target"):
        assert item[key].dtype == torch.float32 and item[key].min() >= -1 and item[key].max() <= 1
    q = ((item["input"] + 1) / 2 * 255).round()
    assert torch.allclose(q, (item["input"] + 1) / 2 * 255, atol=1e-3)  # uint8 images
    assert not torch.equal(item["input"], item["target"])  # P != Q
    peaks = item["guide"].flatten(1).max(1).values
    assert (peaks > 0.5).sum() >= 14  # nearly all keypoints are on the image
    # the target image differs from the background around the neck heat-map peak (a body is there)
    neck = divmod(int(item["guide"][1].argmax()), 64)
    bg = item["target"][:, 0, 0]
    assert (item["target"][:, neck[0], neck[1]] - bg).abs().max() > 0.05
    assert default_collate([ds[0], ds[1]])["guide"].shape == (2, 18, 96, 64)


def test_heatmap_values():
    maps = heatmaps(np.array([[10.5, 5.5], [-3.0, 4.0]]), (20, 30))
    assert maps[0, 5, 10] == pytest.approx(1.0) and maps[0].min() == -1
    assert np.all(maps[1] == -1)  # outside the image: missing


def test_texture_items_follow_texturegan_conventions():
    ds = SyntheticTextureDataset(size=(128, 128), count=3, seed=0)
    assert ds.task == "texture" and ds.channels == (1, 4, 3)
    for i in range(3):
        item = ds[i]
        guide, mask = item["guide"][:3], item["guide"][3]
        inside = mask == 1
        assert set(mask.unique().tolist()) == {-1.0, 1.0}
        assert torch.all(guide[:, ~inside] == 1)  # texture channels 1 outside the patch
        assert torch.allclose(guide[:, inside], item["target"][:, inside])  # cut from the target
        rows, cols = inside.any(1).nonzero(), inside.any(0).nonzero()
        side_r, side_c = int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)
        assert side_r == side_c and 20 <= side_r <= 40 and int(inside.sum()) == side_r**2  # one square
        assert item["input"].min() == -1 and item["input"].max() == 1  # black lines on white, (L-50)/50
        rgb = lab_to_rgb(denormalize_lab(item["target"][None].double()))[0]
        assert torch.allclose(rgb[:, 0, 0], torch.ones(3, dtype=rgb.dtype), atol=1e-3)  # white background


def test_gimp_pattern_reader(tmp_path):
    import struct

    pixels = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    name = b"test\x00"
    header = struct.pack(">5I", 24 + len(name), 1, 5, 4, 3) + b"GPAT" + name
    (tmp_path / "p.pat").write_bytes(header + pixels.tobytes())
    assert np.array_equal(read_gimp_pattern(tmp_path / "p.pat"), pixels)
    (tmp_path / "bad.pat").write_bytes(header + pixels.tobytes()[:10])
    with pytest.raises(BadFileError, match=r"bad\.pat: truncated"):
        read_gimp_pattern(tmp_path / "bad.pat")


def test_registry_names_and_unknown_name():
    for name in (
        "synthetic_depth",
        "synthetic_pose",
        "synthetic_texture",
        "nyu",
        "deepfashion",
        "texturegan",
    ):
        assert name in DATASETS
    assert {"folder", "middlebury"} <= set(DATASETS)
    with pytest.raises(BadOptionError, match="unknown dataset 'nope'"):
        build_dataset("nope")
    with pytest.raises(BadOptionError) as err:
        build_dataset("synthetic_pose", scale=8)
    assert err.value.option == "scale"
    for name, cls in DATASETS.items():
        assert cls.task in ("depth", "pose", "texture", "generic") and len(cls.channels) == 3, name


@pytest.mark.parametrize("task, atol", [("depth", 2 / 65535 + 1e-6), ("pose", 1e-6), ("texture", 0.0)])
def test_cli_synth_writes_folders_that_read_back_as_the_same_items(tmp_path, task, atol):
    out = tmp_path / task
    argv = [
        "data",
        "synth",
        "--task",
        task,
        "--out",
        str(out),
        "--count",
        "2",
        "--size",
        "64",
        "80",
        "--seed",
        "3",
    ]
    assert main(argv + ["--scale", "4", "--protocol", "B"] if task == "depth" else argv) == 0
    back = FolderDataset(out)
    assert back.task == task and len(back) == 2
    opts = {"scale": 4, "protocol": "B"} if task == "depth" else {}
    ref = build_dataset(f"synthetic_{task}", size=(64, 80), count=2, seed=3, **opts)
    assert back.channels == ref.channels
    for i in range(2):
        a, b = back[i], ref[i]
        for key in ("input", "guide", "target"):
            assert torch.allclose(a[key], b[key], atol=atol), key
        if task == "depth":
            assert a["meta"]["depth_min_m"] == pytest.approx(b["meta"]["depth_min_m"])
    assert main(["data", "synth", "--task", task, "--out", str(out), "--count", "1"]) == 2  # not empty


def test_cli_preview_and_bench(tmp_path, capsys):
    assert (
        main(["data", "preview", "--task", "texture", "--out", str(tmp_path / "p.png"), "--count", "2"]) == 0
    )
    assert (tmp_path / "p.png").stat().st_size > 0
    # without --size, the size the task's preset trains at (64 x 64 for texture): input | guide | target
    from PIL import Image

    assert Image.open(tmp_path / "p.png").size[0] == 3 * 64
    assert main(["data", "bench", "--task", "pose", "--size", "64", "64", "--count", "2"]) == 0
    assert '"samples_per_s_per_core"' in capsys.readouterr().out
