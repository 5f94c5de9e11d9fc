"""Property-based tests (hypothesis) for what tests/data does not cover yet: the training loop's
batch augmentation and step sampler (exact resume rests on them), and the file readers under
random corruption (any damaged file is an array or a BadFileError, never another exception)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guided_pix2pix.data.transforms import augment_batch
from guided_pix2pix.errors import BadFileError
from guided_pix2pix.files.images import probe_image, read_image
from guided_pix2pix.training.sampling import StepBatchSampler, step_generator

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(
    n=st.integers(1, 4),
    h=st.integers(2, 12),
    w=st.integers(2, 12),
    crop=st.booleans(),
    flip=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_augment_batch_moves_every_image_of_an_item_together(n, h, w, crop, flip, seed):
    x = torch.arange(n * h * w, dtype=torch.float32).view(n, 1, h, w)
    batch = {"input": x, "guide": torch.cat([x * 2, x * 3], 1), "target": x + 1, "mask": x % 2}
    size = (max(1, h // 2), max(1, w // 2)) if crop else None
    out = augment_batch({k: v.clone() for k, v in batch.items()}, step_generator(seed, 0, 1, 0), flip, size)
    ch, cw = size or (h, w)
    assert out["input"].shape == (n, 1, ch, cw) and out["guide"].shape == (n, 2, ch, cw)
    assert torch.equal(out["guide"], torch.cat([out["input"] * 2, out["input"] * 3], 1))
    assert torch.equal(out["target"], out["input"] + 1) and torch.equal(out["mask"], out["input"] % 2)
    for i in range(n):  # each output is a (possibly flipped) window of its own item
        window = out["input"][i, 0]
        found = False
        for cand in (window, window.flip(1)):
            top, left = divmod(int(cand[0, 0].item()) - i * h * w, w)
            if 0 <= top <= h - ch and 0 <= left <= w - cw:
                found |= torch.equal(cand, x[i, 0, top : top + ch, left : left + cw])
        assert found
    again = augment_batch({k: v.clone() for k, v in batch.items()}, step_generator(seed, 0, 1, 0), flip, size)
    assert all(torch.equal(out[k], again[k]) for k in out)  # a function of (seed, rank, step)


@FAST
@given(
    n_items=st.integers(2, 40),
    batch=st.integers(1, 4),
    world=st.integers(1, 3),
    seed=st.integers(0, 10**6),
    start=st.integers(0, 30),
    length=st.integers(0, 20),
)
def test_step_sampler_resumed_equals_the_tail_of_an_uninterrupted_run(
    n_items, batch, world, seed, start, length
):
    if n_items < batch * world:
        return
    stop = start + length
    for rank in range(world):
        full = list(StepBatchSampler(n_items, batch, world, rank, seed, 0, stop))
        resumed = list(StepBatchSampler(n_items, batch, world, rank, seed, start, stop))
        assert resumed == full[start:]
    per_epoch = n_items // (batch * world)
    epoch0 = [
        i
        for r in range(world)
        for b in list(StepBatchSampler(n_items, batch, world, r, seed, 0, per_epoch))
        for i in b
    ]
    assert len(epoch0) == len(set(epoch0)) == per_epoch * batch * world  # no item twice in an epoch


def _encoded(kind: str) -> tuple[str, bytes]:
    rng = np.random.default_rng(0)
    if kind == "npy":
        buf = io.BytesIO()
        np.save(buf, rng.random((6, 5, 2), dtype=np.float32) * 2 - 1)
        return ".npy", buf.getvalue()
    if kind == "tif":
        import tifffile

        buf = io.BytesIO()
        tifffile.imwrite(buf, rng.integers(0, 65535, (6, 5), dtype=np.uint16))
        return ".tif", buf.getvalue()
    from PIL import Image

    buf = io.BytesIO()
    fmt = {"png": "PNG", "png16": "PNG", "jpg": "JPEG"}[kind]
    arr = (
        rng.integers(0, 65535, (6, 5), dtype=np.uint16)
        if kind == "png16"
        else rng.integers(0, 255, (6, 5, 3), dtype=np.uint8)
    )
    Image.fromarray(arr).save(buf, format=fmt)
    return ".jpg" if kind == "jpg" else ".png", buf.getvalue()


@pytest.mark.parametrize("kind", ["png", "png16", "jpg", "tif", "npy"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_damaged_file_reads_as_an_array_or_a_bad_file_error(kind, data, tmp_path):
    suffix, good = _encoded(kind)
    raw = bytearray(good)
    cut = data.draw(st.integers(0, len(raw)), label="truncate at")
    raw = raw[:cut] if data.draw(st.booleans(), label="truncate") else raw
    for _ in range(data.draw(st.integers(0, 6), label="flips")):
        if raw:
            pos = data.draw(st.integers(0, len(raw) - 1))
            raw[pos] = data.draw(st.integers(0, 255))
    path = tmp_path / f"f{suffix}"
    path.write_bytes(bytes(raw))
    for reader in (read_image, probe_image):
        try:
            out = reader(path)
        except BadFileError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc)
        else:
            if reader is read_image:
                assert isinstance(out, np.ndarray) and out.ndim == 3 and out.size <= 64 * 1024 * 1024 * 4
