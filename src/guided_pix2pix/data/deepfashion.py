"""DeepFashion pose transfer in the official bFT pickle format.

``ROOT/{train,test}/N.pkl`` (N = 0, 1, ...), each a dict of numpy arrays:
``x``, ``x_target`` (256, 256, 3) images with values 0-255; ``pose``, ``pose_target``
(256, 256, 18) keypoint heat-maps in OpenPose-18 order; ``mask``, ``mask_target`` (256, 256, 1).

Item, as the official loader builds it: input = x / 255 * 2 - 1 (the person in pose P),
guide = pose_target as stored (no rescaling; the official maps lie in [-1, 1]),
target = x_target / 255 * 2 - 1 (the same person in pose Q). The masks are not used.
Images stored as uint8 or as floats 0-255 give the same item. Pickles are read with the
restricted unpickler of `guided_pix2pix.safety` (numpy arrays only); the length is the
number of ``N.pkl`` files, which must be numbered 0..N-1 without gaps.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from ..errors import BadFileError
from ..files.safe_load import load_pickle
from .base import ItemDataset, check_choice

KEYS = ("x", "x_target", "pose", "pose_target", "mask", "mask_target")
N_KEYPOINTS = 18
_NAME = re.compile(r"^(\d+)\.pkl$")


class DeepFashionDataset(ItemDataset):
    """Pose-guided person image generation from the official pickles (module docstring).

    root: the DeepFashion folder holding train/ and test/. split: "train" | "test"
    ("val" reads test/, the only held-out split).
    """

    task = "pose"
    channels = (3, N_KEYPOINTS, 3)

    def __init__(self, root, split: str = "train", on_error: str = "raise"):
        super().__init__(on_error=on_error)
        check_choice("split", split, ("train", "val", "test"))
        self.root = Path(root) / ("train" if split == "train" else "test")
        if not self.root.is_dir():
            raise BadFileError(self.root, "no such folder")
        numbers = sorted(int(m.group(1)) for p in self.root.iterdir() if (m := _NAME.match(p.name)))
        if not numbers:
            raise BadFileError(self.root, "no N.pkl files")
        missing = sorted(set(range(numbers[-1] + 1)) - set(numbers))
        if missing:
            raise BadFileError(
                self.root / f"{missing[0]}.pkl", f"missing ({len(missing)} gaps in 0..{numbers[-1]})"
            )
        self.count = len(numbers)

    def __len__(self) -> int:
        return self.count

    def load_item(self, index: int) -> dict:
        path = self.root / f"{index}.pkl"
        sample = load_pickle(path)
        if not isinstance(sample, dict):
            raise BadFileError(path, f"expected a dict of arrays, found {type(sample).__name__}")
        missing = [k for k in ("x", "x_target", "pose_target") if k not in sample]
        if missing:
            raise BadFileError(path, f"missing keys {missing}")
        arrays = {k: np.asarray(sample[k]) for k in ("x", "x_target", "pose_target")}
        H, W = arrays["x"].shape[:2]
        for key, nc in (("x", 3), ("x_target", 3), ("pose_target", N_KEYPOINTS)):
            a = arrays[key]
            if a.ndim != 3 or a.shape[:2] != (H, W) or a.shape[2] != nc:
                raise BadFileError(path, f"{key} has shape {a.shape}, expected ({H}, {W}, {nc})")
            if a.dtype.kind not in "uif":
                raise BadFileError(path, f"{key} has dtype {a.dtype}, expected numbers")
            if not np.isfinite(a).all():
                raise BadFileError(path, f"{key} holds NaN or infinite values")
        for key in ("x", "x_target"):
            a = arrays[key]
            if a.min() < 0 or a.max() > 255:
                raise BadFileError(path, f"{key} values {a.min()}..{a.max()} are outside 0-255")
        pose = arrays["pose_target"].astype(np.float32)
        if pose.min() < -1 or pose.max() > 1:
            raise BadFileError(
                path, f"pose_target values {pose.min():.4g}..{pose.max():.4g} are outside [-1, 1]"
            )

        def image(a):  # (H, W, 3) 0-255 -> (3, H, W) in [-1, 1]
            return torch.from_numpy(a.astype(np.float32).transpose(2, 0, 1) / 255.0 * 2.0 - 1.0)

        return {
            "input": image(arrays["x"]),
            "guide": torch.from_numpy(
                np.ascontiguousarray(pose.transpose(2, 0, 1))
            ),  # (H, W, 18) -> (18, H, W)
            "target": image(arrays["x_target"]),
            "meta": {"id": f"deepfashion/{self.root.name}/{index}"},
        }
