"""Middlebury 2014 "Motorcycle" (from scikit-image) as one real RGB-D test item.

``skimage.data.stereo_motorcycle()`` ships the left image (500 x 741 RGB) and its ground-truth
disparity in pixels, with ``inf`` where it is unknown (about 7 % of pixels). With the
calibration given in its docstring (focal length 994.978 px, baseline 193.001 mm, doffs
31.086 px) depth in mm is ``193.001 * 994.978 / (disparity + 31.086)``: 2.1-5.0 m.

Unknown pixels get ``mask`` 0 (left out of every metric) and, so that down-sampling has a
value to use, the depth of the nearest known pixel. The low-resolution input is made with the
same protocol / scale functions as the synthetic and NYU-labeled paths.
"""

from __future__ import annotations

import numpy as np
import torch

from .base import ItemDataset, check_choice
from .depth import check_protocol, make_depth_item

FOCAL_PX = 994.978
BASELINE_MM = 193.001
DOFFS_PX = 31.086


def motorcycle_rgbd() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rgb (H, W, 3) uint8, depth (H, W) float32 metres with unknown filled, valid (H, W) bool)."""
    from scipy import ndimage
    from skimage import data

    left, _, disparity = data.stereo_motorcycle()
    valid = np.isfinite(disparity)
    depth = np.full(disparity.shape, np.nan, np.float32)
    depth[valid] = BASELINE_MM * FOCAL_PX / (disparity[valid] + DOFFS_PX) / 1000.0
    nearest = ndimage.distance_transform_edt(~valid, return_distances=False, return_indices=True)
    depth = depth[tuple(nearest)]  # unknown pixels take their nearest known neighbour's depth
    return np.asarray(left), depth, valid


class MiddleburyDataset(ItemDataset):
    """One real RGB-D item for testing depth up-sampling (see the module docstring).

    split: "val" | "test" (it is never training data). scale, protocol: as the synthetic task.
    """

    task = "depth"
    channels = (1, 3, 1)

    def __init__(
        self,
        split: str = "test",
        scale: int = 8,
        protocol: str = "A",
        on_error: str = "raise",
    ):
        super().__init__(on_error=on_error)
        check_choice("split", split, ("val", "test"))
        self.split = split
        self.protocol, self.scale = check_protocol(protocol, scale)
        self._item: dict | None = None

    def __len__(self) -> int:
        return 1

    def load_item(self, index: int) -> dict:
        if self._item is None:
            rgb, depth, valid = motorcycle_rgbd()
            self._item = make_depth_item(
                torch.from_numpy(rgb).permute(2, 0, 1).float() / 255.0,  # (H, W, 3) -> (3, H, W)
                torch.from_numpy(depth),
                scale=self.scale,
                protocol=self.protocol,
                item_id="middlebury/motorcycle",
                valid=torch.from_numpy(valid),
            )
        return {k: (dict(v) if k == "meta" else v.clone()) for k, v in self._item.items()}
