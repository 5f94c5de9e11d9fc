"""Synthetic depth up-sampling: ray-cast indoor scenes with metric depth, generated on the fly.

A scene is a room (floor, ceiling, walls) seen by a pinhole camera from inside, holding 3-8
boxes (turned about the vertical), spheres and upright cylinders. Each surface has its own
hue, so every occlusion (depth) edge is also a colour edge; each surface also carries a
pattern in its own surface coordinates (stripes, checks, tiles, panels, waves), which makes
colour edges where depth is smooth, so copying RGB edges blindly into the depth is punished.
Lambertian shading from a ceiling light varies brightness across every surface.

Depth is the z-distance along the optical axis in metres (as Kinect / NYU v2), in 0.5-10 m.
Items follow the data contract (see `guided_pix2pix.data.depth.make_depth_item`): input = the
low-resolution depth made with protocol A or B at `scale`, up-sampled back to full size;
guide = RGB (8-bit levels); target = full-resolution depth; all in [-1, 1], normalised by the target's
per-image min/max (kept in ``meta``). Item (seed, split, index) is always the same image.
"""

from __future__ import annotations

import colorsys
import functools
from collections.abc import Callable

import numpy as np
import torch

from ..errors import BadOptionError
from .depth import DEPTH_RANGE_M, SensorModel, check_normalization, check_protocol, make_depth_item
from .synthetic_common import SyntheticDataset

_STREAM = 1  # keeps the depth task's random streams apart from the other synthetic tasks


# ----------------------------------------------------------------------------- surface patterns
# pattern name -> f(u, v, rng-drawn params) giving the weight (0..1) of the second colour.
# u, v are surface coordinates in metres.
def _stripes(u, v, p):
    return (np.sin((u * p["cos"] + v * p["sin"]) * (2 * np.pi / p["period"])) > 0).astype(np.float32)


def _checker(u, v, p):
    return ((np.floor(u / p["period"]) + np.floor(v / p["period"])) % 2).astype(np.float32)


def _tiles(u, v, p):
    gu = np.abs((u / p["period"]) % 1.0 - 0.5) > 0.45
    gv = np.abs((v / p["period"]) % 1.0 - 0.5) > 0.45
    return (gu | gv).astype(np.float32)


def _panels(u, v, p):
    inside = (np.abs(u - p["cu"]) < p["hu"]) & (np.abs(v - p["cv"]) < p["hv"])
    return inside.astype(np.float32)


def _waves(u, v, p):
    s = np.sin(u * p["fu"] + np.sin(v * p["fv"]) * 1.5)
    return (0.5 + 0.5 * s).astype(np.float32)


def _plain(u, v, p):
    return np.zeros_like(u, dtype=np.float32)


# photographs from scikit-image (offline), used as surface textures when photo_textures > 0:
# real edges, text and grain inside a flat surface, which must not become depth edges
PHOTO_TEXTURES = (
    "brick", "grass", "gravel", "camera", "coffee", "chelsea", "rocket", "coins",
    "moon", "page", "text", "horse", "immunohistochemistry", "hubble_deep_field", "cell", "clock",
)  # fmt: skip
PHOTO_TILE = 256  # pixels per side of each texture tile


@functools.lru_cache(maxsize=1)
def photo_tiles() -> tuple[np.ndarray, ...]:
    """Each photo of `PHOTO_TEXTURES` as a (256, 256) float32 luminance tile stretched to [0, 1]."""
    from skimage import data
    from skimage.color import rgb2gray
    from skimage.transform import resize

    tiles = []
    for name in PHOTO_TEXTURES:
        image = np.asarray(getattr(data, name)(), dtype=np.float64)
        grey = rgb2gray(image[..., :3]) if image.ndim == 3 else image / max(1.0, float(image.max()))
        tile = resize(grey, (PHOTO_TILE, PHOTO_TILE), anti_aliasing=True)
        lo, hi = np.percentile(tile, [1, 99])
        tiles.append(np.clip((tile - lo) / max(hi - lo, 1e-6), 0, 1).astype(np.float32))
    return tuple(tiles)


def _photo(u, v, p):
    """A photograph tiled over the surface: `scale` tiles per metre, shifted by (ou, ov)."""
    tile = photo_tiles()[p["photo"]]
    cols = (np.mod(u * p["scale"] + p["ou"], 1.0) * PHOTO_TILE).astype(np.int64) % PHOTO_TILE
    rows = (np.mod(-v * p["scale"] + p["ov"], 1.0) * PHOTO_TILE).astype(np.int64) % PHOTO_TILE
    return tile[rows, cols]


PATTERNS: dict[str, Callable] = {
    "plain": _plain,
    "stripes": _stripes,
    "checker": _checker,
    "tiles": _tiles,
    "panels": _panels,
    "waves": _waves,
    "photo": _photo,  # only drawn with photo_textures > 0
}


def _pattern_params(rng: np.random.Generator) -> dict:
    angle = rng.uniform(0, np.pi)
    return {
        "period": rng.uniform(0.12, 0.6),
        "cos": np.cos(angle),
        "sin": np.sin(angle),
        "cu": rng.uniform(-1.5, 1.5),
        "cv": rng.uniform(0.6, 1.8),
        "hu": rng.uniform(0.3, 1.0),
        "hv": rng.uniform(0.2, 0.6),
        "fu": rng.uniform(4, 14),
        "fv": rng.uniform(2, 8),
    }


def _surface_look(rng: np.random.Generator, hue: float, photo_textures: float = 0.0) -> dict:
    """Two colours of one hue family and a pattern choosing between them; with probability
    `photo_textures` the pattern is a photograph (the draws for 0 are those of older releases)."""
    s1, v1 = rng.uniform(0.45, 0.9), rng.uniform(0.5, 0.95)
    v2 = v1 - 0.3 if v1 > 0.65 else v1 + 0.3
    c1 = colorsys.hsv_to_rgb(hue % 1.0, s1, v1)
    c2 = colorsys.hsv_to_rgb((hue + rng.uniform(-0.05, 0.05)) % 1.0, rng.uniform(0.3, 0.9), v2)
    names = [n for n in PATTERNS if n != "photo"]
    weights = np.array([0.1, 0.25, 0.2, 0.15, 0.15, 0.15])
    look = {
        "c1": np.array(c1, np.float32),
        "c2": np.array(c2, np.float32),
        "pattern": names[rng.choice(len(names), p=weights)],
        "params": _pattern_params(rng),
    }
    if photo_textures > 0 and rng.random() < photo_textures:
        look["pattern"] = "photo"
        look["params"] = {
            "photo": int(rng.integers(len(PHOTO_TEXTURES))),
            "scale": rng.uniform(0.25, 1.5),  # tiles per metre
            "ou": rng.random(),
            "ov": rng.random(),
        }
    return look


# ----------------------------------------------------------------------------- ray casting
# Rays and hits are kept one array per component (x, y, z): numpy is slow on the short last
# axis of (N, 3) arrays (reductions, fancy indexing). Every arithmetic step is the operation
# of the (N, 3) formulation on the same values and dtypes (min / argmin over three columns
# become comparisons), so scenes are unchanged bit for bit
# (tests/data/test_synthetic_speed_equivalence.py).
class _Hits:
    """Nearest-hit buffers over N rays: distance t, unit normal [x, y, z], surface [u, v], surface
    id (one (N,) array each, float32 and int32). The room's hits (every ray has one) start the
    buffers. Rays are float64, so hits are found in float64 and stored rounded to float32."""

    def __init__(self, t: np.ndarray, normal: list[np.ndarray], uv: list[np.ndarray], sid: np.ndarray):
        self.t, self.normal, self.uv, self.sid = t, normal, uv, sid

    def closer(self, idx: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Which of the rays `idx` (with distances `t`) beat the current nearest hit."""
        return t < self.t[idx]

    def store(self, idx, t, normal, uv, sid: int) -> None:
        """normal: three arrays (x, y, z), uv: two arrays (u, v), each over the rays `idx`."""
        self.t[idx] = t
        for k in range(3):
            self.normal[k][idx] = normal[k]
        for k in range(2):
            self.uv[k][idx] = uv[k]
        self.sid[idx] = sid


def _first_extreme(c0, c1, c2, pick) -> tuple[np.ndarray, np.ndarray]:
    """Per ray, the extreme of three NaN-free columns and its axis (the first on ties), as
    ``(N, 3).min(1)`` / ``argmin(1)`` (pick = np.minimum) or max / argmax (np.maximum)."""
    m01 = pick(c0, c1)
    axis = (m01 != c0).astype(np.int64)  # 1 where column 1 is strictly better
    best = pick(m01, c2)
    axis[best != m01] = 2
    return best, axis


def _face_uv(p, axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(u, v) of points p = (x, y, z) on axis-aligned faces: normal axis 0 -> (z, y), 1 -> (x, z), 2 -> (x, y)."""
    return np.where(axis == 0, p[2], p[0]), np.where(axis == 1, p[2], p[1])


def _axis_normal(d, axis: np.ndarray) -> list[np.ndarray]:
    """Unit normals (x, y, z) along `axis`, facing the camera (against the ray d = (x, y, z))."""
    return [np.where(axis == k, -np.sign(d[k]), np.float32(0.0)) for k in range(3)]


def _room(o, d, half_w, height, depth) -> _Hits:
    """The room box seen from inside: every ray leaves it through one face. d: (3, N) rays."""
    lo = np.array([-half_w, 0.0, -1.0], np.float32)
    hi = np.array([half_w, height, depth], np.float32)
    t_axes = []  # exit distance per axis
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(3):
            t_k = np.where(d[k] > 0, hi[k] - o[k], lo[k] - o[k]) / d[k]
            t_axes.append(np.where(t_k > 0, t_k, np.float32(np.inf)))  # NaN and negative -> never
    t, axis = _first_extreme(t_axes[0], t_axes[1], t_axes[2], np.minimum)
    p = [o[k] + t * d[k] for k in range(3)]
    # surface ids: 0 side walls, 1 floor, 2 ceiling, 3 back wall
    sid = np.where(axis == 0, 0, np.where(axis == 2, 3, np.where(d[1] < 0, 1, 2))).astype(np.int32)
    normal = [n.astype(np.float32) for n in _axis_normal(d, axis)]  # the hit buffers are float32
    uv = [c.astype(np.float32) for c in _face_uv(p, axis)]
    return _Hits(t.astype(np.float32), normal, uv, sid)


def _rot_y(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], np.float32)


def _rot_x(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]], np.float32)


def _box(o, d, idx, centre, half, R, sid, hits: _Hits) -> None:
    """The box `centre` +- `half` in its own frame, turned by R (3 x 3 float32, local -> world)."""
    ol = (o - centre) @ R  # world -> local (R^T x, row-wise)
    dl = np.ascontiguousarray((d @ R).T)  # (n, 3) -> (3, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (-half - ol)[:, None] / dl
        t2 = (half - ol)[:, None] / dl
    tmin = np.fmin(t1, t2)  # fmin/fmax drop the NaN of 0/0 (ray inside a slab plane)
    tmax = np.fmax(t1, t2)
    near = np.maximum(np.maximum(tmin[0], tmin[1]), tmin[2])
    far = np.minimum(np.minimum(tmax[0], tmax[1]), tmax[2])
    win = (near <= far) & (near > 1e-3)
    win[win] = hits.closer(idx[win], near[win])
    if not win.any():
        return
    _, axis = _first_extreme(tmin[0, win], tmin[1, win], tmin[2, win], np.maximum)
    near_w, dl_w = near[win], dl[:, win]
    pl = [ol[k] + near_w * dl_w[k] for k in range(3)]
    # the local face normal is +-1 on one axis, so its world normal is +-1 times a column of R
    side = -np.sign(dl_w[axis, np.arange(len(axis))])
    normal = [side * R[k, axis] for k in range(3)]
    hits.store(idx[win], near_w, normal, _face_uv(pl, axis), sid)


def _sphere(o, d, idx, centre, radius, sid, hits: _Hits) -> None:
    oc = o - centre
    a = np.einsum("ij,ij->i", d, d)
    b = d @ oc
    c = float(oc @ oc) - radius**2
    disc = b * b - a * c
    win = disc > 0
    t = np.full(len(d), np.inf, np.float32)
    t[win] = (-b[win] - np.sqrt(disc[win])) / a[win]
    win &= t > 1e-3
    win[win] = hits.closer(idx[win], t[win])
    if not win.any():
        return
    normal = (o + t[win, None] * d[win] - centre) / radius
    uv = (np.arctan2(normal[:, 0], normal[:, 2]) * radius, normal[:, 1] * radius)
    hits.store(idx[win], t[win], normal.T, uv, sid)


def _cylinder(o, d, idx, cx, cz, radius, y0, y1, sid, hits: _Hits) -> None:
    ox, oz = o[0] - cx, o[2] - cz
    a = d[:, 0] ** 2 + d[:, 2] ** 2
    b = ox * d[:, 0] + oz * d[:, 2]
    c = ox * ox + oz * oz - radius**2
    disc = b * b - a * c
    with np.errstate(divide="ignore", invalid="ignore"):
        t_side = (-b - np.sqrt(np.maximum(disc, 0))) / a
        y = o[1] + t_side * d[:, 1]
        cap_y = y1 if o[1] > y1 else y0  # the cap the camera can see
        t_cap = (cap_y - o[1]) / d[:, 1]
    side_ok = (disc > 0) & (t_side > 1e-3) & (y >= y0) & (y <= y1)
    t_side = np.where(side_ok, t_side, np.inf)
    px, pz = o[0] + t_cap * d[:, 0] - cx, o[2] + t_cap * d[:, 2] - cz
    cap_ok = (t_cap > 1e-3) & (px * px + pz * pz <= radius**2)
    t_cap = np.where(cap_ok, t_cap, np.inf)
    t = np.minimum(t_side, t_cap)
    win = np.isfinite(t)
    win[win] = hits.closer(idx[win], t[win])
    if not win.any():
        return
    t, on_side = t[win], (t_side <= t_cap)[win]
    p = o + t[:, None] * d[win]
    normal = np.stack([(p[:, 0] - cx) / radius, np.zeros_like(t), (p[:, 2] - cz) / radius], 1)
    normal[~on_side] = (0.0, 1.0 if cap_y == y1 else -1.0, 0.0)
    angle = np.arctan2(p[:, 0] - cx, p[:, 2] - cz) * radius
    uv = np.where(on_side[:, None], np.stack([angle, p[:, 1]], 1), np.stack([p[:, 0], p[:, 2]], 1))
    hits.store(idx[win], t, normal.T, uv.T, sid)


class _Camera:
    """Pinhole camera: rays with unit z in the camera frame, so a ray's parameter is its depth."""

    def __init__(self, size, position, fov, yaw, pitch):
        H, W = size
        self.size, self.position = size, position
        self.f = 0.5 * W / np.tan(fov / 2)
        cp, sp = np.cos(pitch), np.sin(pitch)
        R_pitch = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]], np.float32)
        self.R = _rot_y(yaw) @ R_pitch  # camera -> world
        xs = (np.arange(W, dtype=np.float32) + 0.5 - W / 2) / self.f
        ys = -(np.arange(H, dtype=np.float32) + 0.5 - H / 2) / self.f
        d_cam = np.stack(np.broadcast_arrays(xs[None, :], ys[:, None], np.ones((1, 1), np.float32)), -1)
        self.d = d_cam.reshape(-1, 3) @ self.R.T  # (H, W, 3) -> (H*W, 3), world frame
        self.d_rows = np.ascontiguousarray(self.d.T)  # (H*W, 3) -> (3, H*W): x, y, z

    def pixels_of(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Flat indices of the pixels that can see the world box [lo, hi] (screen bounding box)."""
        corners = np.array(
            [[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])]
        )
        return self.pixels_of_points(corners)

    def pixels_of_points(self, points: np.ndarray) -> np.ndarray:
        """Flat indices of the pixels that can see the convex hull of world `points` (K, 3)
        (the screen bounding box of their projections, a pixel wider on each side)."""
        H, W = self.size
        pc = (points - self.position) @ self.R  # world -> camera
        if (pc[:, 2] < 0.05).any():
            return np.arange(H * W)
        col = pc[:, 0] / pc[:, 2] * self.f + W / 2 - 0.5
        row = -pc[:, 1] / pc[:, 2] * self.f + H / 2 - 0.5
        r0, r1 = max(int(np.floor(row.min())) - 1, 0), min(int(np.ceil(row.max())) + 2, H)
        c0, c1 = max(int(np.floor(col.min())) - 1, 0), min(int(np.ceil(col.max())) + 2, W)
        if r0 >= r1 or c0 >= c1:
            return np.zeros(0, np.int64)
        return (np.arange(r0, r1)[:, None] * W + np.arange(c0, c1)[None, :]).ravel()  # (h, w) -> (h*w,)


def _box_corners(centre: np.ndarray, half: np.ndarray, R: np.ndarray) -> np.ndarray:
    """(8, 3) world corners of the box `centre` +- `half` turned by R (local -> world)."""
    signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], np.float64)
    return centre + (signs * half) @ R.astype(np.float64).T


def _add_box(cam: _Camera, centre, half, R, sid: int, hits: _Hits) -> None:
    idx = cam.pixels_of_points(_box_corners(centre, half, R))
    _box(cam.position, cam.d[idx], idx, centre, half, R, sid, hits)


# ----------------------------------------------------------------------------- furniture (geometry "rich")
# Each function places one piece in the room and returns how many surface ids it used (its
# parts share one id when they are one object of one material: a table's top and legs).
def _table(rng, cam, hits, room, sid) -> int:
    half_w, room_h, z = room
    top = rng.uniform([0.3, 0.012, 0.2], [0.75, 0.04, 0.45]).astype(np.float32)
    height = rng.uniform(0.45, 0.95)
    yaw = rng.uniform(-0.8, 0.8)
    x = rng.uniform(-half_w + 0.4, half_w - 0.4)
    R = _rot_y(yaw)
    _add_box(cam, np.array([x, height, z], np.float32), top, R, sid, hits)
    leg = np.float32(rng.uniform(0.015, 0.045))
    leg_half = np.array([leg, height / 2, leg], np.float32)
    for sx in (-1, 1):
        for sz in (-1, 1):
            offset = R @ np.array([sx * (top[0] - leg), 0.0, sz * (top[2] - leg)], np.float32)
            _add_box(cam, np.array([x, height / 2, z], np.float32) + offset, leg_half, R, sid, hits)
    return 1


def _board(rng, cam, hits, room, sid) -> int:
    """A thin plank or panel at a slant: a board leaning on something, a ramp, a picture frame."""
    half_w, room_h, z = room
    half = rng.uniform([0.15, 0.008, 0.3], [0.7, 0.03, 1.0]).astype(np.float32)
    R = _rot_y(rng.uniform(-1.2, 1.2)) @ _rot_x(rng.uniform(0.25, 1.35))
    centre = np.array([rng.uniform(-half_w + 0.3, half_w - 0.3), rng.uniform(0.25, 1.4), z], np.float32)
    _add_box(cam, centre, half, R, sid, hits)
    return 1


def _pole(rng, cam, hits, room, sid) -> int:
    """A thin upright rod: a lamp stand, a chair leg, a pipe (a few pixels wide at most)."""
    half_w, room_h, z = room
    r = rng.uniform(0.01, 0.05)
    top = rng.uniform(0.6, room_h)
    cx = rng.uniform(-half_w + r, half_w - r)
    idx = cam.pixels_of(np.array([cx - r, 0.0, z - r]), np.array([cx + r, top, z + r]))
    _cylinder(cam.position, cam.d[idx], idx, cx, z, r, 0.0, top, sid, hits)
    return 1


def _stack(rng, cam, hits, room, sid) -> int:
    """2-4 boxes piled on each other, each turned a little: crates, books, a cabinet on a chest."""
    half_w, room_h, z = room
    n = int(rng.integers(2, 5))
    x, y, yaw = rng.uniform(-half_w + 0.5, half_w - 0.5), 0.0, rng.uniform(-0.8, 0.8)
    for k in range(n):
        half = rng.uniform([0.12, 0.06, 0.12], [0.45, 0.3, 0.4]).astype(np.float32)
        centre = np.array([x + rng.uniform(-0.1, 0.1), y + half[1], z + rng.uniform(-0.1, 0.1)], np.float32)
        _add_box(cam, centre, half, _rot_y(yaw + rng.uniform(-0.3, 0.3)), sid + k, hits)
        y += 2 * half[1]
    return n


FURNITURE: dict[str, Callable] = {"table": _table, "board": _board, "pole": _pole, "stack": _stack}
GEOMETRIES = ("basic", "rich")  # "rich": the basic objects plus 2-6 pieces of `FURNITURE`


# ----------------------------------------------------------------------------- scene sampling
def render_scene(
    rng: np.random.Generator, size: tuple[int, int], photo_textures: float = 0.0, geometry: str = "basic"
) -> tuple[np.ndarray, np.ndarray]:
    """Sample and ray-cast one room. Returns (rgb (H, W, 3) float32 in [0, 1], depth (H, W) metres).

    photo_textures: probability that a surface is textured with a photograph (0: patterns only).
    geometry: "basic" (boxes, balls, upright cylinders) or "rich" (also `FURNITURE`: tables,
    slanted boards, thin poles, stacks; drawn after the basic objects, so "basic" scenes are
    those of earlier releases)."""
    H, W = size
    half_w = rng.uniform(1.6, 3.2)
    room_h = rng.uniform(2.4, 3.2)
    room_d = rng.uniform(4.0, 8.0)
    position = np.array([rng.uniform(-0.4, 0.4) * half_w, rng.uniform(1.0, 1.7), 0.0], np.float32)
    cam = _Camera(
        size, position, np.radians(rng.uniform(55, 70)), rng.uniform(-0.25, 0.25), rng.uniform(-0.3, 0.05)
    )
    o, d = position, cam.d

    hits = _room(o, cam.d_rows, half_w, room_h, room_d)

    n_objects = int(rng.integers(3, 9))
    for k in range(n_objects):
        sid = 4 + k
        kind = rng.choice(3, p=[0.5, 0.2, 0.3])
        z = rng.uniform(1.4, min(room_d - 0.4, 5.5))
        if kind == 0:  # box standing on the floor or hanging on a wall
            half = rng.uniform([0.15, 0.1, 0.15], [0.6, 0.8, 0.5]).astype(np.float32)
            x = rng.uniform(-half_w + half[0], half_w - half[0])
            y = half[1] if rng.random() < 0.75 else rng.uniform(0.8, room_h - half[1] - 0.1)
            centre = np.array([x, y, z], np.float32)
            _add_box(cam, centre, half, _rot_y(rng.uniform(-0.8, 0.8)), sid, hits)
        elif kind == 1:  # ball on the floor or in the air
            r = rng.uniform(0.12, 0.45)
            y = r if rng.random() < 0.6 else rng.uniform(r + 0.2, room_h - r - 0.2)
            centre = np.array([rng.uniform(-half_w + r, half_w - r), y, z], np.float32)
            idx = cam.pixels_of(centre - r, centre + r)
            _sphere(o, d[idx], idx, centre, r, sid, hits)
        else:  # upright cylinder: a bin, a column, a lamp
            r = rng.uniform(0.1, 0.35)
            top = rng.uniform(0.3, room_h if rng.random() < 0.2 else 1.3)
            cx = rng.uniform(-half_w + r, half_w - r)
            idx = cam.pixels_of(np.array([cx - r, 0.0, z - r]), np.array([cx + r, top, z + r]))
            _cylinder(o, d[idx], idx, cx, z, r, 0.0, top, sid, hits)

    n_surfaces = 4 + n_objects
    if geometry == "rich":
        names = list(FURNITURE)
        for _ in range(int(rng.integers(2, 7))):
            piece = FURNITURE[names[rng.integers(len(names))]]
            room = (half_w, room_h, rng.uniform(1.2, min(room_d - 0.4, 5.5)))
            n_surfaces += piece(rng, cam, hits, room, n_surfaces)
    hues = rng.random() + rng.permutation(n_surfaces) / n_surfaces  # a distinct hue per surface
    m = np.empty(len(d), np.float32)  # per pixel: the weight of its surface's second colour
    colours = np.empty((2, 3, n_surfaces), np.float32)  # (c1, c2) x (r, g, b) x surface
    for s in range(n_surfaces):
        sel = np.flatnonzero(hits.sid == s)
        look = _surface_look(rng, hues[s], photo_textures)  # drawn even when unseen: streams stay aligned
        colours[0, :, s], colours[1, :, s] = look["c1"], look["c2"]
        if len(sel):
            m[sel] = PATTERNS[look["pattern"]](hits.uv[0][sel], hits.uv[1][sel], look["params"])

    t, dr = hits.t, cam.d_rows
    light = np.array([rng.uniform(-0.5, 0.5) * half_w, room_h - 0.15, rng.uniform(0.5, room_d * 0.6)])
    to_light = [(light[k] - (o[k] + t * dr[k])).astype(np.float32) for k in range(3)]
    dist = np.sqrt(to_light[0] * to_light[0] + to_light[1] * to_light[1] + to_light[2] * to_light[2]) + 1e-6
    n = hits.normal
    lambert = np.clip((n[0] * to_light[0] + n[1] * to_light[1] + n[2] * to_light[2]) / dist, 0.0, 1.0)
    shade = 0.45 + 0.8 * lambert / (1.0 + 0.04 * dist * dist)
    rgb = np.empty((len(d), 3), np.float32)
    for c in range(3):
        albedo = colours[0, c][hits.sid] * (1 - m) + colours[1, c][hits.sid] * m
        rgb[:, c] = np.clip(albedo * shade, 0.0, 1.0)
    depth = np.clip(t, *DEPTH_RANGE_M).reshape(H, W).astype(np.float32)  # (H*W,) -> (H, W)
    return rgb.reshape(H, W, 3), depth  # (H*W, 3) -> (H, W, 3)


class SyntheticDepthDataset(SyntheticDataset):
    """Guided depth up-sampling on procedural rooms; no files needed.

    Options (all keyword): size (height, width) pixels, default (128, 128); count = number of
    items (default 1000); seed (int); scale in {2, 4, 8, 16, 32} (default 8); protocol "A"
    (interval) or "B" (bicubic); split "train" | "val" | "test" (disjoint item streams);
    photo_textures: probability (0-1, default 0) that a surface carries a photograph instead
    of a pattern; geometry "basic" (default) or "rich" (`render_scene`); normalize "target"
    (default, official) or "input" (the low-resolution samples' range, as `translate` on a
    sensor's map: `guided_pix2pix.data.depth`); sensor_noise (metres of noise at 1 m, growing
    with distance squared, default 0) and sensor_holes (expected fraction of unknown
    low-resolution samples, filled from the nearest known one, default 0): `SensorModel`, for
    inputs that look like a depth camera's; on_error as in `ItemDataset`.
    """

    task = "depth"
    channels = (1, 3, 1)

    name = "synthetic_depth"
    stream = _STREAM
    min_size = 8

    def __init__(
        self,
        split: str = "train",
        *,
        scale: int = 8,
        protocol: str = "A",
        photo_textures: float = 0.0,
        geometry: str = "basic",
        normalize: str = "target",
        sensor_noise: float = 0.0,
        sensor_holes: float = 0.0,
        **common,  # size, count, seed, on_error: see SyntheticDataset
    ):
        super().__init__(split, **common)
        self.protocol, self.scale = check_protocol(protocol, scale)
        if (
            isinstance(photo_textures, bool)
            or not isinstance(photo_textures, (int, float))
            or not 0 <= photo_textures <= 1
        ):
            raise BadOptionError("photo_textures", f"must be a probability in [0, 1], got {photo_textures!r}")
        self.photo_textures = float(photo_textures)
        if geometry not in GEOMETRIES:
            raise BadOptionError("geometry", f"must be one of {', '.join(GEOMETRIES)}, got {geometry!r}")
        self.geometry = geometry
        self.normalize = check_normalization(normalize)
        for name, value, top in (("sensor_noise", sensor_noise, 0.05), ("sensor_holes", sensor_holes, 0.9)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= top:
                raise BadOptionError(name, f"must be a number in [0, {top}], got {value!r}")
        self.sensor_noise, self.sensor_holes = float(sensor_noise), float(sensor_holes)

    def load_item(self, index: int) -> dict:
        rng = self.item_rng(index)
        rgb, depth = render_scene(rng, self.size, self.photo_textures, self.geometry)
        rgb = np.round(rgb * 255.0) / 255.0  # an 8-bit camera image, as NYU's and Middlebury's
        sensor = None
        if self.sensor_noise > 0 or self.sensor_holes > 0:  # drawn after the scene: scenes stay the same
            sensor = SensorModel(self.sensor_noise, self.sensor_holes, rng)
        return make_depth_item(
            torch.from_numpy(rgb).permute(2, 0, 1),  # (H, W, 3) -> (3, H, W)
            torch.from_numpy(depth),
            scale=self.scale,
            protocol=self.protocol,
            item_id=self.item_id(index),
            normalize=self.normalize,
            sensor=sensor,
        )
