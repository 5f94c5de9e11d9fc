"""`guided_pix2pix.train.train(cfg, out_dir)`: the public name of the training entry point,
which lives in `guided_pix2pix.training.loop` with the rest of training."""

from .training.loop import TrainingDiverged, train

__all__ = ["train", "TrainingDiverged"]
