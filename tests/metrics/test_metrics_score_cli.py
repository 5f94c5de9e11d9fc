"""`guided-pix2pix score` end to end on PNG files written here: 8/16-bit, grey/colour, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from guided_pix2pix import cli
from guided_pix2pix.metrics import lpips, psnr, ssim, weights


def _write(folder, name, arr):
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(folder / name)


@pytest.fixture()
def folders(tmp_path):
    """Three pairs: 8-bit colour, 8-bit grey (target as JPEG-free PNG), 16-bit grey."""
    from skimage import data

    rng = np.random.default_rng(3)
    colour = data.astronaut()[::8, ::8]  # 64x64x3 uint8
    grey = data.camera()[::8, ::8]
    grey16 = (grey.astype(np.uint16) * 257) ^ rng.integers(0, 256, grey.shape, dtype=np.uint16)
    noisy = lambda a, s, top: np.clip(a + rng.normal(0, s, a.shape), 0, top).astype(a.dtype)  # noqa: E731
    pred, target = tmp_path / "pred", tmp_path / "target"
    pairs = {
        "a_colour": (noisy(colour, 15, 255), colour),
        "b_grey": (noisy(grey, 10, 255), grey),
        "c_grey16": (noisy(grey16, 3000, 65535), grey16),
    }
    for stem, (p, t) in pairs.items():
        _write(pred, f"{stem}.png", p)
        _write(target, f"{stem}.png", t)
    return pred, target, pairs


def _score(capsys, *argv):
    code = cli.main(["score", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _unit(a):
    top = 65535.0 if a.dtype == np.uint16 else 255.0
    a = a[:, :, None] if a.ndim == 2 else a
    return torch.from_numpy(a.transpose(2, 0, 1).astype(np.float64) / top)[None]


def test_score_matches_the_metric_functions(folders, capsys):
    pred, target, pairs = folders
    code, out, err = _score(capsys, pred, target, "--metrics", "psnr,ssim,ssim_pose")
    assert code == 0, err
    result = json.loads(out)
    assert list(result) == ["psnr", "ssim", "ssim_pose"]
    expected_psnr = np.mean([psnr(_unit(p), _unit(t), value_range=(0, 1)) for p, t in pairs.values()])
    expected_ssim = np.mean([ssim(_unit(p), _unit(t), value_range=(0, 1)) for p, t in pairs.values()])
    assert result["psnr"] == pytest.approx(expected_psnr, rel=1e-12)
    assert result["ssim"] == pytest.approx(expected_ssim, rel=1e-12)


def test_score_with_lpips_and_fid(folders, capsys, lpips_weights, fid_weights, tmp_path):
    pred, target, pairs = folders
    per_image = tmp_path / "per_image.json"
    code, out, err = _score(
        capsys, pred, target, "--metrics", "lpips_alex,lpips_vgg,fid", "--per-image", per_image
    )
    assert code == 0, err
    result = json.loads(out)
    p, t = pairs["a_colour"]
    table = json.loads(per_image.read_text())
    assert sorted(table) == ["a_colour", "b_grey", "c_grey16"] and "fid" not in table["a_colour"]
    assert table["a_colour"]["lpips_alex"] == pytest.approx(
        lpips(_unit(p), _unit(t), value_range=(0, 1)), rel=1e-6
    )
    assert result["lpips_alex"] == pytest.approx(np.mean([v["lpips_alex"] for v in table.values()]), rel=1e-9)
    assert 0 < result["lpips_alex"] < 1 and 0 < result["lpips_vgg"] < 1 and result["fid"] > 0


def _error(capsys, *argv) -> str:
    code, out, err = _score(capsys, *argv)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    return lines[0]


def test_errors_are_one_line(folders, capsys, tmp_path, monkeypatch):
    pred, target, pairs = folders
    assert "unknown metric 'psnrr'" in _error(capsys, pred, target, "--metrics", "psnr,psnrr")
    assert "ssim_masked needs mask" in _error(capsys, pred, target, "--metrics", "ssim_masked")
    assert "needs a classifier" in _error(capsys, pred, target, "--metrics", "inception_score")
    monkeypatch.setenv(weights.CACHE_ENV, str(tmp_path / "empty-cache"))
    assert "weights install lpips" in _error(capsys, pred, target, "--metrics", "psnr,lpips_vgg")
    _write(pred, "d_extra.png", pairs["b_grey"][0])
    assert "1 stem(s) have no match" in _error(capsys, pred, target, "--metrics", "psnr")
    _write(target, "d_extra.png", pairs["b_grey"][1][:32])
    assert "differs from" in _error(capsys, pred, target, "--metrics", "psnr")
    _write(target, "d_extra.png", np.stack([pairs["b_grey"][1]] * 3, -1))
    assert "is grey but" in _error(capsys, pred, target, "--metrics", "psnr")
    _write(target, "d_extra.jpg", pairs["b_grey"][1])
    assert "two files with stem 'd_extra'" in _error(capsys, pred, target, "--metrics", "psnr")
    assert "not a directory" in _error(capsys, pred, tmp_path / "nowhere", "--metrics", "psnr")
