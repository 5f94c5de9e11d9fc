"""Data: synthetic tasks, loaders for the official dataset files, folder triplets, transforms.

Every dataset returns items by one contract (DESIGN.md): a dict with ``input`` (C_in, H, W),
``guide`` (C_g, H, W), ``target`` (C_out, H, W; absent for inference folders), float32 in
[-1, 1], optional ``mask`` (1, H, W) with 1 = valid target pixel, and ``meta`` (``id``; for
depth also ``depth_min_m`` / ``depth_max_m``). Each dataset class has ``task`` and
``channels`` = (input_nc, guide_nc, output_nc).

`build_dataset(name, split, **options)` builds one by name from `DATASETS`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import cast

import torch

from ..errors import BadOptionError
from .base import ItemDataset
from .color import denormalize_lab, lab_to_rgb, normalize_lab, rgb_to_lab
from .deepfashion import DeepFashionDataset
from .depth import (
    DOWNSAMPLERS,
    degrade_depth,
    denormalize_depth,
    downsample_bicubic,
    downsample_interval,
    make_depth_item,
    normalize_depth,
    upsample_bicubic,
)
from .folder import FolderDataset
from .middlebury import MiddleburyDataset
from .nyu import NYUDepthDataset
from .synthetic_depth import SyntheticDepthDataset
from .synthetic_pose import SyntheticPoseDataset
from .synthetic_texture import SyntheticTextureDataset
from .texturegan import TextureGANDataset
from .transforms import augment_batch, crop_to, pad_to_multiple

# dataset name -> factory(split=..., **options)
DATASETS: dict[str, Callable[..., torch.utils.data.Dataset]] = {
    "synthetic_depth": SyntheticDepthDataset,
    "synthetic_pose": SyntheticPoseDataset,
    "synthetic_texture": SyntheticTextureDataset,
    "nyu": NYUDepthDataset,
    "deepfashion": DeepFashionDataset,
    "texturegan": TextureGANDataset,
    "folder": FolderDataset,
    "middlebury": MiddleburyDataset,
}


def dataset_options(name: str) -> list[str]:
    """The keyword options `build_dataset(name, ...)` accepts besides split."""
    if name not in DATASETS:
        raise BadOptionError(
            "dataset", f"unknown dataset {name!r}; choose from {', '.join(sorted(DATASETS))}"
        )
    names: list[str] = []
    for cls in (
        inspect.getmro(cast(type, DATASETS[name])) if inspect.isclass(DATASETS[name]) else [DATASETS[name]]
    ):
        params = inspect.signature(cls).parameters.values()
        names += [p.name for p in params if p.kind is not p.VAR_KEYWORD and p.name not in names]
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break  # a class that takes **common passes them on to its base: list the base's too
    return [n for n in names if n not in ("self", "split")]


def build_dataset(name: str, split: str = "train", **options) -> torch.utils.data.Dataset:
    """Build dataset `name` (a key of `DATASETS`) for `split` ("train" | "val" | "test").

    options: the dataset's own keyword options (see `dataset_options(name)`); an unknown name
    or option raises `BadOptionError` naming it.
    """
    allowed = dataset_options(name)
    for key in options:
        if key not in allowed:
            raise BadOptionError(key, f"not an option of dataset {name!r}; options: {', '.join(allowed)}")
    return DATASETS[name](split=split, **options)


__all__ = [
    "DATASETS",
    "build_dataset",
    "dataset_options",
    "ItemDataset",
    "SyntheticDepthDataset",
    "SyntheticPoseDataset",
    "SyntheticTextureDataset",
    "FolderDataset",
    "NYUDepthDataset",
    "DeepFashionDataset",
    "TextureGANDataset",
    "MiddleburyDataset",
    "DOWNSAMPLERS",
    "downsample_interval",
    "downsample_bicubic",
    "upsample_bicubic",
    "degrade_depth",
    "normalize_depth",
    "denormalize_depth",
    "make_depth_item",
    "rgb_to_lab",
    "lab_to_rgb",
    "normalize_lab",
    "denormalize_lab",
    "augment_batch",
    "pad_to_multiple",
    "crop_to",
]
