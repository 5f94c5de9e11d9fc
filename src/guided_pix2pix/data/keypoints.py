"""Body keypoints: the 18 OpenPose points that pose guides are drawn from.

A `Keypoints` holds 18 points in the OpenPose-18 (COCO-18) order that DeepFashion and the
synthetic pose task use (`KEYPOINTS`): nose, neck, Rsho, Relb, Rwri, Lsho, Lelb, Lwri, Rhip,
Rknee, Rank, Lhip, Lknee, Lank, Reye, Leye, Rear, Lear ("R" is the person's right, on the
image's left when they face the camera). Each point is (x, y) in pixels of an image of
`image_size` = (H, W) (pixel (row i, column j) covers [j, j + 1) x [i, i + 1)), or missing.

Files (`read_keypoints`):

- our own JSON, written by `write_keypoints` and `guided-pix2pix pose detect`::

      {"format": "openpose-18",
       "image_size": [H, W],
       "keypoints": [[x, y, confidence] or null, ... 18 entries in KEYPOINTS order]}

  confidence >= 0 (0 or null = missing; [x, y] without a confidence means 1). Other keys
  are ignored.
- OpenPose's ``--write_json`` output: ``{"people": [{"pose_keypoints_2d": [x0, y0, c0, x1,
  ...]}, ...]}`` (``pose_keypoints`` in OpenPose < 1.2) in pixels, with 18 points (COCO-18,
  the order above) or 25 (BODY_25: the 18 are its points 0-7 and 9-18; MidHip 8 and the six
  foot points 19-24 are dropped). c = 0 is a missing point. With several people, the one
  with the highest total confidence is used. OpenPose files do not record the image size, so
  their coordinates are used as pixels of whatever image they are rendered for.

Files are checked strictly (`BadFileError` naming the file): at most `MAX_FILE_BYTES`, UTF-8,
JSON without NaN / Infinity, 18 (or 25) points of finite numbers, confidences >= 0, at least
one person and one present point.

Guides (`render_heatmaps`): 18 maps ``2 * exp(-d^2 / (2 sigma^2)) - 1`` in [-1, 1] (1 on the
joint, -1 far from it), sigma = 1.2 % of the image height and at least 1.5 px, a missing
point or one outside the image leaving its map at -1 -- the encoding of the synthetic pose
task (`keypoint_heatmaps`, which `synthetic_pose` uses) and of the pose models' guides. The
official DeepFashion pickles store such maps ready-made ((256, 256, 18), used as stored, in
[-1, 1] with -1 away from the joints, same order and missing rule); their keypoints come
from OpenPose (COCO-18). The width of the official bumps is not recorded in the pickles; pass
`sigma` to `render_heatmaps` to match a model trained on other maps. A keypoint file made
for an image of (h, w) is scaled to the (H, W) it is rendered at (x * W / w, y * H / h).

`BUILTIN_POSES` are a few target poses ("standing", "arms_up", "t_pose", "walking") for a
figure facing the camera, in a unit image (image_size (1, 1), coordinates in [0, 1]); like
any keypoint file they are scaled per axis to the size they are rendered at, so they look
as drawn in a square image. `draw_skeleton` draws keypoints for people to look at: limbs and
joints in OpenPose's colours on black.
"""

from __future__ import annotations

import colorsys
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BadFileError, BadOptionError
from ..files.atomic import write_text_atomic

KEYPOINTS = (
    "nose", "neck", "Rsho", "Relb", "Rwri", "Lsho", "Lelb", "Lwri", "Rhip",
    "Rknee", "Rank", "Lhip", "Lknee", "Lank", "Reye", "Leye", "Rear", "Lear",
)  # fmt: skip
N_KEYPOINTS = len(KEYPOINTS)
FORMAT = "openpose-18"
# A keypoint file holds a few hundred numbers; OpenPose's with faces and hands for a crowd
# stays well under this. Anything larger is refused before it is read.
MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_SIDE = 1 << 16  # image_size sides, as the image readers' pixel limit allows
# BODY_25 point -> COCO-18 point: all but MidHip (8) and the feet (19-24)
BODY25_TO_COCO18 = (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18)

# The limbs OpenPose draws for COCO-18 (pairs of KEYPOINTS indices), in its drawing order;
# limb i takes colour i of `SKELETON_COLOURS`, joint k colour k.
LIMBS = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10),
    (1, 11), (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
)  # fmt: skip
# OpenPose's 18 colours: hues 0, 20, ..., 340 degrees at full saturation and value
SKELETON_COLOURS = tuple(
    tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(k / N_KEYPOINTS, 1.0, 1.0))
    for k in range(N_KEYPOINTS)
)


@dataclass(frozen=True, eq=False)
class Keypoints:
    """18 body keypoints in `KEYPOINTS` order (module docstring).

    xy: (18, 2) float64 pixels (x, y), NaN where missing. confidence: (18,) float64 >= 0,
    0 where missing. image_size: (H, W) of the image the pixels refer to, or None when the
    file did not say (OpenPose JSON). Built from anything array-like; a point is missing when
    its confidence is 0 or its coordinates are NaN (both are then set so). The arrays are
    read-only.
    """

    xy: np.ndarray
    confidence: np.ndarray
    image_size: tuple[int, int] | None = None

    def __post_init__(self):
        xy = np.array(self.xy, dtype=np.float64)
        conf = np.array(self.confidence, dtype=np.float64)
        if xy.shape != (N_KEYPOINTS, 2) or conf.shape != (N_KEYPOINTS,):
            raise ValueError(f"Keypoints need xy (18, 2) and confidence (18,), got {xy.shape}, {conf.shape}")
        missing = ~(conf > 0) | np.isnan(xy).any(1)
        if np.isinf(xy[~missing]).any() or np.isinf(conf).any():
            raise ValueError("Keypoints coordinates and confidences must be finite")
        xy[missing], conf[missing] = np.nan, 0.0
        xy.setflags(write=False)
        conf.setflags(write=False)
        size = None if self.image_size is None else _check_size(self.image_size, "image_size")
        object.__setattr__(self, "xy", xy)
        object.__setattr__(self, "confidence", conf)
        object.__setattr__(self, "image_size", size)

    @classmethod
    def from_points(cls, points, image_size: tuple[int, int] | None = None) -> Keypoints:
        """From 18 entries ``(x, y)``, ``(x, y, confidence)`` or None (missing)."""
        points = list(points)
        if len(points) != N_KEYPOINTS:
            raise ValueError(f"Keypoints need {N_KEYPOINTS} points, got {len(points)}")
        xy = np.full((N_KEYPOINTS, 2), np.nan)
        conf = np.zeros(N_KEYPOINTS)
        for k, p in enumerate(points):
            if p is not None:
                xy[k] = p[:2]
                conf[k] = p[2] if len(p) > 2 else 1.0
        return cls(xy, conf, image_size)

    @property
    def present(self) -> np.ndarray:
        """(18,) bool: which points are there."""
        return self.confidence > 0

    def __getitem__(self, name: str) -> tuple[float, float] | None:
        """(x, y) of the keypoint called `name` (a `KEYPOINTS` entry), None when missing."""
        k = KEYPOINTS.index(name)
        return None if not self.present[k] else (float(self.xy[k, 0]), float(self.xy[k, 1]))

    def scaled_to(self, size: tuple[int, int]) -> Keypoints:
        """The same pose in an image of `size` (H, W): coordinates scaled per axis from
        `image_size` (taken as they are when `image_size` is None)."""
        H, W = _check_size(size, "size")
        xy = self.xy
        if self.image_size is not None:
            h, w = self.image_size
            xy = xy * np.array([W / w, H / h])
        return Keypoints(xy, self.confidence, (H, W))

    def to_json(self) -> dict[str, Any]:
        """The dict `write_keypoints` writes (module docstring): pixels to 1/1000 px, confidences
        to 4 decimals."""
        if self.image_size is None:
            raise ValueError("Keypoints without an image_size cannot be written; use scaled_to((H, W))")
        points: list[list[float] | None] = [
            [round(float(x), 3), round(float(y), 3), round(float(c), 4)] if c > 0 else None
            for (x, y), c in zip(self.xy, self.confidence)
        ]
        for p in points:  # a tiny confidence must not round to 0 (= missing)
            if p is not None and p[2] == 0:
                p[2] = 0.0001
        return {"format": FORMAT, "image_size": list(self.image_size), "keypoints": points}


def _check_size(size, name: str) -> tuple[int, int]:
    try:
        H, W = (int(s) for s in size)
        ok = all(float(s) == int(s) for s in size)
    except (TypeError, ValueError):
        raise BadOptionError(name, f"expected (height, width), got {size!r}") from None
    if not ok or not (1 <= H <= MAX_SIDE and 1 <= W <= MAX_SIDE):
        raise BadOptionError(name, f"expected (height, width) of whole pixels 1..{MAX_SIDE}, got {size!r}")
    return H, W


# ----------------------------------------------------------------------------- files
def _refuse_constant(word: str):
    raise ValueError(f"{word} is not a JSON number")


def _load_json(path: Path) -> Any:
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise BadFileError(path, "not a file")
        if size > MAX_FILE_BYTES:
            raise BadFileError(path, f"{size} bytes; a keypoint file holds at most {MAX_FILE_BYTES} bytes")
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise BadFileError(path, exc.strerror or str(exc)) from exc
    if len(raw) > MAX_FILE_BYTES:  # grew while being read
        raise BadFileError(path, f"larger than {MAX_FILE_BYTES} bytes")
    if not raw.strip():
        raise BadFileError(path, "empty file; expected keypoint JSON")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadFileError(path, f"not UTF-8 text (byte {exc.start}); expected keypoint JSON") from exc
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise BadFileError(path, f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from exc
    except ValueError as exc:  # NaN / Infinity, or an integer too long to convert
        raise BadFileError(path, f"not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise BadFileError(path, "JSON nested too deeply") from exc


def _number(path: Path, value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadFileError(path, f"{where} is {json.dumps(value)[:40]}, expected a number")
    number = float(value)
    if not math.isfinite(number):
        raise BadFileError(path, f"{where} is {value!r}, expected a finite number")
    return number


def _confidence(path: Path, value: Any, where: str) -> float:
    c = _number(path, value, where)
    if c < 0:
        raise BadFileError(path, f"{where} is {c}, a confidence must be >= 0 (0 = missing)")
    return c


def _names(count: int) -> str:
    return "COCO-18" if count == 18 else "BODY_25" if count == 25 else f"{count} points"


def _from_openpose(path: Path, data: dict) -> Keypoints:
    people = data["people"]
    if not isinstance(people, list):
        raise BadFileError(path, f'"people" is a {type(people).__name__}, expected a list')
    if not people:
        raise BadFileError(path, 'no people in the file ("people" is empty)')
    candidates = []
    for i, person in enumerate(people):
        key = (
            "pose_keypoints_2d"
            if isinstance(person, dict) and "pose_keypoints_2d" in person
            else "pose_keypoints"
        )
        if not isinstance(person, dict) or key not in person:
            raise BadFileError(path, f'people[{i}] has no "pose_keypoints_2d" list')
        flat = person[key]
        if not isinstance(flat, list):
            raise BadFileError(path, f"people[{i}].{key} is a {type(flat).__name__}, expected a list")
        count, rest = divmod(len(flat), 3)
        if rest or count not in (18, 25):
            what = f"{len(flat)} values" + ("" if rest else f" ({count} points)")
            raise BadFileError(
                path,
                f"people[{i}].{key} holds {what}; expected 18 (COCO-18) or 25 (BODY_25) points of x, y, c",
            )
        values = [_number(path, v, f"people[{i}].{key}[{j}]") for j, v in enumerate(flat)]
        for j in range(2, len(values), 3):
            _confidence(path, values[j], f"people[{i}].{key}[{j}] (confidence)")
        triples: np.ndarray = np.array(values).reshape(count, 3)
        if count == 25:
            triples = triples[list(BODY25_TO_COCO18)]
        candidates.append(triples)
    best = max(candidates, key=lambda t: float(t[:, 2].sum()))  # the first of equals
    kp = Keypoints(best[:, :2], best[:, 2], None)
    if not kp.present.any():
        raise BadFileError(path, "no keypoint has a confidence above 0")
    return kp


def _from_ours(path: Path, data: dict) -> Keypoints:
    if data.get("format") != FORMAT:
        raise BadFileError(path, f'"format" is {json.dumps(data.get("format"))[:40]}, expected "{FORMAT}"')
    size = data.get("image_size")
    if (
        not isinstance(size, list)
        or len(size) != 2
        or not all(isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= MAX_SIDE for s in size)
    ):
        raise BadFileError(
            path,
            f'"image_size" is {json.dumps(size)[:40]}, expected [height, width] in whole pixels 1..{MAX_SIDE}',
        )
    entries = data["keypoints"]
    if not isinstance(entries, list):
        raise BadFileError(
            path, f'"keypoints" is a {type(entries).__name__}, expected a list of {N_KEYPOINTS}'
        )
    if len(entries) != N_KEYPOINTS:
        raise BadFileError(
            path, f'"keypoints" holds {len(entries)} points, expected {N_KEYPOINTS} ({", ".join(KEYPOINTS)})'
        )
    points: list[tuple[float, ...] | None] = []
    for k, entry in enumerate(entries):
        where = f"keypoints[{k}] ({KEYPOINTS[k]})"
        if entry is None:
            points.append(None)
            continue
        if not isinstance(entry, list) or len(entry) not in (2, 3):
            raise BadFileError(
                path, f"{where} is {json.dumps(entry)[:40]}, expected [x, y, confidence] or null"
            )
        x, y = _number(path, entry[0], f"{where} x"), _number(path, entry[1], f"{where} y")
        c = _confidence(path, entry[2], f"{where} confidence") if len(entry) == 3 else 1.0
        points.append((x, y, c))
    kp = Keypoints.from_points(points, (size[0], size[1]))
    if not kp.present.any():
        raise BadFileError(path, "no keypoint is present (all null or confidence 0)")
    return kp


def read_keypoints(path: str | Path) -> Keypoints:
    """Read a keypoint JSON file: ours or OpenPose's (module docstring). Any problem raises
    `BadFileError` naming the file."""
    path = Path(path)
    data = _load_json(path)
    if isinstance(data, dict) and "people" in data:
        return _from_openpose(path, data)
    if isinstance(data, dict) and "keypoints" in data:
        return _from_ours(path, data)
    raise BadFileError(
        path,
        f'not a keypoint file: expected {{"format": "{FORMAT}", "keypoints": [...]}} or OpenPose\'s {{"people": [...]}}',
    )


def write_keypoints(path: str | Path, kp: Keypoints) -> Path:
    """Write `kp` as our keypoint JSON (one point a line), atomically (`files.atomic`)."""
    data = kp.to_json()
    lines = [json.dumps(p, allow_nan=False) for p in data["keypoints"]]
    body = ",\n".join(f"    {line}" for line in lines)
    text = (
        f'{{\n  "format": {json.dumps(data["format"])},\n  "image_size": {json.dumps(data["image_size"])},\n'
        f'  "keypoints": [\n{body}\n  ]\n}}\n'
    )
    return write_text_atomic(path, text, "cannot write the keypoint file")


# ----------------------------------------------------------------------------- guides
def keypoint_heatmaps(pts: np.ndarray, size: tuple[int, int], sigma: float | None = None) -> np.ndarray:
    """(K, H, W) float32 maps in [-1, 1]: 2 * exp(-d^2 / 2 sigma^2) - 1 around each of the K
    (x, y) points `pts` (pixels); sigma defaults to max(1.5, 1.2 % of H). A point outside the
    image or NaN (missing) leaves its map at -1."""
    H, W = size
    sigma = max(1.5, 0.012 * H) if sigma is None else sigma
    maps = np.full((len(pts), H, W), -1.0, np.float32)
    reach = int(np.ceil(4 * sigma))
    for k, (x, y) in enumerate(pts):
        if not (0 <= x < W and 0 <= y < H):
            continue  # outside the image (or NaN): a missing keypoint, as in DeepFashion
        r0, r1 = max(int(y) - reach, 0), min(int(y) + reach + 1, H)
        c0, c1 = max(int(x) - reach, 0), min(int(x) + reach + 1, W)
        ys, xs = np.arange(r0, r1)[:, None], np.arange(c0, c1)[None, :]  # broadcast to the window
        g = np.exp(-((xs + 0.5 - x) ** 2 + (ys + 0.5 - y) ** 2) / (2 * sigma**2))
        maps[k, r0:r1, c0:c1] = 2 * g - 1
    return maps


def render_heatmaps(kp: Keypoints, size: tuple[int, int], sigma: float | None = None) -> np.ndarray:
    """(H, W, 18) float32 pose guide of `kp` at `size` (H, W), as the pose models take it
    (module docstring): `kp` is scaled from its image_size, each map is
    2 * exp(-d^2 / 2 sigma^2) - 1 with sigma = max(1.5, 1.2 % of H) unless given; a missing
    point leaves its map at -1."""
    H, W = _check_size(size, "size")
    if sigma is not None and not (math.isfinite(sigma) and sigma > 0):
        raise BadOptionError("sigma", f"must be a positive number, got {sigma}")
    maps = keypoint_heatmaps(kp.scaled_to((H, W)).xy, (H, W), sigma)
    return np.ascontiguousarray(maps.transpose(1, 2, 0))  # (18, H, W) -> (H, W, 18)


def draw_skeleton(kp: Keypoints, size: tuple[int, int]) -> np.ndarray:
    """(H, W, 3) uint8 picture of `kp` at `size`: OpenPose's limbs and joints, in its colours,
    on black; limbs with a missing end are left out."""
    from PIL import Image, ImageDraw

    H, W = _check_size(size, "size")
    pts = kp.scaled_to((H, W)).xy
    present = kp.present
    unit = max(min(H, W) / 256, 0.25)
    width, radius = max(1, round(4 * unit)), max(1.0, 4 * unit)
    canvas = Image.new("RGB", (W, H))
    limbs = Image.new("RGB", (W, H))
    draw = ImageDraw.Draw(limbs)
    for i, (a, b) in enumerate(LIMBS):
        if present[a] and present[b]:
            draw.line([tuple(pts[a]), tuple(pts[b])], fill=SKELETON_COLOURS[i], width=width)
    mask = Image.fromarray((np.asarray(limbs).max(2) > 0).astype(np.uint8) * 153)  # 60 % opaque limbs
    canvas.paste(limbs, (0, 0), mask)
    draw = ImageDraw.Draw(canvas)
    for k in np.flatnonzero(present):
        x, y = pts[k]
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=SKELETON_COLOURS[k])
    return np.asarray(canvas, dtype=np.uint8).copy()


# ----------------------------------------------------------------------------- built-in poses
def _pose(**points: tuple[float, float]) -> Keypoints:
    unknown = set(points) - set(KEYPOINTS)
    assert not unknown, unknown
    return Keypoints.from_points([points.get(name) for name in KEYPOINTS], (1, 1))


_HEAD = {
    "nose": (0.50, 0.17), "neck": (0.50, 0.27), "Reye": (0.48, 0.15), "Leye": (0.52, 0.15),
    "Rear": (0.46, 0.16), "Lear": (0.54, 0.16), "Rsho": (0.41, 0.28), "Lsho": (0.59, 0.28),
}  # fmt: skip
_LEGS = {
    "Rhip": (0.45, 0.55), "Rknee": (0.45, 0.73), "Rank": (0.45, 0.91),
    "Lhip": (0.55, 0.55), "Lknee": (0.55, 0.73), "Lank": (0.55, 0.91),
}  # fmt: skip

# Target poses for a figure facing the camera, in a unit image (module docstring).
BUILTIN_POSES: dict[str, Keypoints] = {
    "standing": _pose(
        **_HEAD, **_LEGS, Relb=(0.38, 0.42), Rwri=(0.37, 0.55), Lelb=(0.62, 0.42), Lwri=(0.63, 0.55)
    ),
    "arms_up": _pose(
        **_HEAD, **_LEGS, Relb=(0.36, 0.17), Rwri=(0.35, 0.05), Lelb=(0.64, 0.17), Lwri=(0.65, 0.05)
    ),
    "t_pose": _pose(
        **_HEAD, **_LEGS, Relb=(0.29, 0.28), Rwri=(0.17, 0.28), Lelb=(0.71, 0.28), Lwri=(0.83, 0.28)
    ),
    # in profile, walking towards the image's right: the right eye and ear are hidden
    "walking": _pose(
        nose=(0.56, 0.175),
        neck=(0.50, 0.27),
        Leye=(0.535, 0.155),
        Lear=(0.49, 0.165),
        Rsho=(0.49, 0.28),
        Relb=(0.535, 0.41),
        Rwri=(0.59, 0.51),
        Lsho=(0.51, 0.28),
        Lelb=(0.47, 0.41),
        Lwri=(0.43, 0.52),
        Rhip=(0.49, 0.55),
        Rknee=(0.46, 0.73),
        Rank=(0.41, 0.89),
        Lhip=(0.51, 0.55),
        Lknee=(0.56, 0.72),
        Lank=(0.60, 0.90),
    ),  # fmt: skip
}


# ----------------------------------------------------------------------------- guides from files
KEYPOINT_SUFFIXES = (".json",)


def is_keypoint_file(path: str | Path) -> bool:
    """Whether a guide file is keypoint JSON (by its suffix) rather than an image or array."""
    return Path(path).suffix.lower() in KEYPOINT_SUFFIXES


def read_pose_guide(path: str | Path, size: tuple[int, int]) -> np.ndarray:
    """The (H, W, 18) heat-map guide of a keypoint file at `size` (H, W): `read_keypoints` then
    `render_heatmaps` (the file's coordinates scaled from its image size)."""
    return render_heatmaps(read_keypoints(path), size)
