"""What the training tests share: tiny run settings and readers of a run's metrics log."""

from __future__ import annotations

import json
from pathlib import Path

from guided_pix2pix.training.checkpoint import list_checkpoints, verify_checkpoint

# a synthetic-depth run of a few seconds per step on one CPU: tiny model, 32x32 scenes
TINY = [
    "model.ngf=4",
    "model.n_blocks=1",
    "model.bottleneck=8",
    "discriminator.ndf=4",
    "data.options.size=[32,32]",
    "data.options.count=48",
    "train.batch_size=2",
    "train.log_every=1",
]


def read_records(run: Path) -> list[dict]:
    """The run's metrics.jsonl, one dict per line ([] before the first line is written)."""
    path = run / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def read_losses(run: Path) -> dict[int, dict]:
    """step -> the loss values logged at that step."""
    return {
        r["step"]: {k: v for k, v in r.items() if k.startswith("loss")}
        for r in read_records(run)
        if "loss_G" in r
    }


# the runs of the fault tests: a checkpoint every 2 steps, no validation or image grids
FAULT_ARGS = [*TINY, "train.val_every=0", "train.image_every=1000", "train.save_every=2"]


def fault_argv(run: Path, *extra: str) -> list[str]:
    """`train` of a tiny synthetic-depth run in `run` with FAULT_ARGS and `extra` overrides."""
    return ["train", "--config", "synthetic_depth", "--out", str(run), "--no-progress", *FAULT_ARGS, *extra]


def good_checkpoints(run: Path) -> list[int]:
    """Steps of the run's checkpoints that pass their checksums, oldest first."""
    steps = []
    for folder in list_checkpoints(run / "checkpoints"):
        try:
            verify_checkpoint(folder)
            steps.append(int(folder.name.split("_")[1]))
        except ValueError:
            pass
    return steps
