"""`resolve_device`: every device that is not there is one `BadOptionError` naming --device."""

from __future__ import annotations

import pytest
import torch

from guided_pix2pix.errors import BadOptionError
from guided_pix2pix.nn.devices import resolve_device


@pytest.mark.parametrize(
    "text, problem",
    [
        ("meta", "device type 'meta' is not supported"),
        ("xla", "device type 'xla' is not supported"),
        ("tpu9", "unknown device 'tpu9'"),
        ("cuda:x", "unknown device 'cuda:x'"),
        ("cpu:1", "one CPU device"),
    ],
)
def test_device_types_other_than_cpu_cuda_mps_are_refused(text, problem):
    with pytest.raises(BadOptionError, match=problem) as raised:
        resolve_device(text)
    assert str(raised.value).startswith("--device: ") and "\n" not in str(raised.value)


def test_mps_is_refused_where_it_is_not_available(monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(BadOptionError, match="--device: 'mps' asked for, but Apple MPS is not available"):
        resolve_device("mps")
    assert resolve_device("auto").type in ("cpu", "cuda")


def test_a_cuda_index_beyond_the_device_count_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(BadOptionError, match=r"'cuda:2' asked for, but this machine has 2 CUDA device\(s\)"):
        resolve_device("cuda:2")


def test_cuda_without_cuda_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(BadOptionError, match="no CUDA device is available"):
        resolve_device("cuda:0")


def test_cpu_and_auto_resolve():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
