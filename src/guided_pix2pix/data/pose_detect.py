"""Keypoints from a photo: mediapipe's BlazePose, mapped to the 18 OpenPose points.

Needs the optional extra ``pip install 'guided-pix2pix[pose]'`` (mediapipe 0.10.21, the last
release whose wheel ships the BlazePose models, and protobuf < 5, which its legacy
``solutions`` API needs). Detection runs fully offline from the wheel's bundled
``pose_detection.tflite`` and ``pose_landmark_full.tflite`` (``mp.solutions.pose`` with
``model_complexity=1``; the "lite" and "heavy" complexities would download their model, so
they are not used). One person is found per photo (BlazePose tracks a single person).

BlazePose-33 -> OpenPose-18 (DeepFashion order, `data.keypoints.KEYPOINTS`)::

    OpenPose   BlazePose              OpenPose   BlazePose
    0 nose     0 nose                 9  Rknee   26 right knee
    1 neck     mid(11, 12) shoulders  10 Rank    28 right ankle
    2 Rsho     12 right shoulder      11 Lhip    23 left hip
    3 Relb     14 right elbow         12 Lknee   25 left knee
    4 Rwri     16 right wrist         13 Lank    27 left ankle
    5 Lsho     11 left shoulder       14 Reye    5  right eye
    6 Lelb     13 left elbow          15 Leye    2  left eye
    7 Lwri     15 left wrist          16 Rear    8  right ear
    8 Rhip     24 right hip           17 Lear    7  left ear

"Right" is the person's right in both. A landmark with visibility < `MIN_VISIBILITY` (0.5) or
outside the image is missing (as DeepFashion's keypoints of occluded or cut-off joints); the
neck is the midpoint of the shoulders when both are present (its confidence the smaller of
their two). Confidences are BlazePose's visibilities.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from importlib import metadata
from pathlib import Path

import numpy as np

from ..errors import BadFileError, UserError
from ..files.images import read_image
from .keypoints import N_KEYPOINTS, Keypoints

MEDIAPIPE_VERSION = "0.10.21"
MIN_VISIBILITY = 0.5
# OpenPose-18 index -> BlazePose landmark index, or the pair whose midpoint it is
BLAZEPOSE_TO_OPENPOSE18: tuple[int | tuple[int, int], ...] = (
    0, (11, 12), 12, 14, 16, 11, 13, 15, 24, 26, 28, 23, 25, 27, 5, 2, 8, 7,
)  # fmt: skip
_MODEL_FILES = (
    "modules/pose_detection/pose_detection.tflite",
    "modules/pose_landmark/pose_landmark_full.tflite",
)
# what mediapipe's native code prints on every run: TensorFlow Lite's banner and absl's info and
# warning lines ("W0000 00:00:... file.cc:N] ..."); errors and anything else are passed on
_NOISE = re.compile(
    r"^(INFO: Created TensorFlow Lite|WARNING: All log messages before absl::InitializeLog|"
    r"[WI]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\])"
)
_LOCK = threading.Lock()  # one detection at a time: the stderr capture below is process-wide


def _mediapipe():
    """Import mediapipe, or say in one line what to install."""
    install = f"pip install 'guided-pix2pix[pose]' (mediapipe=={MEDIAPIPE_VERSION}, protobuf<5)"
    try:
        found = metadata.version("mediapipe")
    except metadata.PackageNotFoundError:
        raise UserError(f"pose detection needs mediapipe: {install}") from None
    if found != MEDIAPIPE_VERSION:
        raise UserError(
            f"pose detection needs mediapipe {MEDIAPIPE_VERSION} (later releases ship no pose model), "
            f"found {found}: {install}"
        )
    protobuf = metadata.version("protobuf") if _installed("protobuf") else "none"
    if not protobuf.split(".")[0].isdigit() or int(protobuf.split(".")[0]) >= 5:
        raise UserError(f"mediapipe {MEDIAPIPE_VERSION} needs protobuf < 5, found {protobuf}: {install}")
    import mediapipe as mp

    root = Path(mp.__file__).parent
    missing = [f for f in _MODEL_FILES if not (root / f).is_file()]
    if missing:  # mediapipe would try to download it; never do that
        raise UserError(f"mediapipe's bundled pose model {missing[0]} is missing; reinstall: {install}")
    return mp


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


@contextlib.contextmanager
def _native_stderr_filtered():
    """Capture what native code writes to file descriptor 2 and pass on all but `_NOISE`."""
    fd = 2  # native code writes there, whatever Python's sys.stderr is
    try:
        if sys.stderr is not None:
            sys.stderr.flush()
        saved = os.dup(fd)
    except OSError:  # no file descriptor 2 (a closed stderr): nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), fd)
        try:
            yield
        finally:
            if sys.stderr is not None:
                sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode("utf-8", "replace")
            kept = [line for line in text.splitlines() if line.strip() and not _NOISE.match(line)]
            if kept and sys.stderr is not None:
                sys.stderr.write("\n".join(kept) + "\n")


def _as_rgb(image: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise BadFileError(name, f"expected an (H, W, 3) RGB photo, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        raise BadFileError(name, f"expected an 8-bit photo, got dtype {arr.dtype}")
    if min(arr.shape[:2]) < 16:
        raise BadFileError(
            name, f"photo of {arr.shape[0]}x{arr.shape[1]} pixels is too small to find a person"
        )
    return np.ascontiguousarray(arr[:, :, :3])


def detect_keypoints(rgb_uint8: np.ndarray, name: str = "photo") -> Keypoints:
    """The 18 OpenPose keypoints of the person in an (H, W, 3) uint8 RGB photo (grey (H, W) and
    RGBA are accepted too), in its pixels (image_size (H, W)). `name` names the photo in errors:
    `BadFileError(name, "no person found")` when there is none. Needs mediapipe (module doc)."""
    rgb = _as_rgb(rgb_uint8, name)
    mp = _mediapipe()
    H, W = rgb.shape[:2]
    with _LOCK, _native_stderr_filtered():
        with mp.solutions.pose.Pose(
            static_image_mode=True,
            model_complexity=1,
            enable_segmentation=False,
            min_detection_confidence=0.5,
        ) as model:
            result = model.process(rgb)
    if result.pose_landmarks is None:
        raise BadFileError(name, "no person found")
    marks = result.pose_landmarks.landmark
    xyv = np.array([(m.x * W, m.y * H, m.visibility) for m in marks], dtype=np.float64)  # (33, 3)
    inside = (xyv[:, 0] >= 0) & (xyv[:, 0] < W) & (xyv[:, 1] >= 0) & (xyv[:, 1] < H)
    seen = inside & (xyv[:, 2] >= MIN_VISIBILITY)
    xy = np.full((N_KEYPOINTS, 2), np.nan)
    conf = np.zeros(N_KEYPOINTS)
    for k, source in enumerate(BLAZEPOSE_TO_OPENPOSE18):
        pair = source if isinstance(source, tuple) else (source,)
        if all(seen[i] for i in pair):
            xy[k] = xyv[list(pair), :2].mean(0)
            conf[k] = min(float(xyv[i, 2]) for i in pair)
    if not (conf > 0).any():
        raise BadFileError(name, "no person found (no body landmark clearly visible)")
    return Keypoints(xy, conf, (H, W))


def detect_photo(path: str | Path) -> Keypoints:
    """`detect_keypoints` on an image file (read with `files.images.read_image`)."""
    path = Path(path)
    return detect_keypoints(read_image(path), name=str(path))
