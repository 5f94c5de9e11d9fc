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
from .color import rgb_to_lab_array
from .fashion_mnist import DEBIAN_DIR, silhouette_mask, silhouettes
from .synthetic_common import StackedItems, SyntheticDataset, pixel_grid, polygon_window
from .texturegan import PATCH_MAX, PATCH_MIN, patch_windows

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


def _two_colour_texture(c1, c2, m: np.ndarray, levels, at):
    """``c1 (1 - m) + c2 m``: the (H, W, 3) image when `at` is None, else (palette, index) for
    the pixels `at`: when m only takes values of the ascending `levels`, the palette holds one
    colour per level (computed with the same arithmetic), else one per pixel."""
    if at is None:
        return c1 * (1 - m[..., None]) + c2 * m[..., None]
    if levels is not None:
        levels = np.asarray(levels, m.dtype)
        index = np.minimum(np.searchsorted(levels, m), len(levels) - 1)
        if np.array_equal(levels[index], m):
            return c1 * (1 - levels[:, None]) + c2 * levels[:, None], index
    return c1 * (1 - m[:, None]) + c2 * m[:, None], np.arange(len(m))


# the values m takes in each procedural pattern (None: continuous)
_LEVELS = {
    "stripes": (0.0, 1.0),
    "checks": (0.0, 1.0),
    "dots": (0.0, 1.0),
    "plaid": (0.0, 0.5, 1.0),
    "waves": None,
}


def _procedural(kind: str) -> Callable:
    def make(rng, size, at=None):
        H, W = size
        if at is None:
            ys, xs = pixel_grid((H, W))
        else:
            ys, xs = at[0].astype(np.float32), at[1].astype(np.float32)
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
        return _two_colour_texture(c1, c2, m, _LEVELS[kind], at)

    return make


_GREY_LEVELS = np.arange(256).astype(np.float32) / 255.0  # an 8-bit grey photo's values


def _photo(rng, size, at=None):
    photos = _photo_textures()
    name = sorted(photos)[rng.integers(len(photos))]
    src = photos[name]
    H, W = size
    zoom = rng.uniform(0.5, 1.0)
    step = max(1, int(round(1 / zoom)))
    tile = src[::step, ::step]
    r0, c0 = rng.integers(0, tile.shape[0]), rng.integers(0, tile.shape[1])
    # the tile repeated over the image, shifted by (r0, c0): pixel (i, j) shows tile pixel
    # ((r0 + i) mod tile height, (c0 + j) mod tile width)
    if at is None:
        crop = tile[np.ix_((r0 + np.arange(H)) % tile.shape[0], (c0 + np.arange(W)) % tile.shape[1])]
    else:
        crop = tile[(r0 + at[0]) % tile.shape[0], (c0 + at[1]) % tile.shape[1]]
    if tile.ndim == 2:  # grey photo: tint between two colours
        c1, c2 = _two_colours(rng)
        return _two_colour_texture(c1, c2, crop, _GREY_LEVELS, at)
    return crop if at is None else (crop, np.arange(len(crop)))


# texture name -> f(rng, (H, W), at=None) giving an (H, W, 3) float RGB image in [0, 1], or
# with at = (rows, cols) (two (n,) int arrays) only those n pixels of it, as (palette (k, 3),
# index (n,)): pixel i has colour palette[index[i]]
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


def _eroded(mask: np.ndarray) -> np.ndarray:
    """`scipy.ndimage.binary_erosion(mask)` of an (H, W) mask, or of each of (N, H, W): a pixel
    stays when it and its four neighbours are set (outside the image counts as unset)."""
    out = mask.copy()
    out[..., 1:, :] &= mask[..., :-1, :]
    out[..., :-1, :] &= mask[..., 1:, :]
    out[..., :, 1:] &= mask[..., :, :-1]
    out[..., :, :-1] &= mask[..., :, 1:]
    out[..., [0, -1], :] = False
    out[..., :, [0, -1]] = False
    return out


def _object_shape(rng, size, shapes: np.ndarray | None):
    """An object's silhouette (the first random draws of an item): (mask (H, W) bool, detail
    lines [((xa, ya), (xb, yb))], detail (H, W) float grey level of a Fashion-MNIST item or
    None)."""
    H, W = size
    handle, lines, detail = None, [], None
    if shapes is not None and rng.random() < 0.5:  # a real Fashion-MNIST shoe or bag
        mask, detail = silhouette_mask(shapes[rng.integers(len(shapes))], size, rng)
    elif rng.random() < 0.5:
        pts, lines = _shoe(rng, H, W)
    else:
        pts, lines, handle = _bag(rng, H, W)
    if detail is None:
        mask = np.zeros((H, W), bool)
        r0, c0, window = polygon_window(pts[:, 1], pts[:, 0], (H, W))
        mask[r0 : r0 + window.shape[0], c0 : c0 + window.shape[1]] = window
    if handle is not None:  # a thick arc above the bag: outer half-ellipse minus inner one
        cx, top, rx, ry = handle
        thick = max(2.0, 0.035 * min(H, W))
        # only the window of rows and columns the outer ellipse's upper half can reach
        r0, r1 = max(int(top - ry - thick) - 1, 0), min(int(top) + 1, H - 1) + 1
        c0, c1 = max(int(cx - rx - thick) - 1, 0), min(int(cx + rx + thick) + 2, W)
        ys = np.arange(r0, r1, dtype=np.float32)[:, None]  # (h, 1), broadcast against (1, w)
        xs = np.arange(c0, c1, dtype=np.float32)[None, :]
        outer = ((xs - cx) / (rx + thick)) ** 2 + ((ys - top) / (ry + thick)) ** 2 <= 1
        inner = ((xs - cx) / rx) ** 2 + ((ys - top) / ry) ** 2 < 1
        mask[r0:r1, c0:c1] |= outer & ~inner & (ys <= top)
    return mask, lines, detail


def _object_texture(rng, size, at):
    """The texture drawn for an object (the draws after its shape) at its pixels `at` =
    (rows, cols): (palette, index) as the `TEXTURES` functions give them."""
    texture = TEXTURES[sorted(TEXTURES)[rng.integers(len(TEXTURES))]]
    return texture(rng, size, at)


def _ink(mask: np.ndarray, outline: np.ndarray, lines, detail) -> np.ndarray:
    """The sketch's black pixels (H, W) bool: the `outline` (mask minus its erosion), a real
    item's inner edges (where its grey level `detail` changes sharply) and the detail `lines`,
    all inside the mask."""
    from scipy import ndimage
    from skimage.draw import line

    H, W = mask.shape
    ink = outline
    if detail is not None:
        edges = np.hypot(ndimage.sobel(detail, 0), ndimage.sobel(detail, 1))
        ink |= mask & (edges > 0.6)
    for (xa, ya), (xb, yb) in lines:
        rr, cc = line(int(ya), int(xa), int(yb), int(xb))
        ok = (rr >= 0) & (rr < H) & (cc >= 0) & (cc < W)
        rr, cc = rr[ok], cc[ok]
        on = mask[rr, cc]
        ink[rr[on], cc[on]] = True
    return ink


def _shade_steps(reach: float) -> int:
    """How many shading steps tell the colours apart: d^2 = 0 .. cap - 1, and "beyond reach"
    (every d^2 >= cap = int(reach^2) + 2 is)."""
    return int(reach * reach) + 3


def _shaded(palette: np.ndarray, index: np.ndarray, inside: np.ndarray, reach: float) -> np.ndarray:
    """The (n, 3) float32 colours ``palette[index] * (0.7 + 0.3 clip(inside / reach, 0, 1))``."""
    shade = 0.7 + 0.3 * np.clip(inside / reach, 0, 1)
    return (palette[index] * shade[:, None]).astype(np.float32)


def _keyed_shaded_colours(palette: np.ndarray, index: np.ndarray, inside: np.ndarray, reach: float):
    """`_shaded`'s colours as (distinct (k, 3), which (n,)), one colour per (palette entry,
    d^2 or "beyond reach") that occurs: `inside` is the exact Euclidean distance, the root of
    a whole number d^2, so that pair decides a pixel's colour."""
    steps = _shade_steps(reach)
    cap = steps - 1
    key = index * steps + np.minimum(np.rint(inside * inside).astype(np.int64), cap)
    seen = np.zeros(len(palette) * steps, bool)
    seen[key] = True
    keys = np.flatnonzero(seen)
    remap = np.empty(len(seen), np.int64)
    remap[keys] = np.arange(len(keys))
    which = remap[key]
    first = np.empty(len(keys), np.int64)
    first[which] = np.arange(len(index))  # a pixel of each colour
    return _shaded(palette, index[first], inside[first], reach), which


def inside_distance(mask: np.ndarray) -> np.ndarray:
    """`scipy.ndimage.distance_transform_edt(mask)` (float64, (H, W)); see `inside_distance_at`."""
    out = np.zeros(mask.shape, np.float64)
    out[mask] = inside_distance_at(mask, *np.nonzero(mask))
    return out


def inside_distance_at(mask: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """`scipy.ndimage.distance_transform_edt(mask)` at the mask's pixels (rows, cols) (row-major,
    as `np.nonzero` gives them), computed on the mask's bounding box grown by one pixel: that
    ring is all background and lies between every mask pixel and any background pixel farther
    out, so the distances are the same."""
    from scipy import ndimage

    if not len(rows):
        return np.zeros(0, np.float64)
    H, W = mask.shape
    r0, r1 = max(int(rows[0]) - 1, 0), min(int(rows[-1]) + 2, H)
    c0, c1 = max(int(cols.min()) - 1, 0), min(int(cols.max()) + 2, W)
    return ndimage.distance_transform_edt(mask[r0:r1, c0:c1])[rows - r0, cols - c0]


def _concatenated_palettes(palettes: list, indices: list) -> tuple[np.ndarray, np.ndarray]:
    """Objects' (palette, index) pairs as one: palettes stacked (float64, which holds every
    float32 value exactly), each index shifted to its palette's rows."""
    if not palettes:
        return np.zeros((0, 3)), np.zeros(0, np.int64)
    offsets = np.cumsum([0] + [len(p) for p in palettes[:-1]])
    return np.concatenate(palettes).astype(np.float64), np.concatenate(
        [index + offset for index, offset in zip(indices, offsets.tolist())]
    )


def _batch_shaded_colours(palettes: list, indices: list, inside: np.ndarray, reach: float):
    """The shaded photo colours (`_shaded`) of N objects' pixels: palettes[i] and indices[i]
    as the textures give them, `inside` the distances of all their pixels in item order.
    Returns (distinct (k, 3) float32, which (n,)) over the batch, ``distinct[which]`` the
    colour of each pixel. Most objects have a few hundred colours: those share one keyed pass
    (`_keyed_shaded_colours`), and their LAB conversion is that much cheaper; continuous
    textures (a colour per pixel) are shaded pixel by pixel."""
    keyed = np.array([len(p) * _shade_steps(reach) <= 1 << 16 for p in palettes], bool)
    keyed_px = np.repeat(keyed, [len(index) for index in indices])  # per pixel
    pick = keyed.tolist()
    palette, index = _concatenated_palettes(
        [p for p, k in zip(palettes, pick) if k], [x for x, k in zip(indices, pick) if k]
    )
    distinct, keyed_which = _keyed_shaded_colours(palette, index, inside[keyed_px], reach)
    palette, index = _concatenated_palettes(
        [p for p, k in zip(palettes, pick) if not k], [x for x, k in zip(indices, pick) if not k]
    )
    free = _shaded(palette, index, inside[~keyed_px], reach)
    which = np.empty(len(keyed_px), np.int64)
    which[keyed_px] = keyed_which
    which[~keyed_px] = len(distinct) + np.arange(len(free))
    return np.concatenate([distinct, free]), which


def render_items(rngs: list, size: tuple[int, int], shapes: np.ndarray | None, side_range: tuple[int, int]):
    """N texture items, item i drawn from its own generator rngs[i]: (input (N, 1, H, W), guide
    (N, 4, H, W), target (N, 3, H, W)) float32, scaled LAB as `SyntheticTextureDataset`
    describes. Each item's random draws (shape, texture, then patch) stay its own, so an item
    does not depend on the batch it is drawn in; the shading, the LAB conversion and the
    images are one call each for the whole batch."""
    H, W = size
    N = len(rngs)
    objects = [_object_shape(rng, size, shapes) for rng in rngs]
    masks = np.stack([mask for mask, _, _ in objects])  # N x (H, W) -> (N, H, W)
    item, pixel = np.divmod(np.flatnonzero(masks), H * W)  # every object's pixels, row-major
    rows, cols = np.divmod(pixel, W)  # (np.nonzero(masks), in fewer passes)
    ends = np.cumsum(np.bincount(item, minlength=N)).tolist()
    spans = list(zip([0, *ends[:-1]], ends))
    textures = [_object_texture(rng, size, (rows[a:b], cols[a:b])) for rng, (a, b) in zip(rngs, spans)]
    inside = np.concatenate(
        [inside_distance_at(mask, rows[a:b], cols[a:b]) for mask, (a, b) in zip(masks, spans)]
    )  # each object's distance transform on its own (in cache: faster than one for all)
    distinct, which = _batch_shaded_colours(
        [palette for palette, _ in textures], [index for _, index in textures], inside, 0.08 * min(H, W)
    )
    # scaled LAB (float64, as the whole images in `rgb_to_lab`) of the objects' distinct
    # colours, of white (background, sketch paper) and of black (ink)
    pixels = np.concatenate([distinct, np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]], np.float32)])
    lab = rgb_to_lab_array(pixels.astype(np.float64), normalized=True).T.astype(np.float32)  # (3, k + 2)
    white, black = lab[:, -2], lab[:, -1]
    target = np.empty((N, 3, H, W), np.float32)
    target[:] = white[:, None, None]
    flat = target.reshape(-1)
    for c in range(3):  # one flat scatter per channel (cheaper than one mixed fancy index)
        flat[(item * 3 + c) * (H * W) + pixel] = lab[c, which]
    ink = masks & ~_eroded(masks)  # the outlines
    for i, (mask, lines, detail) in enumerate(objects):
        _ink(mask, ink[i], lines, detail)  # adds the detail to ink[i] in place
    eroded = np.zeros((N, H, W), bool)  # the patch stays on the object
    eroded[item, rows, cols] = inside > side_range[1] / 2
    u_side, u_pick = np.array([rng.random(2) for rng in rngs]).reshape(N, 2).T
    guide = np.ones((N, 4, H, W), np.float32)
    guide[:, 3] = -1.0
    for i, (r0, r1, c0, c1) in enumerate(patch_windows(eroded, u_side, u_pick, *side_range)[1].tolist()):
        guide[i, :3, r0:r1, c0:c1] = target[i, :, r0:r1, c0:c1]
        guide[i, 3, r0:r1, c0:c1] = 1.0
    return np.where(ink, black[0], white[0])[:, None], guide, target


class SyntheticTextureDataset(SyntheticDataset):
    """Texture transfer on procedural shoes and bags; no files needed.

    Options: size (height, width) pixels, default (128, 128); count; seed; split "train" |
    "val" | "test" (disjoint streams); silhouettes_dir: folder of the Fashion-MNIST IDX files
    (default the Debian package's; used when present; None: procedural objects only);
    on_error as in `ItemDataset`.

    A DataLoader fetches whole batches through `__getitems__` (drawn by `render_items`);
    give it `collate_fn=synthetic_common.collate_items` to take the batch as drawn instead
    of copying the items into a new one.
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

    def load_items(self, indices: list[int]) -> StackedItems:
        """Items `indices` (each in [0, len)) drawn as one batch: their tensors are the rows
        of the batch's stacked tensors."""
        rngs = [self.item_rng(index) for index in indices]
        arrays = render_items(rngs, self.size, self.shapes, self.side_range)
        stacked = {key: torch.from_numpy(a) for key, a in zip(("input", "guide", "target"), arrays)}
        items = [
            {**{key: t[j] for key, t in stacked.items()}, "meta": {"id": self.item_id(index)}}
            for j, index in enumerate(indices)
        ]
        return StackedItems(items, stacked)

    def load_item(self, index: int) -> dict:
        return self.load_items([index])[0]

    def __getitems__(self, indices: list[int]) -> list[dict]:
        """What ``[self[i] for i in indices]`` gives, drawn as one batch (`load_items`); the
        DataLoader calls this instead of fetching item by item."""
        checked = [self.checked_index(index) for index in indices]
        try:
            return self.load_items(checked)
        except BadFileError:  # the error policy is per item: let __getitem__ apply it
            return [self[index] for index in indices]
