"""Checks of the training data against the model, made before the run folder is written."""

from __future__ import annotations

from ..errors import BadFileError, BadOptionError
from ..nn.backbones import BACKBONES
from ..nn.generator import GeneratorConfig


def _name_channel_mismatch(dataset, expected) -> None:
    """For a dataset of files (FolderDataset), name a file whose channels differ from the model's."""
    items = getattr(dataset, "items", None)
    if not items or not isinstance(items[0], tuple) or not isinstance(items[0][1], dict):
        return
    for role, option, want, have in zip(
        ("input", "guide", "target"), ("input_nc", "guide_nc", "output_nc"), expected, dataset.channels
    ):
        if have is not None and have != want and role in items[0][1]:
            raise BadFileError(items[0][1][role], f"has {have} channels, but model.{option} is {want}")


def check_image_sizes(dataset, gen_cfg: GeneratorConfig, crop, name: str) -> tuple[int, int]:
    """Before training: the images the generator will see (item 0, or the crop) have a size its
    backbone takes, and a folder dataset without a crop holds one size only (else no batch).
    Returns that size (H, W)."""
    multiple, minimum, rule = BACKBONES[gen_cfg.backbone].size_rule(gen_cfg)
    sizes = getattr(dataset, "sizes", None)  # FolderDataset: input file -> (H, W) from headers
    if sizes:
        first_path, first = next(iter(sizes.items()))
        if crop is None:
            for path, hw in sizes.items():
                if hw != first:
                    raise BadFileError(
                        path,
                        f"size {hw[0]}x{hw[1]} differs from {first_path.name} ({first[0]}x{first[1]}); "
                        "images of one training set must share a size, or set train.crop=[h,w]",
                    )
        h, w = first
        where = first_path
    else:
        h, w = dataset[0]["input"].shape[-2:]
        where = f"dataset {name!r}"
    if crop is not None:
        h, w = crop
        where = "train.crop"
    if h % multiple or w % multiple or h < minimum or w < minimum:
        raise BadOptionError(
            str(where),
            f"image size {h}x{w} not supported by the {gen_cfg.backbone} backbone: H and W must be "
            f"{rule}; crop (train.crop) or resize the images",
        )
    return int(h), int(w)


def check_channels(dataset, gen_cfg: GeneratorConfig, name: str) -> None:
    """The dataset's (input, guide, target) channels are the model's; a folder dataset names a file."""
    expected = (gen_cfg.input_nc, gen_cfg.guide_nc, gen_cfg.output_nc)
    if tuple(dataset.channels) != expected:
        _name_channel_mismatch(dataset, expected)
        raise BadOptionError(
            "model",
            f"input/guide/output channels {expected} do not match those of dataset "
            f"{name!r}: {tuple(dataset.channels)}",
        )
