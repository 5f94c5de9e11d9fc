"""Real processes: SIGTERM / SIGINT during training write a checkpoint of the current step and
stop with 143 / 130 and one line; the rerun continues with the uninterrupted run's losses. One
writer per run folder: a second `train` on the same --out is refused naming the first's pid,
and a lock left by a killed process does not block the rerun."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from run_helpers import TINY, read_losses, read_records

from guided_pix2pix.cli import main

STEPS = 8
ARGS = [*TINY, "train.val_every=0", "train.image_every=1000", "train.save_every=100"]


def _argv(run: Path, *extra: str) -> list[str]:
    return ["train", "--config", "synthetic_depth", "--out", str(run), "--no-progress", *ARGS, *extra]


def _start(run: Path, log: Path, *extra: str) -> subprocess.Popen:
    # the same intra-op thread count as this process, so float sums are ordered as in-process
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads()), "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "guided_pix2pix.cli", *_argv(run, f"train.max_steps={STEPS}", *extra)]
    return subprocess.Popen(cmd, stdout=open(log, "w"), stderr=subprocess.PIPE, text=True, env=env)


def _wait_for_step(proc: subprocess.Popen, run: Path, step: int, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the run ended early ({proc.returncode}): {proc.stderr.read()}")
        if any(r.get("step", 0) >= step for r in _records(run)):
            return
        time.sleep(0.01)
    proc.kill()
    raise AssertionError("step never logged")


def _records(run: Path) -> list[dict]:
    try:
        return read_records(run)
    except ValueError:  # a line being written
        return []


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("reference") / "run"
    assert main(_argv(run, f"train.max_steps={STEPS}")) == 0
    return run


@pytest.mark.slow
@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_writes_a_checkpoint_stops_and_the_rerun_matches(reference, tmp_path, capsys, signum, code):
    run = tmp_path / "run"
    proc = _start(run, tmp_path / "log")
    _wait_for_step(proc, run, 2)  # no periodic checkpoint before step 100: only the stop writes one
    proc.send_signal(signum)
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    name = signal.Signals(signum).name
    assert lines[0].startswith(f"guided-pix2pix train: stopped by {name} after step "), lines[0]
    stopped = int(lines[0].split("after step ")[1].split()[0])
    folder = run / "checkpoints" / f"step_{stopped:08d}"
    assert str(folder) in lines[0] and "rerun the same command to resume" in lines[0]
    assert 2 <= stopped < STEPS and folder.is_dir()
    capsys.readouterr()
    assert main(_argv(run, f"train.max_steps={STEPS}")) == 0
    assert f"step_{stopped:08d} at step {stopped + 1}" in capsys.readouterr().out
    assert read_losses(run) == read_losses(reference)  # the same trajectory as without the stop


@pytest.mark.slow
def test_a_second_train_on_the_same_folder_is_refused_and_a_killed_holder_does_not_block(tmp_path):
    run = tmp_path / "run"
    long = ["train.max_steps=100000", "train.save_every=2"]  # runs until it is killed
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "guided_pix2pix.cli", *_argv(run, *long)]
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    _wait_for_step(first, run, 1)
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)
    lines = second.stderr.strip().splitlines()
    assert second.returncode == 2 and len(lines) == 1, second.stderr
    assert f"pid {first.pid}" in lines[0] and "--out" in lines[0] and "another train process" in lines[0]
    assert first.poll() is None  # the first run was not disturbed
    # the holder is killed with SIGKILL: its lock file stays, but the kernel has released the lock
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert (run / ".lock").read_text().strip() == str(first.pid)
    steps = [int(p.name.split("_")[1]) for p in (run / "checkpoints").glob("step_*")]
    until = max(steps, default=0) + 2
    third = subprocess.run(
        [sys.executable, "-m", "guided_pix2pix.cli", *_argv(run, f"train.max_steps={until}", "train.save_every=2")],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert third.returncode == 0, third.stderr
    assert (run / "generator").is_dir() and (run / ".lock").read_text().strip() != str(first.pid)
