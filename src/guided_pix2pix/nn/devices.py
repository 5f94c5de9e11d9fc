"""Where a model runs: choosing the torch device and moving batches onto it."""

from __future__ import annotations

import torch

from ..errors import BadOptionError


def resolve_device(text: str = "auto") -> torch.device:
    """ "auto": CUDA if present, else Apple MPS if present, else CPU; otherwise a torch device name."""
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    try:
        device = torch.device(text)
    except RuntimeError as exc:
        raise BadOptionError("--device", f"unknown device {text!r} (auto, cpu, cuda, cuda:N, mps)") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise BadOptionError("--device", f"{text!r} asked for, but no CUDA device is available")
    return device


def to_device(batch: dict, device: torch.device | str) -> dict:
    """The batch with every tensor moved to `device` (non-blocking where the copy allows it)."""
    return {
        k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()
    }
