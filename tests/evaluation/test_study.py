"""`guided-pix2pix study` end to end on a tiny depth configuration: every output file, the table
against the runs' own metrics.jsonl and eval/metrics.json, and reruns that resume."""

from __future__ import annotations

import json
import shutil

import pytest
from PIL import Image

from guided_pix2pix.cli import main
from guided_pix2pix.nn.generator import Generator

TINY = [
    "data.options.size=[32,32]",
    "data.options.count=16",
    "data.val_max_items=2",
    "model.ngf=4",
    "model.n_blocks=1",
    "model.bottleneck=8",
    "train.batch_size=2",
    "train.save_every=2",
]
DATASETS = ["synthetic_depth-test", "middlebury-test"]
BASELINES = {"bicubic", "joint_bilateral", "guided_filter", "fgs"}


@pytest.fixture
def study(tmp_path):
    tune = tmp_path / "tune.yaml"  # two tiny validation scenes tune the filters (the default takes ~30 s)
    tune.write_text(
        "data:\n  dataset: synthetic_depth\n  options: {size: [32, 32], count: 2, scale: 8, protocol: A}\n"
    )
    out = tmp_path / "study"

    def run(*extra):
        return main(
            ["study", "--task", "depth", "--out", str(out), "--seeds", "1", "--steps", "3",
             "--eval-items", "4", "--tune-on", str(tune), "--no-progress", "--device", "cpu", *extra, *TINY]
        )  # fmt: skip

    return out, run


def _mtimes(folder):
    return {p: p.stat().st_mtime_ns for p in sorted(folder.rglob("*")) if p.is_file()}


def _records(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_study_end_to_end_then_resumes(study, capsys):
    out, run = study
    assert run("--schemes", "bft", "input_concat") == 0
    printed = capsys.readouterr()
    assert "bft-seed0: training (3 steps)" in printed.err

    # --- every output file ---
    for name in ("study.json", "study.html", "study_curves.png", "study_outputs.png", "study_maps_bft.png"):
        assert (out / name).is_file(), name
    assert not (out / "study_maps_input_concat.png").exists()  # no FT stages, no maps
    for name in ("study_curves.png", "study_outputs.png", "study_maps_bft.png"):
        with Image.open(out / name) as image:
            assert image.format == "PNG" and image.width <= 1280, name
    result = json.loads((out / "study.json").read_text())
    assert result["datasets"] == DATASETS
    assert list(result["schemes"]) == ["input_concat", "bft"]  # the schemes' registry order
    assert result["files"]["maps"] == {"bft": "study_maps_bft.png"}

    # --- the table against the runs' own files ---
    for scheme, row in result["schemes"].items():
        folder = out / "runs" / f"{scheme}-seed0"
        assert row["seeds"] == [0]
        assert row["parameters"] == Generator.from_pretrained(folder / "generator").num_parameters()
        assert row["gflop_per_image"] > 0
        records = _records(folder)
        seconds = [r["sec"] for r in records if "sec" in r]  # one train invocation: its last value
        assert row["train_seconds"] == {"mean": seconds[-1], "std": None, "n": 1}
        val = [[r["step"], r["val/rmse_cm"]] for r in records if "val/rmse_cm" in r]
        assert result["runs"][f"{scheme}-seed0"]["validation"] == val and len(val) == 3
        for dataset in DATASETS:
            evaluated = json.loads((folder / "eval" / dataset / "metrics.json").read_text())
            assert evaluated["rows"] == (4 if dataset.startswith("synthetic") else 1)
            assert set(row["metrics"][dataset]) == set(evaluated["metrics"]) == set(result["metrics"])
            for metric, value in evaluated["metrics"].items():
                assert row["metrics"][dataset][metric] == {"mean": pytest.approx(value), "std": None, "n": 1}
            ratio = (evaluated.get("guide_sensitivity") or {}).get("ratio")  # None for one item
            assert row["guide_sensitivity"][dataset]["mean"] == (
                None if ratio is None else pytest.approx(ratio)
            )
            assert set(evaluated["baselines"]) >= BASELINES
            for baseline, values in evaluated["baselines"].items():  # the same in every run's file
                assert result["baselines"][dataset][baseline] == pytest.approx(values)
    page = (out / "study.html").read_text()
    assert "max-width: 1240px" in page
    for needle in ("bicubic (baseline)", "fgs (baseline)", "input_concat", "study_maps_bft.png", "GFLOP"):
        assert needle in page, needle
    assert "bft:" in printed.out and "bicubic (baseline)" in printed.out

    # --- a rerun trains, evaluates and draws nothing again ---
    before = _mtimes(out / "runs")
    drawn = {p: p.stat().st_mtime_ns for p in out.glob("*.png")}
    assert run("--schemes", "bft", "input_concat") == 0
    err = capsys.readouterr().err
    assert "bft-seed0: finished (3 steps), not retrained" in err and "evaluating" not in err
    assert _mtimes(out / "runs") == before
    assert {p: p.stat().st_mtime_ns for p in out.glob("*.png")} == drawn

    # --- an interrupted run resumes from its newest checkpoint; the report keeps the other run ---
    bft = out / "runs" / "bft-seed0"
    (bft / "summary.json").unlink()
    shutil.rmtree(bft / "generator")
    shutil.rmtree(bft / "checkpoints" / "step_00000003")
    kept = (bft / "checkpoints" / "step_00000002" / "state.pt").stat().st_mtime_ns
    assert run("--schemes", "bft") == 0
    printed = capsys.readouterr()
    assert "bft-seed0: resuming (3 steps)" in printed.err
    assert "at step 3" in printed.out  # the loop's own line: it continued after step 2
    assert json.loads((bft / "summary.json").read_text())["resumed_from"] == 2
    assert (bft / "checkpoints" / "step_00000002" / "state.pt").stat().st_mtime_ns == kept
    assert (bft / "checkpoints" / "step_00000003").is_dir()
    merged = json.loads((out / "study.json").read_text())
    assert list(merged["schemes"]) == ["input_concat", "bft"]

    # --- another budget on the same folder is refused before anything runs ---
    assert run("--schemes", "film", "--steps", "4") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "another setup" in err and "max_steps" in err
    assert not (out / "runs" / "film-seed0").exists()


@pytest.mark.parametrize(
    "extra,needle",
    [
        (["--schemes", "bfft"], "unknown scheme"),
        (["--schemes", "bft", "train.seed=3"], "set by the study; use --seeds"),
        (["--seeds", "0"], "--seeds"),
        (["--metrics", "psnr,nope"], "unknown metric"),
    ],
)
def test_bad_options_exit_2_with_one_line(study, capsys, extra, needle):
    out, run = study
    assert run(*extra) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err, err
    assert not (out / "runs").exists()


def test_two_study_processes_on_one_folder_score_each_run_once(study, tmp_path):
    """Machines (or processes) sharing one OUT: two `study --no-train` at once on the same
    finished runs both succeed, and each run's evaluation is written once, whole (the second
    process waits for the first's lock on RUN/eval and reuses its result)."""
    import subprocess
    import sys

    out, run = study
    assert run("--schemes", "bft") == 0
    shutil.rmtree(out / "runs" / "bft-seed0" / "eval")  # make both processes want to score it
    argv = [sys.executable, "-m", "guided_pix2pix.cli", "study", "--task", "depth", "--out", str(out)]
    argv += ["--seeds", "1", "--steps", "3", "--eval-items", "4", "--tune-on", str(tmp_path / "tune.yaml")]
    argv += ["--no-progress", "--device", "cpu", "--no-train", "--schemes", "bft", *TINY]
    procs = [subprocess.Popen(argv, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    logs = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], logs
    scored = sum(log.count("bft-seed0: evaluating on synthetic_depth-test") for log in logs)
    assert scored == 1, logs
    for dataset in DATASETS:
        page = out / "runs" / "bft-seed0" / "eval" / dataset
        result = json.loads((page / "metrics.json").read_text())
        for row in result["per_image"]:
            assert row["id"]
        assert len(list((page / "index_images").glob("*.png"))) == 4 * result["rows"]
