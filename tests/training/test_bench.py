"""`guided-pix2pix bench`: one JSON line with every key, both modes, FLOP counting."""

import json

import pytest

from guided_pix2pix.cli import main
from guided_pix2pix.training.bench import BenchSettings, bench_config, count_step_flops

KEYS = {
    "img_per_s",
    "ms_per_step",
    "peak_mem_gib",
    "peak_mem_kind",
    "gflop_per_img",
    "tflops",
    "mfu",
    "peak_tflops",
    "peak_source",
    "preset",
    "batch",
    "size",
    "steps",
    "device",
    "precision",
    "compile",
    "mode",
    "data",
    "threads",
    "channels_last",
}
TINY = ["--size", "16", "16", "--batch", "1", "--steps", "1", "--warmup", "0", "--threads", "1"]


def _run(capsys, *args):
    assert main(["bench", *args]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


@pytest.mark.parametrize("mode", ["reference", "fast"])
def test_bench_prints_one_json_line_with_all_keys(capsys, mode):
    out = _run(capsys, "--preset", "depth_x8", "--mode", mode, "--peak-tflops", "1.0", *TINY)
    assert KEYS <= set(out)
    assert out["mode"] == mode and out["batch"] == 1 and out["size"] == [16, 16]
    assert out["img_per_s"] > 0 and out["ms_per_step"] > 0 and out["gflop_per_img"] > 0
    assert out["mfu"] == pytest.approx(out["tflops"] / 1.0, rel=1e-2, abs=1e-5)


def test_bench_synthetic_data_and_loader_only(capsys):
    out = _run(
        capsys, "--preset", "pose", "--data", "synthetic", "--size", "32", "32", *TINY[3:], "--no-flops"
    )
    assert out["data"] == "synthetic" and out["workers"] == 0 and out["gflop_per_img"] is None
    out = _run(
        capsys, "--preset", "pose", "--loader-only", "--size", "32", "32", "--batch", "2", "--steps", "2"
    )
    assert out["loader_img_per_s"] > 0 and out["workers"] == 0


def test_flops_positive_and_scale_with_batch():
    def flops(batch):
        s = BenchSettings(preset="texture", size=(128, 128), batch=batch, threads=1)
        return count_step_flops(bench_config(s), s)

    one, two = flops(1), flops(2)
    assert one > 0
    assert two == pytest.approx(2 * one, rel=0.02)


def test_bad_option_is_one_line_exit_2(capsys):
    assert main(["bench", "--preset", "pose", "--batch", "0", *TINY[:3]]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--batch" in err[0]
