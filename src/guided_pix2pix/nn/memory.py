"""How much memory a generator's forward pass needs at a given batch and image size, and whether
the device has it: checked before a large image is run, so that a 20000 x 20000 input is refused
with one line instead of being killed by the kernel (or by CUDA) half-way.

The estimate runs the generator on PyTorch's ``meta`` device (shapes only: no memory, no
arithmetic) under a dispatch mode that adds up the bytes of every freshly allocated tensor while
it is alive (a view or an in-place op allocates nothing) and keeps the peak. That is the peak of
the live activations of a no-grad forward pass, plus the weights. It runs once per generator
config, at a probe size of 256 x 256: activation memory grows in proportion to the pixels (every
layer is convolutional; checked against the measured growth of the process at two sizes), so the
bytes per pixel found there scale to any batch and size. Only batches of at least
`CHECK_FROM_PIXELS` pixels are checked; smaller ones fit any machine this runs on.
"""

from __future__ import annotations

import functools
import json
import os
import weakref
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from ..errors import BadOptionError

GIB = 1 << 30
HEADROOM = 0.8  # use at most this share of the memory the device reports free
PROBE_SIZE = 256  # pixels per side of the meta-device probe (rounded up to the size rule)
CHECK_FROM_PIXELS = 4 * 1024 * 1024  # batch x height x width from which a forward pass is checked
CHECK_TRAINING_FROM_PIXELS = 1024 * 1024  # the same for a training step (several times the memory)


class _PeakLiveBytes(TorchDispatchMode):
    """Tracks the bytes of the tensors ops allocate while they are alive; `peak` is the maximum."""

    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0

    def _release(self, nbytes: int) -> None:
        self.live -= nbytes

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        returns = func._schema.returns
        if any(r.alias_info is not None for r in returns):  # a view or an in-place result
            return out
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                nbytes = t.numel() * t.element_size()
                self.live += nbytes
                weakref.finalize(t, self._release, nbytes)
        self.peak = max(self.peak, self.live)
        return out


@functools.lru_cache(maxsize=64)
def _forward_bytes(config_json: str, batch: int, height: int, width: int) -> int:
    from .generator import Generator, GeneratorConfig

    config = GeneratorConfig.from_dict(json.loads(config_json))
    config.input_filter = None  # the OpenCV pre-filter runs on the CPU, one image at a time
    with torch.device("meta"):
        model = Generator(config).eval()
        x = torch.empty(batch, config.input_nc, height, width)
        g = torch.empty(batch, config.guide_nc, height, width)
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    mode = _PeakLiveBytes()
    with torch.no_grad(), mode:
        model(x, g)
    return weights + mode.peak


@functools.lru_cache(maxsize=16)
def _training_step_bytes(config_json: str, side: int) -> tuple[int, float]:
    """(fixed bytes, bytes per pixel) of one generator training step at batch 1: forward with
    autograd (the saved activations stay alive in the graph), backward, the gradients and Adam's
    two moments, measured on the meta device."""
    from .generator import Generator, GeneratorConfig

    config = GeneratorConfig.from_dict(json.loads(config_json))
    config.input_filter = None
    with torch.device("meta"):
        model = Generator(config).train()
        x = torch.empty(1, config.input_nc, side, side)
        g = torch.empty(1, config.guide_nc, side, side)
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    mode = _PeakLiveBytes()
    with mode:
        model(x, g).abs().mean().backward()
    fixed = 3 * weights  # the weights and Adam's two moments; the gradients are counted in the run
    return fixed, mode.peak / (side * side)


def _probe_side(config: Any) -> int:
    """PROBE_SIZE rounded up to a size the config's backbone takes (pixels per side)."""
    from .backbones import BACKBONES

    multiple, minimum, _ = BACKBONES[config.backbone].size_rule(config)
    return -(-max(PROBE_SIZE, minimum) // multiple) * multiple


def estimated_training_bytes(config: Any, batch: int, height: int, width: int) -> int:
    """Peak bytes of one training step of the generator alone (the discriminator, when there is
    one, adds its own share: this is a lower bound), scaled from a probe at PROBE_SIZE."""
    fixed, per_pixel = _training_step_bytes(json.dumps(config.to_dict(), sort_keys=True), _probe_side(config))
    return int(fixed + per_pixel * batch * height * width)


def check_training_fits(
    config: Any, batch: int, height: int, width: int, device: torch.device, option: str = "train.batch_size"
) -> None:
    """Raise BadOptionError naming `option` when one training step of the generator alone
    would need more than HEADROOM of the device's free memory (before anything is built)."""
    if batch * height * width < CHECK_TRAINING_FROM_PIXELS:
        return
    free = free_bytes(device)
    if free is None:
        return
    need = estimated_training_bytes(config, batch, height, width)
    if need > HEADROOM * free:
        raise BadOptionError(
            option,
            f"a training step on {batch} image(s) of {height}x{width} pixels needs about {need / GIB:.1f} GiB "
            f"for the generator alone; {device.type} has {free / GIB:.1f} GiB free (at most {HEADROOM:.0%} "
            f"is used): use a smaller {option} (with train.grad_accum for the same effective batch) "
            "or train.crop",
        )


def forward_bytes(config: Any, batch: int, height: int, width: int) -> int:
    """Peak bytes (float32 weights + live activations) of a no-grad forward pass of a generator
    built from `config` (a GeneratorConfig) on (batch, C, height, width) inputs (a size the
    backbone takes: pad first), measured on the meta device at exactly that size."""
    return _forward_bytes(json.dumps(config.to_dict(), sort_keys=True), int(batch), int(height), int(width))


@functools.lru_cache(maxsize=64)
def _per_pixel(config_json: str, side: int) -> tuple[int, float]:
    from .generator import GeneratorConfig

    config = GeneratorConfig.from_dict(json.loads(config_json))
    weights = config.parameter_count() * 4
    peak = _forward_bytes(config_json, 1, side, side)
    return weights, (peak - weights) / (side * side)


def estimated_forward_bytes(config: Any, batch: int, height: int, width: int) -> int:
    """`forward_bytes` scaled from one probe at PROBE_SIZE: weights + bytes per pixel x pixels."""
    weights, per_pixel = _per_pixel(json.dumps(config.to_dict(), sort_keys=True), _probe_side(config))
    return int(weights + per_pixel * batch * height * width)


def free_bytes(device: torch.device) -> int | None:
    """Memory the device can give now: CUDA's free memory, or the host's MemAvailable; None if unknown."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type == "cpu":
        try:
            with open("/proc/meminfo") as fh:
                for line in fh:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError):
            return None
    return None


def check_forward_fits(
    config: Any, batch: int, height: int, width: int, device: torch.device, option: str = "--batch-size"
) -> None:
    """Raise BadOptionError (naming `option`) when the forward pass would need more than
    HEADROOM of the device's free memory; says how much it needs and how much there is."""
    if batch * height * width < CHECK_FROM_PIXELS:
        return
    free = free_bytes(device)
    if free is None:
        return
    need = estimated_forward_bytes(config, batch, height, width)
    if need > HEADROOM * free:
        raise BadOptionError(
            option,
            f"a batch of {batch} image(s) of {height}x{width} pixels needs about {need / GIB:.1f} GiB for this "
            f"generator's forward pass; {device.type} has {free / GIB:.1f} GiB free (at most "
            f"{HEADROOM:.0%} is used): use a smaller --batch-size or smaller images",
        )
