"""Synthetic texture transfer in the TextureGAN convention: sketch + texture patch -> object.

An object silhouette (a procedural shoe or bag, or, when the Debian package
``dataset-fashion-mnist`` is installed, in half of the items a real Fashion-MNIST shoe or bag
scaled up; option ``silhouettes_dir``, None for procedural only) is filled with a texture, shaded towards its
outline, on a white background (the target photo). The sketch is black outline and detail
lines on white. Everything is converted to LAB and scaled ((L - 50) / 50, a / 128, b / 128)
as the official TextureGAN loader does; the guide is one square patch of the target placed
by the official rule (`guided_pix2pix.data.texturegan.place_patch`) on the mask eroded by
the largest half-side (so the patch stays on the object), with side uniform in [20, 40] px
at 128 x 128 (scaled with the image).

Textures (registry `TEXTURES`): scikit-image's brick / grass / gravel photos (tinted with two
colours), GIMP ``.pat`` patterns when the Debian ``gimp-data`` package is installed, and
procedural stripes, checks, dots, plaid and waves.
"""

from __future__ import annotations

import colorsys
import functools
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ..errors import BadFileError
from .color import normalize_lab, rgb_to_lab
from .fashion_mnist import DEBIAN_DIR, silhouette_mask, silhouettes
from .synthetic_common import SyntheticDataset
from .texturegan import PATCH_MAX, PATCH_MIN, place_patch

_STREAM = 3
GIMP_PATTERNS = Path("/usr/share/gimp/2.0/patterns")


def read_gimp_pattern(path: Path) -> np.ndarray:
    """A GIMP .pat file -> (H, W, 3) uint8. Header: big-endian u32 size, version, W, H, channels, 'GPAT'."""
    data = Path(path).read_bytes()
    if len(data) < 24 or data[20:24] != b"GPAT":
        raise BadFileError(path, "not a GIMP pattern (no GPAT magic)")
    header, _, w, h, c = struct.unpack(">5I", data[:20])
    if c not in (1, 2, 3, 4) or w * h == 0 or len(data) < header + w * h * c:
        raise BadFileError(path, f"truncated or corrupt pattern ({w}x{h}x{c})")
    arr = np.frombuffer(data, np.uint8, w * h * c, header).reshape(h, w, c)  # flat -> (H, W, C)
    return np.repeat(arr[:, :, :1], 3, 2) if c <= 2 else np.ascontiguousarray(arr[:, :, :3])


@functools.cache
def _photo_textures() -> dict[str, np.ndarray]:
    """Grey texture photos (float 0..1) from scikit-image, and colour GIMP patterns when present."""
    from skimage import data

    out = {name: getattr(data, name)().astype(np.float32) / 255.0 for name in ("brick", "grass", "gravel")}
    if GIMP_PATTERNS.is_dir():
        for path in sorted(GIMP_PATTERNS.rglob("*.pat")):
            try:
                arr = read_gimp_pattern(path)
            except BadFileError:
                continue
            if min(arr.shape[:2]) >= 16:
                out[f"gimp/{path.stem}"] = arr.astype(np.float32) / 255.0
    return out


def _two_colours(rng) -> tuple[np.ndarray, np.ndarray]:
    h = rng.random()
    c1 = colorsys.hsv_to_rgb(h, rng.uniform(0.3, 0.9), rng.uniform(0.3, 0.9))
    c2 = colorsys.hsv_to_rgb((h + rng.uniform(0.1, 0.5)) % 1, rng.uniform(0.2, 0.9), rng.uniform(0.2, 1.0))
    return np.array(c1, np.float32), np.array(c2, np.float32)


def _procedural(kind: str) -> Callable:
    def make(rng, size):
        H, W = size
        ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
        p = rng.uniform(5, 16) * max(H, W) / 128
        a = rng.uniform(0, np.pi)
        u, v = xs * np.cos(a) + ys * np.sin(a), -xs * np.sin(a) + ys * np.cos(a)
        m = {
            "stripes": lambda: (np.floor(u / p) % 2),
            "checks": lambda: (np.floor(u / p) + np.floor(v / p)) % 2,
            "dots": lambda: (((u / p) % 1 - 0.5) ** 2 + ((v / p) % 1 - 0.5) ** 2 < 0.1).astype(np.float32),
            "plaid": lambda: 0.5 * ((np.floor(u / p) % 3 == 0) + (np.floor(v / p) % 3 == 0)),
            "waves": lambda: 0.5 + 0.5 * np.sin(u / p * 2 + 2 * np.sin(v / p)),
        }[kind]()
        c1, c2 = _two_colours(rng)
        return c1 * (1 - m[..., None]) + c2 * m[..., None]

    return make


def _photo(rng, size):
    photos = _photo_textures()
    name = sorted(photos)[rng.integers(len(photos))]
    src = photos[name]
    H, W = size
    zoom = rng.uniform(0.5, 1.0)
    step = max(1, int(round(1 / zoom)))
    tile = src[::step, ::step]
    reps = (H // tile.shape[0] + 2, W // tile.shape[1] + 2) + ((1,) if tile.ndim == 3 else ())
    big = np.tile(tile, reps)
    r0, c0 = rng.integers(0, tile.shape[0]), rng.integers(0, tile.shape[1])
    crop = big[r0 : r0 + H, c0 : c0 + W]
    if crop.ndim == 2:  # grey photo: tint between two colours
        c1, c2 = _two_colours(rng)
        return c1 * (1 - crop[..., None]) + c2 * crop[..., None]
    return crop


# texture name -> f(rng, (H, W)) giving an (H, W, 3) float RGB image in [0, 1]
TEXTURES: dict[str, Callable] = {
    "photo": _photo,
    **{k: _procedural(k) for k in ("stripes", "checks", "dots", "plaid", "waves")},
}


def _shoe(rng, H, W):
    """Outline polygon (x, y) of a side-view shoe, and its detail lines."""
    x0, x1 = W * rng.uniform(0.08, 0.18), W * rng.uniform(0.82, 0.92)
    sole = H * rng.uniform(0.72, 0.8)
    top = H * rng.uniform(0.2, 0.45)  # boot when high
    heel = x0 + (x1 - x0) * rng.uniform(0.15, 0.3)
    toe_h = H * rng.uniform(0.12, 0.2)
    pts = [
        (x0, sole), (x1, sole), (x1, sole - toe_h * 0.6), (x1 - (x1 - x0) * 0.12, sole - toe_h),
        (heel + (x1 - heel) * 0.45, sole - toe_h * 1.3), (heel + (x1 - heel) * 0.15, top),
        (x0 + (heel - x0) * 0.2, top), (x0, sole - toe_h),
    ]  # fmt: skip
    lines = [((x0, sole - H * 0.05), (x1, sole - H * 0.05))]
    return np.array(pts), lines


def _bag(rng, H, W):
    cx = W / 2 + rng.uniform(-0.05, 0.05) * W
    top, bottom = H * rng.uniform(0.35, 0.45), H * rng.uniform(0.82, 0.9)
    half_top, half_bottom = W * rng.uniform(0.22, 0.32), W * rng.uniform(0.3, 0.4)
    pts = [(cx - half_top, top), (cx + half_top, top), (cx + half_bottom, bottom), (cx - half_bottom, bottom)]
    flap = top + (bottom - top) * rng.uniform(0.25, 0.45)
    lines = [((cx - half_top * 1.05, flap), (cx + half_top * 1.05, flap))]
    return np.array(pts), lines, (cx, top, half_top * rng.uniform(0.5, 0.8), H * rng.uniform(0.12, 0.2))


def render_object(rng, size, shapes: np.ndarray | None = None):
    """(mask (H, W) bool, sketch (H, W, 3) float, photo (H, W, 3) float), floats in [0, 1].

    shapes: optional (N, 28, 28) Fashion-MNIST shoes and bags; when given, half of the objects
    are one of them instead of a procedural shoe or bag."""
    from scipy import ndimage
    from skimage.draw import line, polygon

    H, W = size
    mask = np.zeros((H, W), bool)
    handle, lines, detail = None, [], None
    if shapes is not None and rng.random() < 0.5:  # a real Fashion-MNIST shoe or bag
        mask, detail = silhouette_mask(shapes[rng.integers(len(shapes))], size, rng)
    elif rng.random() < 0.5:
        pts, lines = _shoe(rng, H, W)
    else:
        pts, lines, handle = _bag(rng, H, W)
    if detail is None:
        rr, cc = polygon(pts[:, 1], pts[:, 0], (H, W))
        mask[rr, cc] = True
    if handle is not None:  # a thick arc above the bag: outer half-ellipse minus inner one
        cx, top, rx, ry = handle
        thick = max(2.0, 0.035 * min(H, W))
        ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
        outer = ((xs - cx) / (rx + thick)) ** 2 + ((ys - top) / (ry + thick)) ** 2 <= 1
        inner = ((xs - cx) / rx) ** 2 + ((ys - top) / ry) ** 2 < 1
        mask |= outer & ~inner & (ys <= top)
    texture = TEXTURES[sorted(TEXTURES)[rng.integers(len(TEXTURES))]](rng, size)
    inside = ndimage.distance_transform_edt(mask)
    shade = 0.7 + 0.3 * np.clip(inside / (0.08 * min(H, W)), 0, 1)
    photo = np.where(mask[..., None], texture * shade[..., None], 1.0).astype(np.float32)
    sketch = np.ones((H, W, 3), np.float32)
    outline = mask & ~ndimage.binary_erosion(mask)
    sketch[outline] = 0.0
    if detail is not None:  # the real item's inner edges: where its grey level changes sharply
        edges = np.hypot(ndimage.sobel(detail, 0), ndimage.sobel(detail, 1))
        sketch[mask & (edges > 0.6)] = 0.0
    for (xa, ya), (xb, yb) in lines:
        rr, cc = line(int(ya), int(xa), int(yb), int(xb))
        ok = (rr >= 0) & (rr < H) & (cc >= 0) & (cc < W)
        rr, cc = rr[ok], cc[ok]
        on = mask[rr, cc]
        sketch[rr[on], cc[on]] = 0.0
    return mask, sketch, photo


class SyntheticTextureDataset(SyntheticDataset):
    """Texture transfer on procedural shoes and bags; no files needed.

    Options: size (height, width) pixels, default (128, 128); count; seed; split "train" |
    "val" | "test" (disjoint streams); silhouettes_dir: folder of the Fashion-MNIST IDX files
    (default the Debian package's; used when present; None: procedural objects only);
    on_error as in `ItemDataset`.
    """

    task = "texture"
    channels = (1, 4, 3)

    name = "synthetic_texture"
    stream = _STREAM
    min_size = 64

    def __init__(
        self,
        split: str = "train",
        *,
        silhouettes_dir: str | None = str(DEBIAN_DIR),
        **common,  # size, count, seed, on_error: see SyntheticDataset
    ):
        super().__init__(split, **common)
        self.shapes = None if silhouettes_dir is None else silhouettes(silhouettes_dir)
        scale = min(self.size) / 128
        self.side_range = (max(2, round(PATCH_MIN * scale)), max(3, round(PATCH_MAX * scale)))

    def load_item(self, index: int) -> dict:
        from scipy import ndimage

        rng = self.item_rng(index)
        mask, sketch, photo = render_object(rng, self.size, self.shapes)
        rgb = (
            torch.from_numpy(np.stack([sketch, photo])).permute(0, 3, 1, 2).double()
        )  # (2, H, W, 3) -> (2, 3, H, W)
        lab = normalize_lab(rgb_to_lab(rgb)).numpy()
        eroded = (ndimage.distance_transform_edt(mask) > self.side_range[1] / 2).astype(np.float64)
        u_side, u_pick = rng.random(2)
        guide, _ = place_patch(lab[1], eroded, u_side, u_pick, *self.side_range)
        return {
            "input": torch.from_numpy(lab[0, 0:1]).float(),
            "guide": torch.from_numpy(guide).float(),
            "target": torch.from_numpy(lab[1]).float(),
            "meta": {"id": self.item_id(index)},
        }
