"""What the training tests share: tiny run settings and readers of a run's metrics log."""

from __future__ import annotations

import json
from pathlib import Path

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
