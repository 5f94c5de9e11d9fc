"""Keypoint files (ours and OpenPose's), pose guides drawn from them, skeleton pictures."""

from __future__ import annotations

import json

import numpy as np
import pytest

from guided_pix2pix.data.keypoints import (
    BODY25_TO_COCO18,
    BUILTIN_POSES,
    KEYPOINTS,
    LIMBS,
    MAX_FILE_BYTES,
    SKELETON_COLOURS,
    Keypoints,
    draw_skeleton,
    keypoint_heatmaps,
    read_keypoints,
    render_heatmaps,
    write_keypoints,
)
from guided_pix2pix.data.synthetic_pose import SyntheticPoseDataset, heatmaps, sample_figure, sample_pose
from guided_pix2pix.errors import BadFileError


def _heatmaps_before_the_move(pts, size):
    """`synthetic_pose.heatmaps` as it was before it moved to `data.keypoints` (commit f5d8bd3)."""
    H, W = size
    sigma = max(1.5, 0.012 * H)
    maps = np.full((len(pts), H, W), -1.0, np.float32)
    reach = int(np.ceil(4 * sigma))
    for k, (x, y) in enumerate(pts):
        if not (0 <= x < W and 0 <= y < H):
            continue
        r0, r1 = max(int(y) - reach, 0), min(int(y) + reach + 1, H)
        c0, c1 = max(int(x) - reach, 0), min(int(x) + reach + 1, W)
        ys, xs = np.mgrid[r0:r1, c0:c1]
        g = np.exp(-((xs + 0.5 - x) ** 2 + (ys + 0.5 - y) ** 2) / (2 * sigma**2))
        maps[k, r0:r1, c0:c1] = 2 * g - 1
    return maps


def _pose(size=(40, 30)):
    """A pose with two missing points (Rwri, Lear), in pixels of `size`."""
    rng = np.random.default_rng(3)
    H, W = size
    xy = rng.uniform([1, 1], [W - 1, H - 1], (18, 2))
    conf = rng.uniform(0.5, 1.0, 18)
    conf[[KEYPOINTS.index("Rwri"), KEYPOINTS.index("Lear")]] = 0
    return Keypoints(xy, conf, size)


# ----------------------------------------------------------------------------- the encoding
@pytest.mark.parametrize("size", [(20, 30), (256, 176), (7, 300), (96, 64)])
def test_synthetic_pose_heatmaps_are_bit_identical_after_the_move(size):
    rng = np.random.default_rng(sum(size))
    pts = rng.uniform(-10, 300, (18, 2))  # some outside the image
    assert np.array_equal(heatmaps(pts, size), _heatmaps_before_the_move(pts, size))
    assert heatmaps is keypoint_heatmaps


def test_the_synthetic_guide_is_render_heatmaps_of_its_target_keypoints():
    ds = SyntheticPoseDataset(size=(96, 64), count=2, seed=4)
    for index in range(2):
        rng = ds.item_rng(index)
        fig = sample_figure(rng)
        sample_pose(rng, fig, (96, 64))  # pose P (the input)
        q = sample_pose(rng, fig, (96, 64))
        guide = render_heatmaps(Keypoints(q, np.ones(18), (96, 64)), (96, 64))
        assert guide.shape == (96, 64, 18) and guide.dtype == np.float32
        assert np.array_equal(guide.transpose(2, 0, 1), ds[index]["guide"].numpy())


def test_render_heatmaps_peaks_on_the_points_and_leaves_missing_ones_at_minus_one():
    kp = _pose()
    maps = render_heatmaps(kp, (40, 30))
    assert maps.shape == (40, 30, 18) and maps.dtype == np.float32
    assert maps.min() == -1 and maps.max() <= 1
    for k in range(18):
        if not kp.present[k]:
            assert np.all(maps[:, :, k] == -1), KEYPOINTS[k]
            continue
        row, col = np.unravel_index(maps[:, :, k].argmax(), (40, 30))
        assert (col, row) == (int(kp.xy[k, 0]), int(kp.xy[k, 1]))
        assert maps[row, col, k] > 0.8


def test_a_keypoint_file_is_scaled_to_the_size_it_is_rendered_at(tmp_path):
    kp = Keypoints.from_points([(10.5, 20.25, 0.9)] + [None] * 17, (50, 40))
    path = write_keypoints(tmp_path / "kp.json", kp)
    maps = render_heatmaps(read_keypoints(path), (100, 120))  # 2x taller, 3x wider
    row, col = np.unravel_index(maps[:, :, 0].argmax(), (100, 120))
    assert (col, row) == (31, 40)  # x 10.5 * 3 = 31.5, y 20.25 * 2 = 40.5: pixel centres
    assert np.array_equal(maps, render_heatmaps(kp.scaled_to((100, 120)), (100, 120)))
    sigma_wide = render_heatmaps(kp, (100, 120), sigma=6.0)
    assert (sigma_wide > 0).sum() > (maps > 0).sum()  # sigma widens the bump


def test_openpose_coordinates_without_an_image_size_are_used_as_they_are(tmp_path):
    flat = [0.0] * 54
    flat[0:3] = [12.5, 7.5, 0.8]
    (tmp_path / "op.json").write_text(json.dumps({"people": [{"pose_keypoints_2d": flat}]}))
    kp = read_keypoints(tmp_path / "op.json")
    assert kp.image_size is None and kp.present.sum() == 1
    maps = render_heatmaps(kp, (30, 40))
    assert np.unravel_index(maps[:, :, 0].argmax(), (30, 40)) == (7, 12)


# ----------------------------------------------------------------------------- files
def test_write_then_read_gives_the_same_keypoints_in_the_documented_schema(tmp_path):
    kp = _pose((123, 77))
    path = write_keypoints(tmp_path / "sub" / "kp.json", kp)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "openpose-18" and data["image_size"] == [123, 77]
    assert len(data["keypoints"]) == 18
    assert data["keypoints"][KEYPOINTS.index("Rwri")] is None
    assert all(len(p) == 3 for p in data["keypoints"] if p is not None)
    back = read_keypoints(path)
    assert back.image_size == (123, 77)
    assert np.array_equal(back.present, kp.present)
    assert np.allclose(back.xy[kp.present], kp.xy[kp.present], atol=5e-4)
    assert np.allclose(back.confidence, kp.confidence, atol=5e-5)
    assert not list(tmp_path.glob("sub/.*tmp*"))  # written atomically: no temporary left


def test_openpose_body25_maps_to_the_18_and_the_most_confident_person_is_taken(tmp_path):
    body25 = np.zeros((25, 3))
    body25[:, 0] = np.arange(25) * 10 + 1  # x encodes the BODY_25 index
    body25[:, 1] = 5
    body25[:, 2] = 0.9
    body25[11, 2] = 0  # RAnkle missing
    weak = body25.copy()
    weak[:, 2] = 0.1
    data = {"version": 1.3, "people": [{"pose_keypoints_2d": weak.ravel().tolist()},
                                       {"pose_keypoints_2d": body25.ravel().tolist()}]}  # fmt: skip
    (tmp_path / "b25.json").write_text(json.dumps(data))
    kp = read_keypoints(tmp_path / "b25.json")
    assert BODY25_TO_COCO18 == (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18)
    assert kp["Rhip"] == (91.0, 5.0) and kp["Lear"] == (181.0, 5.0) and kp["neck"] == (11.0, 5.0)
    assert kp["Rank"] is None and kp.present.sum() == 17
    assert np.allclose(kp.confidence[kp.present], 0.9)
    legacy = {"people": [{"pose_keypoints": body25[list(BODY25_TO_COCO18)].ravel().tolist()}]}
    (tmp_path / "coco18.json").write_text(json.dumps(legacy))  # OpenPose < 1.2, 18 points
    assert np.array_equal(read_keypoints(tmp_path / "coco18.json").xy, kp.xy, equal_nan=True)


def _ours(points=None, **extra):
    points = [[1.0, 2.0, 0.5]] * 18 if points is None else points
    return json.dumps({"format": "openpose-18", "image_size": [10, 10], "keypoints": points, **extra})


BAD_FILES = {
    "17_points_ours.json": (_ours([[1.0, 2.0, 0.5]] * 17), "holds 17 points, expected 18"),
    "17_points_openpose.json": (json.dumps({"people": [{"pose_keypoints_2d": [1.0] * 51}]}), "(17 points)"),
    "not_triples.json": (json.dumps({"people": [{"pose_keypoints_2d": [1.0] * 55}]}), "55 values"),
    "nan.json": (_ours().replace("1.0", "NaN", 1), "NaN is not a JSON number"),
    "infinity.json": ('{"people": [{"pose_keypoints_2d": [Infinity]}]}', "Infinity is not a JSON number"),
    "overflow.json": (_ours().replace("1.0", "1e999", 1), "expected a finite number"),
    "not_json.json": ("x: 1\ny: 2\n", "not JSON"),
    "truncated.json": (_ours()[:40], "not JSON"),
    "not_utf8.json": (b'{"people": "\xff\xfe"}', "not UTF-8"),
    "no_people.json": (json.dumps({"version": 1.3, "people": []}), "no people"),
    "negative_confidence.json": (_ours([[1.0, 2.0, -0.5]] + [None] * 17), "confidence must be >= 0"),
    "string_coordinate.json": (_ours([["1", 2.0, 1.0]] + [None] * 17), "expected a number"),
    "bool_coordinate.json": (_ours([[True, 2.0, 1.0]] + [None] * 17), "expected a number"),
    "all_missing.json": (_ours([None] * 18), "no keypoint is present"),
    "all_zero_openpose.json": (
        json.dumps({"people": [{"pose_keypoints_2d": [0.0] * 54}]}),
        "confidence above 0",
    ),
    "wrong_format.json": (_ours().replace("openpose-18", "coco-17"), '"format" is "coco-17"'),
    "bad_size.json": (_ours().replace("[10, 10]", "[10, 0]"), '"image_size"'),
    "empty.json": ("", "empty file"),
    "a_list.json": ("[1, 2, 3]", "not a keypoint file"),
    "huge.json": (b" " * (MAX_FILE_BYTES + 1), "at most"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_keypoint_files_raise_one_line_naming_the_file(tmp_path, name):
    content, needle = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(BadFileError) as info:
        read_keypoints(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and needle in message and "\n" not in message, message


def test_a_missing_file_is_a_bad_file_error(tmp_path):
    with pytest.raises(BadFileError, match="No such file"):
        read_keypoints(tmp_path / "nowhere.json")


def test_keypoints_checks_its_arrays():
    with pytest.raises(ValueError, match="18"):
        Keypoints(np.zeros((17, 2)), np.ones(17), (4, 4))
    with pytest.raises(ValueError, match="finite"):
        Keypoints(np.full((18, 2), np.inf), np.ones(18), (4, 4))
    kp = Keypoints(np.zeros((18, 2)), np.r_[np.zeros(1), np.ones(17)], (4, 4))
    assert kp["nose"] is None and np.isnan(kp.xy[0]).all() and kp["neck"] == (0.0, 0.0)
    with pytest.raises(ValueError):
        kp.xy[1, 0] = 3.0  # read-only


# ----------------------------------------------------------------------------- pictures and poses
def test_draw_skeleton_uses_openpose_colours_and_skips_missing_joints():
    kp = Keypoints.from_points(
        [None, (100.0, 60.0), (60.0, 60.0)] + [None] * 2 + [(140.0, 60.0)] + [None] * 12, (200, 200)
    )
    pic = draw_skeleton(kp, (200, 200))
    assert pic.shape == (200, 200, 3) and pic.dtype == np.uint8
    assert SKELETON_COLOURS[0] == (255, 0, 0) and SKELETON_COLOURS[1] == (255, 85, 0)
    assert LIMBS[0] == (1, 2) and LIMBS[1] == (1, 5)
    assert tuple(pic[60, 100]) == SKELETON_COLOURS[1]  # the neck joint, drawn over the limbs
    assert tuple(pic[60, 80]) == (153, 0, 0)  # limb neck-Rsho: colour 0 at 60 %
    assert tuple(pic[60, 120]) == (153, 51, 0)  # limb neck-Lsho: colour 1 at 60 %
    assert pic[100:].max() == 0 and tuple(pic[0, 0]) == (0, 0, 0)  # nothing where no joint is
    assert np.array_equal(draw_skeleton(kp.scaled_to((100, 100)), (200, 200)), pic)


def test_builtin_poses_are_unit_image_poses_that_scale_to_any_size():
    assert {"standing", "arms_up", "t_pose", "walking"} <= set(BUILTIN_POSES)
    for name, kp in BUILTIN_POSES.items():
        assert kp.image_size == (1, 1), name
        xy = kp.xy[kp.present]
        assert xy.min() >= 0 and xy.max() <= 1, name
        assert kp["nose"][1] < kp["neck"][1] < kp["Rhip"][1] < kp["Rknee"][1] < kp["Rank"][1], name
        maps = render_heatmaps(kp, (64, 48))
        for k in np.flatnonzero(kp.present):
            row, col = np.unravel_index(maps[:, :, k].argmax(), (64, 48))
            assert abs(col - kp.xy[k, 0] * 48) <= 1 and abs(row - kp.xy[k, 1] * 64) <= 1
    assert BUILTIN_POSES["arms_up"]["Rwri"][1] < BUILTIN_POSES["arms_up"]["nose"][1]
    assert BUILTIN_POSES["t_pose"]["Rwri"][1] == BUILTIN_POSES["t_pose"]["Rsho"][1]
    assert BUILTIN_POSES["walking"]["Reye"] is None  # in profile
