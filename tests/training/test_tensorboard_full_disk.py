"""A full disk under TensorBoard's event file: one line, TensorBoard off, the run goes on."""

from __future__ import annotations

import subprocess
import sys

import pytest
from run_helpers import fault_argv, good_checkpoints, read_records


@pytest.fixture
def full_tensorboard_dir(tmp_path):
    """A run folder whose tensorboard/ is a 4 KiB tmpfs: the first event-file flush fills it."""
    run = tmp_path / "run"
    (run / "tensorboard").mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(run / "tensorboard")], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tiny tmpfs here (needs root): {mounted.stderr.decode().strip()}")
    yield run
    subprocess.run(["umount", str(run / "tensorboard")], check=True)


def test_a_full_disk_under_tensorboard_turns_it_off_and_training_finishes(full_tensorboard_dir):
    run = full_tensorboard_dir
    argv = fault_argv(run, "train.max_steps=6", "train.image_every=1")  # an image grid every step
    done = subprocess.run(
        [sys.executable, "-m", "guided_pix2pix.cli", *argv],
        capture_output=True,
        text=True,
        timeout=600,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "TensorBoard write failed" in line]
    assert len(warnings) == 1 and "No space left on device" in warnings[0], done.stderr
    assert [r["step"] for r in read_records(run) if "loss_G" in r] == [1, 2, 3, 4, 5, 6]
    assert good_checkpoints(run) == [2, 4, 6]
    assert (run / "generator" / "model.safetensors").is_file()
