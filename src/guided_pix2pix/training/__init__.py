"""Training: the loop, its typed run config, schedules, sampling, checkpoints, the run folder,
and the training-speed benchmark. `train(cfg, out_dir)` is the entry point."""

from .loop import TrainingDiverged, train

__all__ = ["train", "TrainingDiverged"]
