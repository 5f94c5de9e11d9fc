"""Random streams of the synthetic tasks: one independent generator per (seed, split, index).

Splits get different stream codes, so train, val and test never share an item, and an item
does not depend on which other items were generated before it (any index, any worker order).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
from torch.utils.data import default_collate

from .base import MAX_SEED, ItemDataset, check_choice, check_count, check_size

SPLIT_CODES = {"train": 0, "val": 1, "test": 2}


def item_rng(seed: int, split: str, index: int, stream: int) -> np.random.Generator:
    """The generator for item `index` of `split` under `seed`; `stream` separates the tasks."""
    return np.random.default_rng([int(seed), SPLIT_CODES[split], int(index), int(stream)])


class SyntheticDataset(ItemDataset):
    """Options shared by the procedural tasks; subclasses set `name`, `stream`, `min_size`.

    Options: size (height, width) pixels, default (128, 128); count = number of items
    (default 1000); seed (int >= 0); split "train" | "val" | "test" (disjoint item streams);
    on_error as in `ItemDataset`.
    """

    name = "synthetic"
    stream = 0  # keeps the tasks' random streams apart
    min_size = 8  # smallest height / width in pixels the renderer supports

    def __init__(
        self,
        split: str = "train",
        size=(128, 128),
        count: int = 1000,
        seed: int = 0,
        on_error: str = "raise",
    ):
        super().__init__(on_error=on_error)
        check_choice("split", split, tuple(SPLIT_CODES))
        self.split = split
        self.size = check_size("size", size, minimum=self.min_size)
        self.count = check_count("count", count)
        self.seed = check_count("seed", seed, minimum=0, maximum=MAX_SEED)

    def __len__(self) -> int:
        return self.count

    def item_rng(self, index: int) -> np.random.Generator:
        return item_rng(self.seed, self.split, index, self.stream)

    def item_id(self, index: int) -> str:
        return f"{self.name}/{self.split}/{self.seed}/{index}"


class StackedItems(list):
    """Items (the list ``[dataset[i] for i in indices]`` would be) whose tensors are the rows
    of tensors already stacked on a new first axis, kept in `stacked` (key -> (N, ...)):
    `collate_items` takes those as the batch instead of copying every row into a new one."""

    def __init__(self, items: list[dict], stacked: dict[str, torch.Tensor]):
        super().__init__(items)
        self.stacked = stacked


def collate_items(items: list[dict]) -> dict:
    """A DataLoader's collate_fn: `default_collate(items)`, whose tensors are, for
    `StackedItems`, the stacked ones as they are (the same values, no copy)."""
    if not isinstance(items, StackedItems):
        return default_collate(items)
    return {
        key: items.stacked[key] if key in items.stacked else default_collate([item[key] for item in items])
        for key in items[0]
    }


# ----------------------------------------------------------------------------- drawing helpers
@functools.lru_cache(maxsize=16)
def pixel_grid(size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(ys, xs): the (H, W) float32 row and column numbers of an image of `size`, as
    ``np.mgrid[0:H, 0:W].astype(np.float32)``; cached and read-only (slice it, never write)."""
    H, W = size
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    ys.setflags(write=False)
    xs.setflags(write=False)
    return ys, xs


def polygon_window(r, c, shape: tuple[int, int]) -> tuple[int, int, np.ndarray]:
    """The pixels of a polygon, as `skimage.draw.polygon(r, c, shape)` selects them, returned
    as (row0, col0, inside): `inside` is a bool window of the image starting at (row0, col0).

    scikit-image's test, per pixel (x, y) and in float64: the pixel is in when it lies within
    1e-12 of a vertex, or when the horizontal ray from it to the right, or to the left,
    crosses the outline an odd number of times (inside, or on an edge); edge i - 1 -> i meets
    the ray at ``((x_i - x) (y_(i-1) - y) - (x_(i-1) - x) (y_i - y)) / ((y_(i-1) - y) - (y_i - y))``
    relative to the pixel. Here that crossing is found once per edge and row, which decides
    every pixel of the row but the one (if any) within 1e-6 of it; that one is evaluated with
    scikit-image's expression (rounding moves the crossing by under 1e-9 px at any size this
    takes). Pixels with negative coordinates are never in; the window is clipped to `shape`."""
    r = np.asarray(r, np.float64).ravel()
    c = np.asarray(c, np.float64).ravel()
    r0, r1 = int(max(0, r.min())), min(shape[0] - 1, math.ceil(r.max()))
    c0, c1 = int(max(0, c.min())), min(shape[1] - 1, math.ceil(c.max()))
    if r1 < r0 or c1 < c0:
        return r0, c0, np.zeros((0, 0), bool)
    h, w = r1 - r0 + 1, c1 - c0 + 1
    ys = np.arange(r0, r1 + 1, dtype=np.float64)
    prev = np.arange(-1, len(r) - 1)  # edge e runs from vertex e - 1 to vertex e
    y0, y1 = r[:, None] - ys, r[prev, None] - ys  # (edges, h): both ends relative to each row
    up, down = (y0 > 0) != (y1 > 0), (y0 < 0) != (y1 < 0)  # the edge straddles the row
    e, row = np.nonzero(up | down)
    y0, y1, up, down = y0[e, row], y1[e, row], up[e, row], down[e, row]  # per crossing
    X = (c[e] * y1 - c[prev[e]] * y0) / (y1 - y0) - c0  # where the edge meets the row, window column
    # an up-crossing counts for the pixels left of it (columns [0, ceil X)), a down-crossing for
    # those right of it ([floor X + 1, w)): parity flips at both ends of the run, so each
    # row's parities are a running sum of flips (rays to the right: plane 0, to the left: 1)
    right_end = np.clip(np.ceil(X), 0, w).astype(np.int64)
    left_start = np.clip(np.floor(X) + 1, 0, w).astype(np.int64)
    W1 = w + 1
    flips = np.concatenate(
        [row[up] * W1, row[up] * W1 + right_end[up], (h + row[down]) * W1 + left_start[down]]
    )
    parity = np.cumsum(np.bincount(flips, minlength=2 * h * W1).reshape(2, h, W1)[:, :, :w], axis=2) & 1
    rays = parity.astype(bool)  # (2, h, w): right, left
    # the pixel at a crossing, if any: decide it with scikit-image's expression
    for k in np.flatnonzero(np.abs(X - np.round(X)) <= 1e-6).tolist():
        j = int(np.round(X[k]))
        if 0 <= j < w:
            x = float(c0 + j)
            cross = ((c[e[k]] - x) * y1[k] - (c[prev[e[k]]] - x) * y0[k]) / (y1[k] - y0[k])
            if up[k] and (cross > 0) != (j < right_end[k]):
                rays[0, row[k], j] ^= True
            if down[k] and (cross < 0) != (j >= left_start[k]):
                rays[1, row[k], j] ^= True
    inside = rays[0] | rays[1]
    eps = 1e-12
    for i in np.flatnonzero((np.abs(c - np.round(c)) < eps) & (np.abs(r - np.round(r)) < eps)).tolist():
        xs = np.arange(c0, c1 + 1, dtype=np.float64)
        inside |= (np.abs(r[i] - ys) < eps)[:, None] & (np.abs(c[i] - xs) < eps)[None, :]  # at vertex i
    return r0, c0, inside


def polygon_pixels(r, c, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(rr, cc) of the pixels inside a polygon, in row-major order: `skimage.draw.polygon(r,
    c, shape)`'s result, vectorised (`polygon_window`)."""
    r0, c0, inside = polygon_window(r, c, shape)
    rr, cc = np.nonzero(inside)
    return rr + r0, cc + c0
