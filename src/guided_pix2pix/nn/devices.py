"""Where a model runs: choosing the torch device and moving batches onto it."""

from __future__ import annotations

import torch

from ..errors import BadOptionError

DEVICE_TYPES = ("cpu", "cuda", "mps")  # what --device may name (plus "auto")
CHOICES = "auto, cpu, cuda, cuda:N, mps"


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(text: str = "auto") -> torch.device:
    """ "auto": CUDA if present, else Apple MPS if present, else CPU. Otherwise "cpu", "cuda",
    "cuda:N" or "mps", each only if this machine has it: any other device type (meta, xla, a
    typo), a CUDA index beyond `torch.cuda.device_count()` and MPS where it is not available are
    a `BadOptionError` naming --device (one line, before any model is built)."""
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if _mps_available() else "cpu")
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError) as exc:
        raise BadOptionError("--device", f"unknown device {text!r} ({CHOICES})") from exc
    if device.type not in DEVICE_TYPES:
        raise BadOptionError("--device", f"device type {device.type!r} is not supported ({CHOICES})")
    if device.type == "cpu" and device.index not in (None, 0):
        raise BadOptionError("--device", f"{text!r}: there is one CPU device, cpu (or cpu:0)")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise BadOptionError("--device", f"{text!r} asked for, but no CUDA device is available")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise BadOptionError(
                "--device",
                f"{text!r} asked for, but this machine has {count} CUDA device(s): cuda:0..cuda:{count - 1}",
            )
    if device.type == "mps":
        if not _mps_available():
            raise BadOptionError(
                "--device", f"{text!r} asked for, but Apple MPS is not available on this machine"
            )
        if device.index not in (None, 0):
            raise BadOptionError("--device", f"{text!r}: there is one MPS device, mps (or mps:0)")
    return device


def to_device(batch: dict, device: torch.device | str) -> dict:
    """The batch with every tensor moved to `device` (non-blocking where the copy allows it)."""
    return {
        k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()
    }
