"""Validation during training: the task's per-image metrics on held-out items, in eval mode.

Depth runs report the RMSE (cm, protocol A) of the model and of its bicubic input; every other
task L1 (network values) and PSNR. Texture's PSNR is measured on sRGB in [0, 1], converted from
the network's scaled LAB as `evaluate` converts it, so that the training log and `evaluate`
report the same number (it used to be PSNR on the LAB values, about 5 dB higher). The numbers go
to metrics.jsonl as ``val/<name>``.
"""

from __future__ import annotations

from typing import cast

import torch

from ..metrics.depth import depth_rmse
from ..metrics.psnr import psnr
from ..nn.devices import to_device


def _depth_validation(outputs, batch) -> dict[str, list[float]]:
    kwargs = dict(protocol="A", valid=batch.get("mask"), reduction="none")
    lo, hi = batch["meta"]["depth_min_m"], batch["meta"]["depth_max_m"]
    # reduction="none": per-image tensors
    model = cast(torch.Tensor, depth_rmse(outputs, batch["target"], lo, hi, **kwargs))
    bicubic = cast(torch.Tensor, depth_rmse(batch["input"], batch["target"], lo, hi, **kwargs))
    return {"rmse_cm": model.tolist(), "input_rmse_cm": bicubic.tolist()}


def _image_validation(outputs, batch) -> dict[str, list[float]]:
    l1 = (outputs - batch["target"]).abs().flatten(1).mean(1)
    return {
        "l1": l1.tolist(),
        "psnr": cast(torch.Tensor, psnr(outputs, batch["target"], reduction="none")).tolist(),
    }


def _texture_validation(outputs, batch) -> dict[str, list[float]]:
    from ..data.visualize import lab_to_display_rgb

    l1 = (outputs - batch["target"]).abs().flatten(1).mean(1)
    rgb_out, rgb_target = (lab_to_display_rgb(x.double()) for x in (outputs, batch["target"]))
    values = psnr(rgb_out, rgb_target, value_range=(0.0, 1.0), reduction="none")
    return {"l1": l1.tolist(), "psnr": cast(torch.Tensor, values).tolist()}


# task -> its validator; any other task: L1 and PSNR on the network values
VALIDATORS = {"depth": _depth_validation, "texture": _texture_validation}


@torch.no_grad()
def validate(generator, loader, task: str, device) -> dict[str, float]:
    """Mean of the task's per-image metrics over `loader` (G in eval mode, restored after)."""
    score = VALIDATORS.get(task, _image_validation)
    was_training = generator.training
    generator.eval()
    sums: dict[str, list[float]] = {}
    for batch in loader:
        batch = to_device(batch, device)
        outputs = generator(batch["input"], batch["guide"]).float()
        for name, values in score(outputs, batch).items():
            sums.setdefault(name, []).extend(values)
    generator.train(was_training)
    return {name: sum(v) / len(v) for name, v in sums.items() if v}
