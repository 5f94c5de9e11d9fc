"""Which task a generator was trained for: "depth", "pose", "texture" or "generic".

`generator_task(model, folder)` answers, in this order:

1. the run it came from: the ``data.dataset`` of the config.yaml of the run folder holding
   `folder` (`run_folder.run_folder_of`), or of a shipped model's recorded preset
   (``pretrained:NAME``), and that dataset's ``task`` (`data.DATASETS`);
2. otherwise its channel signature (input, guide, output), the one every dataset of that task
   has: `TASK_CHANNELS` (depth 1/3/1, pose 3/18/3, texture 1/4/3).

A run config that cannot be read, or names a dataset of no fixed task (``folder``), falls
through to 2.
"""

from __future__ import annotations

from pathlib import Path

from ..data import DATASETS
from ..errors import UserError
from ..nn.pretrained import PREFIX, is_pretrained_name, pretrained_index
from .config import load_config, read_yaml_mapping
from .run_folder import CONFIG_FILE, run_folder_of

TASK_CHANNELS: dict[tuple[int, int, int], str] = {
    (1, 3, 1): "depth",
    (3, 18, 3): "pose",
    (1, 4, 3): "texture",
}


def _dataset_task(name) -> str | None:
    task = getattr(DATASETS.get(name), "task", None) if isinstance(name, str) else None
    return task if isinstance(task, str) and task != "generic" else None


def _recorded_dataset(checkpoint: str | Path | None, folder: Path | None) -> str | None:
    try:
        if checkpoint is not None and is_pretrained_name(checkpoint):
            record = pretrained_index().get(str(checkpoint)[len(PREFIX) :], {}).get("config", {})
            return load_config(record["preset"], list(record.get("overrides", []))).data.dataset
        run = run_folder_of(Path(folder)) if folder is not None else None
        if run is None:
            return None
        data = read_yaml_mapping(run / CONFIG_FILE, "run folder's config").get("data")
        return data.get("dataset") if isinstance(data, dict) else None
    except (UserError, KeyError, TypeError, AttributeError):
        return None


def generator_task(model, folder: Path | None = None, checkpoint: str | Path | None = None) -> str:
    """The task of `model` (a Generator, or anything with a ``config`` holding input_nc,
    guide_nc and output_nc), loaded from generator folder `folder` given as `checkpoint`."""
    task = _dataset_task(_recorded_dataset(checkpoint, folder))
    if task is not None:
        return task
    cfg = model.config
    return TASK_CHANNELS.get((cfg.input_nc, cfg.guide_nc, cfg.output_nc), "generic")
