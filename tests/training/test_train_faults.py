"""Training under faults: kill -9 at any moment, corrupt checkpoints, divergence, unwritable
folders, a full disk. Tiny synthetic-depth runs on CPU, where the loop is deterministic."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from run_helpers import fault_argv, good_checkpoints, read_losses, read_records
from safetensors.torch import load_file

from guided_pix2pix.cli import main
from guided_pix2pix.training.checkpoint import list_checkpoints

STEPS = 8
GAN = ["discriminator.ndf=4", "train.lambda_gan=1.0", "train.lr_policy=constant"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """An uninterrupted run of STEPS steps, in this process."""
    run = tmp_path_factory.mktemp("reference") / "run"
    assert main(fault_argv(run, f"train.max_steps={STEPS}")) == 0
    return run


def test_same_seed_same_trajectory_other_seed_another(reference, tmp_path):
    """Determinism on CPU: a fresh run with the same seed reproduces the losses bit for bit."""
    again, other = tmp_path / "again", tmp_path / "other"
    assert main(fault_argv(again, "train.max_steps=4")) == 0
    assert main(fault_argv(other, "train.max_steps=4", "train.seed=1")) == 0
    ref = {s: v for s, v in read_losses(reference).items() if s <= 4}
    assert read_losses(again) == ref
    assert read_losses(other) != ref


# ----------------------------------------------------------------------------- checksums
@pytest.mark.parametrize("victim", ["state.pt", "generator/model.safetensors", "meta.json"])
def test_corrupt_newest_checkpoint_is_reported_and_the_previous_one_used(reference, tmp_path, capsys, victim):
    run = tmp_path / "run"
    assert main(fault_argv(run, "train.max_steps=4")) == 0
    newest = run / "checkpoints" / "step_00000004"
    path = newest / victim
    data = bytearray(path.read_bytes())
    if victim == "meta.json":
        path.unlink()
    else:
        for i in range(len(data) // 2, len(data) // 2 + 8):  # flip bytes in the middle of the file
            data[i] ^= 0xFF
        path.write_bytes(bytes(data))
    leftover = run / "checkpoints" / ".tmp_step_00000006"  # a write that a kill cut short
    leftover.mkdir()
    (leftover / "state.pt").write_bytes(b"half a checkpoint")
    capsys.readouterr()
    assert main(fault_argv(run, "train.max_steps=6")) == 0
    captured = capsys.readouterr()
    warning = [line for line in captured.err.splitlines() if "skipping checkpoint" in line]
    assert len(warning) == 1 and "step_00000004" in warning[0], captured.err
    assert ("checksum mismatch" if victim != "meta.json" else "metadata") in warning[0]
    assert "resuming from" in captured.out and "step_00000002 at step 3" in captured.out
    assert json.loads((run / "summary.json").read_text())["resumed_from"] == 2
    ref = {s: v for s, v in read_losses(reference).items() if s <= 6}
    assert read_losses(run) == ref  # the corrupt checkpoint's steps were redone, exactly
    assert not leftover.exists()  # the next write of that step replaced the leftover
    assert sorted(good_checkpoints(run)) == [2, 4, 6]


# ----------------------------------------------------------------------------- kill -9
def _start(run: Path, log: Path) -> subprocess.Popen:
    # the same intra-op thread count as this process (tests/conftest.py), so that float sums
    # are ordered as in the in-process reference run
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads()), "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "guided_pix2pix.cli", *fault_argv(run, f"train.max_steps={STEPS}")]
    return subprocess.Popen(cmd, stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env)


def _kill_when(proc: subprocess.Popen, condition, timeout: float = 120.0) -> bool:
    """SIGKILL `proc` (our own child) as soon as `condition()` holds; False if it ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.0005)
    proc.kill()
    proc.wait()
    raise AssertionError("the condition never held")


def _tmp_folders(run: Path) -> list[Path]:
    root = run / "checkpoints"
    try:
        return [p for p in root.iterdir() if p.name.startswith(".tmp_step_")]
    except FileNotFoundError:
        return []


def _logged_step(run: Path) -> int:
    try:
        lines = (run / "metrics.jsonl").read_text().splitlines()
    except FileNotFoundError:
        return 0
    steps = [json.loads(line)["step"] for line in lines if line.endswith("}")]
    return max(steps, default=0)


@pytest.mark.slow
def test_kill_9_at_any_moment_then_rerun_resumes_and_matches(reference, tmp_path):
    """A real `guided-pix2pix train` killed with SIGKILL before its first checkpoint, during
    checkpoint writes and between checkpoints; each rerun of the same command resumes from the
    newest complete checkpoint, and the finished run has the uninterrupted run's losses."""
    run = tmp_path / "run"
    moments = []  # (what, newest good checkpoint at the kill)
    expected_resume = None

    def launch(n: int) -> tuple[subprocess.Popen, Path]:
        log = tmp_path / f"attempt{n}.log"
        return _start(run, log), log

    def check_resumed(log: Path) -> None:
        text = log.read_text()
        if expected_resume:
            assert f"step_{expected_resume:08d} at step {expected_resume + 1}" in text, text
        else:
            assert "resuming from" not in text, text

    # 1. before any checkpoint: as soon as the first step is logged
    n = 0
    proc, log = launch(n)
    assert _kill_when(proc, lambda: _logged_step(run) >= 1 and not list_checkpoints(run / "checkpoints"))
    moments.append(("before the first checkpoint", good_checkpoints(run)))
    check_resumed(log)
    expected_resume = max(good_checkpoints(run), default=0)

    # 2. during checkpoint writes: kill the moment a temporary checkpoint folder appears (state.pt
    #    being written), then the moment its generator/ appears (state.pt done, weights being
    #    written), at a later checkpoint; a kill that lands before the rename leaves the folder
    landed = 0
    for attempt in range(4):
        n += 1
        proc, log = launch(n)
        first = max(expected_resume + 2, 2 + 2 * attempt)

        def writing_checkpoint(first=first, attempt=attempt):
            for p in _tmp_folders(run):
                if int(p.name.rsplit("_", 1)[1]) >= first and (
                    attempt % 2 == 0 or (p / "generator").exists()
                ):
                    return True
            return False

        assert _kill_when(proc, writing_checkpoint)
        check_resumed(log)
        left = _tmp_folders(run)
        good = good_checkpoints(run)
        if left:
            landed += 1
            moments.append(
                (f"during the write of {left[0].name} ({sorted(p.name for p in left[0].rglob('*'))})", good)
            )
        else:
            moments.append(("just after a checkpoint rename", good))
        expected_resume = max(good, default=0)
        if landed >= 2:
            break
    assert landed >= 1, moments

    # 3. between checkpoints: one step after the newest checkpoint
    n += 1
    proc, log = launch(n)
    target = expected_resume + 3
    assert _kill_when(proc, lambda: _logged_step(run) >= target)
    check_resumed(log)
    moments.append((f"after step {target} was logged", good_checkpoints(run)))
    expected_resume = max(good_checkpoints(run), default=0)

    # 4. the same command, to the end
    n += 1
    proc, log = launch(n)
    assert proc.wait(timeout=300) == 0, log.read_text()
    check_resumed(log)
    assert read_losses(run) == read_losses(reference), moments
    wa = load_file(str(reference / "generator" / "model.safetensors"))
    wb = load_file(str(run / "generator" / "model.safetensors"))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not _tmp_folders(run) or all(p.name > "" for p in _tmp_folders(run))
    print(moments)


# ----------------------------------------------------------------------------- divergence
def test_non_finite_losses_are_skipped_counted_and_stop_the_run(tmp_path, capsys):
    """A GAN run resumed with train.lr=1e12 diverges for real (D's outputs overflow to inf/NaN
    after its first update): each non-finite step is skipped and counted in metrics.jsonl, and
    after max_bad_steps in a row the run stops with one line, the last good checkpoint intact;
    rerunning with a sane train.lr resumes from it."""
    run = tmp_path / "run"
    common = fault_argv(run, *GAN, "train.max_bad_steps=3")  # checkpoints every 2 steps
    assert main([*common, "train.max_steps=2"]) == 0
    good = run / "checkpoints" / "step_00000002"
    before = {p.name: p.read_bytes() for p in good.rglob("*") if p.is_file()}
    capsys.readouterr()
    code = main([*common, "train.max_steps=20", "train.lr=1e12"])
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert code == 2
    assert "train.lr changed on resume: 0.001 -> 1e+12" in captured.out
    assert len(err) == 1, err
    assert "training diverged: 3 consecutive steps with a non-finite loss (steps 4-6" in err[0], err
    assert "train.max_bad_steps=3" in err[0] and "step_00000002, is kept" in err[0], err
    records = read_records(run)
    assert [r["bad_steps"] for r in records] == [0, 0, 0, 1, 2, 3]
    assert all(r["loss_G"] != r["loss_G"] for r in records[3:5])  # NaN, logged as such
    assert records[-1]["stopped"] == "non-finite loss"
    assert good_checkpoints(run) == [2]  # step 4's checkpoint fell inside the bad streak: not written
    assert {p.name: p.read_bytes() for p in good.rglob("*") if p.is_file()} == before
    # the remedy: rerun with the old learning rate; it resumes from the good checkpoint (step 2)
    assert main([*common, "train.max_steps=4", "train.lr=1e-3"]) == 0
    out = capsys.readouterr().out
    assert "step_00000002 at step 3" in out and "train.lr changed" not in out, out  # its own lr
    after = [r for r in read_records(run) if r["step"] > 2]
    assert [r["step"] for r in after] == [3, 4]
    assert good_checkpoints(run) == [2, 4]
    assert all(r["loss_G"] == r["loss_G"] and r["bad_steps"] == 0 and r["lr"] == 1e-3 for r in after), after


# ----------------------------------------------------------------------------- writable
def _unwritable_cases(tmp_path: Path) -> list[tuple[str, Path]]:
    cases = []
    regular = tmp_path / "a_file"
    regular.write_text("x")
    cases.append(("under a regular file", regular / "run"))
    cases.append(("inside /proc", Path("/proc/guided_pix2pix_run")))
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        cases.append(("chmod 0o500 parent", locked / "run"))
    return cases


def test_unwritable_run_folder_fails_before_training(tmp_path, capsys):
    if os.geteuid() == 0:
        # root ignores permission bits, so chmod 0o500 proves nothing here; the other two are real faults
        print("running as root: the chmod case is left out")
    for what, out in _unwritable_cases(tmp_path):
        code = main(fault_argv(out, "train.max_steps=1"))
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1, (what, err)
        assert str(out) in err[0] and "not writable" in err[0], (what, err)
        assert "Traceback" not in err[0]


def test_full_disk_at_a_checkpoint_write_is_one_line(small_disk, capsys):
    """The first checkpoint (~700 KB) does not fit on the 300 KB disk: one line naming the
    checkpoint and the OS reason, exit 2, and the half-written folder removed."""
    run = small_disk / "run"
    code = main(fault_argv(run, "train.max_steps=4"))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert "checkpoint write failed at step 2" in err[0] and "No space left on device" in err[0], err
    assert ".tmp_step_00000002" in err[0]
    assert not _tmp_folders(run)  # the partial checkpoint was removed, freeing the space
    assert shutil.disk_usage(small_disk).free > 200_000


def test_a_checkpoint_of_another_run_is_refused_when_config_yaml_is_gone(tmp_path, capsys):
    """Checkpoints carry the run's model/discriminator/data sections: deleting config.yaml and
    changing the data must not resume from the other run's weights (same shapes, silent before)."""
    run = tmp_path / "run"
    assert main(fault_argv(run, "train.max_steps=2")) == 0
    (run / "config.yaml").unlink()
    assert main(fault_argv(run, "train.max_steps=4", "data.options.seed=7")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        len(err) == 1
        and "was written by a run with a different model, discriminator or data section" in err[-1]
    )
    assert main(fault_argv(run, "train.max_steps=4")) == 0  # the same run resumes
