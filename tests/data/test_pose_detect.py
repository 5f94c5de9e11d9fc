"""Keypoint detection on real photos that install offline (scikit-image's astronaut, matplotlib's
grace_hopper), with mediapipe's bundled BlazePose model.

The expected coordinates were checked by hand: each photo was cropped around the face, enlarged
(x4 to x16, nearest neighbour) with a 5-10 px grid drawn on it, and the pupil centres and the
tip of the nose read off the grid. BlazePose's points lie within 20 px of them (measured: at
most 10 px on the astronaut, 16 px on grace_hopper, whose nose point sits above the tip).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from guided_pix2pix.data.keypoints import KEYPOINTS, read_keypoints
from guided_pix2pix.errors import BadFileError

pytest.importorskip(
    "mediapipe",
    reason="mediapipe 0.10.21 (extra 'pose') pins numpy<2, which conflicts with requirements.txt's "
    "numpy, so `make test` cannot install it; `pip install --no-deps mediapipe==0.10.21` to run these",
)

from guided_pix2pix.data.pose_detect import BLAZEPOSE_TO_OPENPOSE18, detect_keypoints  # noqa: E402

FIXTURE = Path(__file__).parent / "astronaut_keypoints.json"
TOLERANCE_PX = 20


def _astronaut():
    from skimage import data

    return data.astronaut()


def _grace_hopper():
    from matplotlib import cbook
    from PIL import Image

    with Image.open(cbook.get_sample_data("grace_hopper.jpg")) as im:
        return np.asarray(im.convert("RGB"))


# photo -> (size, hand-checked (x, y) pixels)
HAND_CHECKED = {
    "astronaut": (_astronaut, (512, 512), {"nose": (225, 126), "Reye": (204, 102), "Leye": (247, 103)}),
    "grace_hopper": (_grace_hopper, (600, 512), {"nose": (267, 241), "Reye": (221, 189), "Leye": (305, 186)}),
}


@pytest.mark.parametrize("name", sorted(HAND_CHECKED))
def test_detected_keypoints_land_where_the_person_is(name):
    load, size, expected = HAND_CHECKED[name]
    kp = detect_keypoints(load(), name)
    assert kp.image_size == size
    H, W = size
    xy = kp.xy[kp.present]
    assert kp.present.sum() >= 8 and xy[:, 0].min() >= 0 and xy[:, 0].max() < W and xy[:, 1].max() < H
    for point, (x, y) in expected.items():
        got = kp[point]
        assert got is not None and np.hypot(got[0] - x, got[1] - y) <= TOLERANCE_PX, (point, got)
    nose, neck, rsho, lsho = kp["nose"], kp["neck"], kp["Rsho"], kp["Lsho"]
    assert nose[1] < neck[1]  # the nose above the neck
    assert rsho[0] < nose[0] < lsho[0]  # facing the camera: the right shoulder on the image's left
    assert np.allclose(neck, np.mean([rsho, lsho], axis=0))  # neck = midpoint of the shoulders
    assert kp["Rear"][0] < kp["Reye"][0] < kp["Leye"][0] < kp["Lear"][0]  # ears outside the eyes
    assert not kp.present[KEYPOINTS.index("Rank")] and not kp.present[KEYPOINTS.index("Lank")]  # out of frame
    assert kp.confidence[kp.present].min() >= 0.5  # low-visibility landmarks are missing


def test_the_stored_astronaut_keypoints_are_what_detection_gives():
    stored = read_keypoints(FIXTURE)
    kp = detect_keypoints(_astronaut(), "astronaut")
    assert np.array_equal(kp.present, stored.present)
    assert np.allclose(kp.xy[kp.present], stored.xy[stored.present], atol=1.0)


def test_grey_and_rgba_photos_are_accepted_and_the_mapping_has_18_entries():
    assert len(BLAZEPOSE_TO_OPENPOSE18) == len(KEYPOINTS) and BLAZEPOSE_TO_OPENPOSE18[1] == (11, 12)
    rgb = _astronaut()
    rgba = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=2)
    assert np.allclose(detect_keypoints(rgba).xy, detect_keypoints(rgb).xy, equal_nan=True)
    grey = detect_keypoints(rgb.mean(2).astype(np.uint8))
    assert grey.present[KEYPOINTS.index("nose")]


def test_no_person_is_a_bad_file_error_naming_the_photo():
    with pytest.raises(BadFileError, match=r"^empty_wall\.png: no person found"):
        detect_keypoints(np.full((96, 128, 3), 180, np.uint8), "empty_wall.png")
    with pytest.raises(BadFileError, match="8-bit"):
        detect_keypoints(np.zeros((64, 64, 3), np.uint16), "deep.png")
