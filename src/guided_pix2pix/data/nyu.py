"""NYU Depth v2 in the files the official bFT code reads, or from the labeled set alone.

Official files in ROOT (the bFT release of DJF's NYU split):

- ``input_{4,8,16}x_train.mat`` / ``depth_train.mat``: MATLAB v7.3 (HDF5), datasets
  ``input_Sx_train`` / ``depth_train`` stored as (N, 1, W, H) by h5py (MATLAB's H x W x 1 x N);
- ``input_{4,8,16}x_test.mat`` / ``depth_test.mat``: MATLAB v5 (scipy), arrays
  ``input_Sx_test`` / ``depth_test`` of shape (H, W, 1, N);
- ``nyu_depth_v2_labeled.mat`` (v7.3): ``images`` (1449, 3, W, H) uint8 are the guides,
  images 0-999 for train and 1000-1448 for test; ``depths`` (1449, W, H) metres;
- ``min_16x.mat`` / ``max_16x.mat`` (v5): per test image the depth range in metres that maps
  [0, 1] back to metres (the official evaluation uses these for every scale).

Inputs and depths in the files are already scaled to [0, 1] per image; like the official
loader, inputs are clipped to [0, 1], and everything is mapped to [-1, 1] with x * 2 - 1.

``source="labeled"`` needs only ``nyu_depth_v2_labeled.mat``: the same split (0-999 / 1000-1448),
target = ``depths`` normalised by its own min/max, input made with protocol A or B at `scale`
(`guided_pix2pix.data.depth`). ``source="auto"`` (default) uses the official files when present.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ..errors import BadFileError, BadOptionError
from ..files.images import check_pixels
from .base import ItemDataset, check_choice
from .depth import check_protocol, make_depth_item

TEST_OFFSET = 1000  # guides of the test split start at image 1000 of the labeled set
LABELED = "nyu_depth_v2_labeled.mat"
SOURCES = ("auto", "official", "labeled")


def _h5_dataset(handle, path: Path, key: str, ndim: int):
    if key not in handle:
        raise BadFileError(path, f"has no dataset {key!r} (found: {', '.join(sorted(handle.keys()))})")
    ds = handle[key]
    if ds.ndim != ndim:
        raise BadFileError(path, f"{key} has shape {ds.shape}, expected {ndim} dimensions")
    return ds


def _open_h5(path: Path):
    import h5py

    if not path.is_file():
        raise BadFileError(path, "no such file")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise BadFileError(path, f"not a readable MATLAB v7.3 (HDF5) file ({exc})") from exc


def _load_v5(path: Path, key: str) -> np.ndarray:
    import scipy.io

    if not path.is_file():
        raise BadFileError(path, "no such file")
    try:
        mat = scipy.io.loadmat(path, variable_names=[key])
    except NotImplementedError as exc:
        raise BadFileError(path, "is MATLAB v7.3 (HDF5); the official test files are v5 (scipy)") from exc
    except Exception as exc:  # scipy raises ValueError, TypeError, OSError... for corrupt files
        raise BadFileError(path, f"truncated or corrupt MATLAB file ({type(exc).__name__}: {exc})") from exc
    if key not in mat:
        raise BadFileError(path, f"has no variable {key!r}")
    return mat[key]


def _check_finite(arr: np.ndarray, path: Path, what: str) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        raise BadFileError(path, f"{what} holds {int(bad.sum())} NaN or infinite values")


class NYUDepthDataset(ItemDataset):
    """NYU v2 depth up-sampling (see the module docstring for the files).

    root: folder with the .mat files. split: "train" | "test" ("val" reads the test split:
    NYU v2 has no separate validation set). scale: 4, 8 or 16 (official files exist for these).
    source: "auto" | "official" | "labeled". protocol: "A" | "B", only for source "labeled".
    """

    task = "depth"
    channels = (1, 3, 1)

    def __init__(
        self,
        root,
        split: str = "train",
        scale: int = 16,
        source: str = "auto",
        protocol: str = "A",
        on_error: str = "raise",
    ):
        super().__init__(on_error=on_error)
        check_choice("split", split, ("train", "val", "test"))
        check_choice("source", source, SOURCES)
        self.protocol, self.scale = check_protocol(protocol, scale)
        if self.scale not in (4, 8, 16):
            raise BadOptionError("scale", f"NYU v2 uses 4, 8 or 16, got {scale}")
        self.root = Path(root)
        self.split = "train" if split == "train" else "test"
        self.offset = 0 if self.split == "train" else TEST_OFFSET
        self._handles: dict[str, object] = {}
        self._pid = os.getpid()
        input_file = self.root / f"input_{self.scale}x_{self.split}.mat"
        if source == "official" or (source == "auto" and input_file.is_file()):
            self.source = "official"
            self._open_official()
        else:
            self.source = "labeled"
            self._open_labeled()

    # ------------------------------------------------------------------ files
    def _h5(self, name: str):
        """The HDF5 file `name`, opened once per process (h5py handles do not survive fork)."""
        if os.getpid() != self._pid:
            self._handles, self._pid = {}, os.getpid()
        if name not in self._handles:
            self._handles[name] = _open_h5(self.root / name)
        return self._handles[name]

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_handles"] = {}
        return state

    def _open_labeled_images(self, n_needed: int):
        path = self.root / LABELED
        images = _h5_dataset(self._h5(LABELED), path, "images", 4)
        if images.shape[1] != 3:
            raise BadFileError(path, f"images has shape {images.shape}, expected (N, 3, W, H)")
        if images.shape[0] < n_needed:
            raise BadFileError(
                path, f"holds {images.shape[0]} images; the {self.split} split needs {n_needed}"
            )
        return images

    def _open_official(self) -> None:
        s, split = self.scale, self.split
        self.input_file = self.root / f"input_{s}x_{split}.mat"
        self.depth_file = self.root / f"depth_{split}.mat"
        if split == "train":
            inputs = _h5_dataset(self._h5(self.input_file.name), self.input_file, f"input_{s}x_train", 4)
            depths = _h5_dataset(self._h5(self.depth_file.name), self.depth_file, "depth_train", 4)
            n, c, w, h = inputs.shape  # h5py sees MATLAB's (H, W, 1, N) reversed
            shapes = [("input", inputs.shape, self.input_file), ("depth", depths.shape, self.depth_file)]
        else:
            self._inputs = _load_v5(self.input_file, f"input_{s}x_test")
            self._depths = _load_v5(self.depth_file, "depth_test")
            for arr, path in ((self._inputs, self.input_file), (self._depths, self.depth_file)):
                if arr.ndim == 3:
                    arr.shape = (*arr.shape[:2], 1, arr.shape[2])  # (H, W, N) -> (H, W, 1, N)
                if arr.ndim != 4:
                    raise BadFileError(path, f"expected (H, W, 1, N), found shape {arr.shape}")
            h, w, c, n = self._inputs.shape
            shapes = [("input", (n, c, w, h), self.input_file)]
            d = self._depths.shape
            shapes.append(("depth", (d[3], d[2], d[1], d[0]), self.depth_file))
        for what, shape, path in shapes:
            if shape[1] != 1:
                raise BadFileError(path, f"{what} has {shape[1]} channels, expected 1")
            if shape != shapes[0][1]:
                raise BadFileError(
                    path, f"{what} shape {shape} disagrees with {shapes[0][2].name} {shapes[0][1]}"
                )
        check_pixels(self.input_file, (h, w))  # before any item is read: bounded per-item allocations
        self.count, self.hw = n, (h, w)
        images = self._open_labeled_images(self.offset + n)
        if tuple(images.shape[2:]) != (w, h):
            raise BadFileError(
                self.root / LABELED, f"images are {images.shape[3]}x{images.shape[2]}, inputs {h}x{w}"
            )
        self._ranges = self._read_ranges(n)

    def _read_ranges(self, n: int) -> np.ndarray | None:
        """(n, 2) metres per item: min_16x/max_16x for test, labeled depths otherwise; None if absent."""
        lo_file, hi_file = self.root / "min_16x.mat", self.root / "max_16x.mat"
        if self.split == "test" and lo_file.is_file() and hi_file.is_file():
            lo = _load_v5(lo_file, "min_16x").astype(np.float64).ravel()
            hi = _load_v5(hi_file, "max_16x").astype(np.float64).ravel()
            for arr, path in ((lo, lo_file), (hi, hi_file)):
                if arr.size != n:
                    raise BadFileError(path, f"holds {arr.size} values for {n} test images")
                _check_finite(arr, path, "the depth range")
            if not (hi > lo).all():
                raise BadFileError(hi_file, "max_16x must exceed min_16x for every image")
            return np.stack([lo, hi], 1)
        return None

    def _open_labeled(self) -> None:
        path = self.root / LABELED
        if not path.is_file():
            raise BadFileError(
                self.root / f"input_{self.scale}x_{self.split}.mat",
                f"no such file, and no {LABELED} to build from",
            )
        n_total = _h5_dataset(self._h5(LABELED), path, "depths", 3).shape[0]
        self.count = min(n_total, TEST_OFFSET) if self.split == "train" else n_total - TEST_OFFSET
        if self.count <= 0:
            raise BadFileError(path, f"holds {n_total} images: none for the {self.split} split")
        images = self._open_labeled_images(self.offset + self.count)
        depths = self._h5(LABELED)["depths"]
        if tuple(images.shape[2:]) != tuple(depths.shape[1:]):
            raise BadFileError(path, f"images {images.shape} and depths {depths.shape} disagree in size")
        self.hw = (depths.shape[2], depths.shape[1])
        self._ranges = None

    # ------------------------------------------------------------------ items
    def __len__(self) -> int:
        return self.count

    def _guide(self, index: int) -> torch.Tensor:
        img = np.asarray(self._h5(LABELED)["images"][self.offset + index])  # (3, W, H) uint8
        return torch.from_numpy(img.transpose(0, 2, 1).astype(np.float32) / 255.0)  # -> (3, H, W) in [0, 1]

    def _labeled_depth(self, index: int) -> np.ndarray:
        d = np.asarray(
            self._h5(LABELED)["depths"][self.offset + index], dtype=np.float32
        ).T  # (W, H) -> (H, W)
        _check_finite(d, self.root / LABELED, f"depths[{self.offset + index}]")
        return d

    def _official_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if self.split == "train":
            a = self._h5(self.input_file.name)[f"input_{self.scale}x_train"][index, 0].T  # (W, H) -> (H, W)
            b = self._h5(self.depth_file.name)["depth_train"][index, 0].T
        else:
            a, b = self._inputs[:, :, 0, index], self._depths[:, :, 0, index]  # (H, W)
        a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
        _check_finite(a, self.input_file, f"item {index}")
        _check_finite(b, self.depth_file, f"item {index}")
        if b.min() < -1e-4 or b.max() > 1 + 1e-4:
            raise BadFileError(
                self.depth_file, f"item {index} is not scaled to [0, 1] ({b.min():.4g}..{b.max():.4g})"
            )
        return a, b

    def load_item(self, index: int) -> dict:
        item_id = f"nyu/{self.split}/{self.offset + index}"
        guide = self._guide(index)
        if self.source == "labeled":
            depth = torch.from_numpy(self._labeled_depth(index))
            return make_depth_item(guide, depth, scale=self.scale, protocol=self.protocol, item_id=item_id)
        a, b = self._official_pair(index)
        if self._ranges is not None:
            lo, hi = (float(v) for v in self._ranges[index])
        elif (self.root / LABELED).is_file() and "depths" in self._h5(LABELED):
            d = self._labeled_depth(index)
            lo, hi = float(d.min()), float(d.max())
        else:
            lo = hi = float("nan")  # metric range unknown: metrics in metres are unavailable
        return {
            "input": torch.from_numpy(np.clip(a, 0.0, 1.0) * 2.0 - 1.0)[None],  # (H, W) -> (1, H, W)
            "guide": guide * 2.0 - 1.0,
            "target": torch.from_numpy(np.clip(b, 0.0, 1.0) * 2.0 - 1.0)[None],  # (H, W) -> (1, H, W)
            "meta": {"id": item_id, "depth_min_m": lo, "depth_max_m": hi},
        }
