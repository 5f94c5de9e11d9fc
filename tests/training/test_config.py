"""The typed run config: every misspelt or out-of-range key is refused before a run folder exists."""

import pytest

from guided_pix2pix.cli import main
from guided_pix2pix.training.config import RunConfig, TrainSection, dump_config, load_config

# override -> text the one-line error must contain (the key, and the suggestion or the rule)
BAD = {
    "train.batch_szie=4": "train.batch_szie: unknown option (command line); did you mean train.batch_size?",
    "trian.lr=0.1": "trian: unknown option (command line); did you mean train?",
    "model.ngff=8": "model.ngff: unknown option (command line); did you mean model.ngf?",
    "data.options.scael=4": "data.options.scael: not an option of dataset 'synthetic_depth'; did you mean scale?",
    "discriminator.kind=patchy": "discriminator.kind: must be one of basic, n_layers, pixel, got 'patchy'",
    "train.lr_policy=cosin": "train.lr_policy: must be one of lambda, cosine, constant, got 'cosin'",
    "train.gan_mode=wgan": "train.gan_mode: must be one of lsgan, vanilla, hinge, got 'wgan'",
    "data.dataset=synthetic_deep": "data.dataset: must be one of",
    "data.val_dataset=nyuu": "data.val_dataset: must be one of",
    "train.precision=fp16": "train.precision: must be one of fp32, bf16, got 'fp16'",
    "train.device=gpu": "train.device: must be one of auto, cpu, got 'gpu'",
    "model.norm=layer": "model.norm: unknown value 'layer'",
    "train.batch_size=0": "train.batch_size: must be >= 1, got 0",
    "train.batch_size=2.5": "train.batch_size: must be an int, got 2.5",
    "train.max_steps=0": "train.max_steps: must be >= 1, got 0",
    "train.lr=0": "train.lr: must be a finite number > 0, got 0.0",
    "train.lr=.nan": "train.lr: must be a finite number, got nan",
    "train.beta1=2.0": "train.beta1: must be <= 0.999999, got 2.0",
    "train.beta2=-0.5": "train.beta2: must be >= 0.0, got -0.5",
    "train.lambda_l1=-1": "train.lambda_l1: must be >= 0.0, got -1.0",
    "train.lambda_gan=.inf": "train.lambda_gan: must be a finite number, got inf",
    "train.seed=99999999999999999999": "train.seed: must be <= 9223372036854775807",
    "train.seed=-1": "train.seed: must be >= 0, got -1",
    "train.crop=[0,8]": "train.crop: must be [height, width] in pixels or null, got [0, 8]",
    "train.flip=maybe": "train.flip: must be true or false, got 'maybe'",
    "data.num_workers=-1": "data.num_workers: must be >= 0, got -1",
    "data.val_max_items=0": "data.val_max_items: must be >= 1, got 0",
    "discriminator.ndf=0": "discriminator.ndf: must be >= 1, got 0",
    "model.ngf=0": "model.ngf: must be an integer >= 1, got 0",
    "train.save_every=null": "train.save_every: must be an integer, not null",
    # dataset options are checked by the dataset, which train() builds before the run folder
    "data.options.scale=3": "scale: up-sampling factor must be one of (2, 4, 8, 16, 32), got 3",
    "data.options.protocol=C": "protocol: unknown down-sampling protocol 'C'; choose from A, B",
}


@pytest.mark.parametrize("override", list(BAD))
def test_bad_key_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, override):
    run = tmp_path / "run"
    assert main(["train", "--config", "synthetic_depth", "--out", str(run), override]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("guided-pix2pix train: error: ") and BAD[override] in err[0], err
    assert not run.exists()


def test_a_yaml_file_with_a_misspelt_key_names_the_file(tmp_path, capsys):
    config = tmp_path / "mine.yaml"
    config.write_text("base: synthetic_depth\ntrain:\n  max_step: 10\n")
    run = tmp_path / "run"
    assert main(["train", "--config", str(config), "--out", str(run)]) == 2
    err = capsys.readouterr().err
    assert f"train.max_step: unknown option ({config}); did you mean train.max_steps?" in err
    assert not run.exists()


@pytest.mark.parametrize("preset", ["pose", "texture", "depth_x8", "synthetic_depth", "synthetic_texture"])
def test_config_yaml_round_trips(tmp_path, preset):
    cfg = load_config(preset, ["train.crop=[32,32]", "train.lr=1e-4"])
    assert isinstance(cfg, RunConfig) and isinstance(cfg.train, TrainSection)
    path = tmp_path / "config.yaml"
    path.write_text(dump_config(cfg))
    again = load_config(str(path))
    assert again == cfg and again.to_dict() == cfg.to_dict()
    assert again.train.crop == [32, 32] and again.train.lr == 1e-4


def test_train_accepts_a_mapping_and_checks_it():
    cfg = load_config("synthetic_depth")
    assert RunConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match=r"train\.lr_policy: must be one of"):
        RunConfig.from_dict({"train": {"lr_policy": "step"}})
