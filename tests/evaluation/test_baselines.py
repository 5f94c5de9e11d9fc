"""The classical depth baselines: OpenCV's filters as a user calls them, tuned on validation data."""

import json

import numpy as np
import pytest
import torch

cv2 = pytest.importorskip("cv2", reason="opencv-contrib-python-headless is not installed")

from guided_pix2pix.cli import main  # noqa: E402
from guided_pix2pix.data import build_dataset  # noqa: E402
from guided_pix2pix.evaluation.baselines import DEPTH_BASELINES, tune_baselines  # noqa: E402
from guided_pix2pix.evaluation.batching import collate  # noqa: E402
from guided_pix2pix.metrics import depth_rmse  # noqa: E402
from guided_pix2pix.nn.generator import Generator  # noqa: E402


@pytest.fixture(scope="module")
def batch():
    ds = build_dataset("synthetic_depth", split="val", size=(48, 64), count=2, scale=8)
    return collate([ds[0], ds[1]])


def _direct(name, depth01, bgr, params):
    x = cv2.ximgproc
    if name == "joint_bilateral":
        return x.jointBilateralFilter(
            bgr.astype(np.float32), depth01, -1, params["sigma_color"], params["sigma_space"]
        )
    if name == "guided_filter":
        return x.guidedFilter(bgr, depth01, params["radius"], params["eps"] * 255.0**2)
    return x.fastGlobalSmootherFilter(bgr, depth01, params["lam"], params["sigma_color"])


@pytest.mark.parametrize(
    "name,params",
    [
        ("joint_bilateral", {"sigma_color": 10.0, "sigma_space": 4.0}),
        ("guided_filter", {"radius": 4, "eps": 1e-3}),
        ("fgs", {"lam": 100.0, "sigma_color": 5.0}),
    ],
)
def test_filters_match_opencv_called_directly(batch, name, params):
    pred = DEPTH_BASELINES[name].predict(batch, params)
    assert pred.shape == batch["input"].shape
    for i in range(2):
        depth01 = ((batch["input"][i, 0] + 1) / 2).numpy().astype(np.float32)
        rgb = ((batch["guide"][i] + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
        want = np.clip(_direct(name, depth01, np.ascontiguousarray(rgb[:, :, ::-1]), params), 0, 1) * 2 - 1
        np.testing.assert_allclose(pred[i, 0].numpy(), want, atol=1e-6)
    assert not torch.equal(pred, batch["input"])  # the filter did something


def test_tuning_picks_the_grid_point_with_the_lowest_validation_error(batch):
    def score(pred, b):
        m = b["meta"]
        return float(
            depth_rmse(pred, b["target"], m["depth_min_m"], m["depth_max_m"], reduction="none").sum()
        )

    chosen = tune_baselines("depth", ["bicubic", "guided_filter"], [batch], score)
    assert chosen["bicubic"] == {}
    values = {tuple(p.values()): score(DEPTH_BASELINES["guided_filter"].predict(batch, p), batch)
              for p in DEPTH_BASELINES["guided_filter"].points()}  # fmt: skip
    assert tuple(chosen["guided_filter"].values()) == min(values, key=values.get)


def test_evaluate_reports_tuned_filters_beside_the_model(tmp_path, capsys):
    model = tmp_path / "g"
    Generator(input_nc=1, guide_nc=3, output_nc=1, ngf=4, n_blocks=1, bottleneck=4).save_pretrained(model)
    tune = tmp_path / "tune.yaml"
    tune.write_text("base: synthetic_depth\ndata:\n  options: {size: [32, 32], count: 2}\n")
    out = tmp_path / "eval"
    argv = ["evaluate", "--checkpoint", str(model), "--config", "synthetic_depth", "data.options.size=[32,40]",
            "data.options.count=2", "--metrics", "depth_rmse_a", "--device", "cpu", "--out", str(out),
            "--baselines", "bicubic,guided_filter,fgs", "--tune-on", str(tune)]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert f"guided_filter tuned on {tune} (split val): " in captured.err
    result = json.loads((out / "metrics.json").read_text())
    assert set(result["baselines"]) == {"bicubic", "guided_filter", "fgs"}
    assert set(result["baseline_params"]["guided_filter"]) == {"radius", "eps"}
    assert result["baseline_params"]["bicubic"] == {}
    assert all(np.isfinite(v["depth_rmse_a"]) for v in result["baselines"].values())
    assert main([*argv[:-4], "--baselines", "bicubic,median"]) == 2
    assert "unknown baseline 'median' for task 'depth'" in capsys.readouterr().err


def test_default_tuning_follows_the_evaluated_scale_and_protocol_under_max_items(
    tmp_path, capsys, monkeypatch
):
    """--max-items cuts the evaluated set (a Subset); the filters are still tuned at its scale
    and protocol (x4, B here), not at the x8 / A fallback."""
    from guided_pix2pix.evaluation import engine

    monkeypatch.setattr(engine, "TUNE_ITEMS", 2)  # a tiny default tuning set: the same code path
    monkeypatch.setattr(engine, "TUNE_SIZE", (32, 32))
    model = tmp_path / "g"
    Generator(input_nc=1, guide_nc=3, output_nc=1, ngf=4, n_blocks=1, bottleneck=4).save_pretrained(model)
    out = tmp_path / "eval"
    argv = ["evaluate", "--checkpoint", str(model), "--config", "synthetic_depth", "data.options.size=[32,32]",
            "data.options.count=3", "data.options.scale=4", "data.options.protocol=B", "--max-items", "1",
            "--metrics", "depth_rmse_a", "--device", "cpu", "--out", str(out), "--baselines", "guided_filter"]  # fmt: skip
    assert main(argv) == 0
    assert "x4 protocol B" in capsys.readouterr().err
    expected = engine.tune_on_dataset("depth", ["guided_filter"], engine.default_tuning_dataset(4, "B"))
    assert json.loads((out / "metrics.json").read_text())["baseline_params"] == expected
