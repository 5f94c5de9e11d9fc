"""Training: the command, the run folder, exact resume, two-process (gloo) training, config errors."""

import json
import math
import os
import subprocess
import sys

import pytest
import torch
from run_helpers import TINY as BASE_TINY
from run_helpers import read_losses, read_records
from safetensors.torch import load_file

from guided_pix2pix.cli import main
from guided_pix2pix.training.config import load_config

TINY = [
    *BASE_TINY,
    "data.val_max_items=4",
    "train.val_every=3",
    "train.image_every=3",
]
# GAN + L1 with a fake pool and the official epoch-based lambda schedule, so that every kind of
# training state (D, both optimisers, schedules, pool) must survive a resume
GAN = [
    "train.lambda_gan=1.0",
    "train.lambda_l1=10.0",
    "train.pool_size=3",
    "train.lr_policy=lambda",
    "train.niter=1",
    "train.niter_decay=2",
    "train.flip=true",
]


def test_train_writes_run_folder(tmp_path):
    run = tmp_path / "run"
    # overrides may stand on both sides of the options
    argv = ["train", "--out", str(run), "train.max_steps=3", "--config", "synthetic_depth", "--no-progress"]
    assert main([*argv, *TINY, "train.save_every=3"]) == 0
    assert (run / "config.yaml").is_file() and (run / "generator" / "model.safetensors").is_file()
    records = read_records(run)
    assert [r["step"] for r in records if "loss_G" in r] == [1, 2, 3]
    val = [r for r in records if "val/rmse_cm" in r]
    assert val and val[0]["val/rmse_cm"] > 0
    assert list((run / "checkpoints").iterdir())[0].name == "step_00000003"
    assert any((run / "tensorboard").iterdir())


def test_resume_continues_with_the_same_trajectory(tmp_path):
    full, split = tmp_path / "full", tmp_path / "split"
    common = ["--config", "synthetic_depth", "--no-progress", *TINY, *GAN, "train.save_every=3"]
    assert main(["train", "--out", str(full), *common, "train.max_steps=6"]) == 0
    assert main(["train", "--out", str(split), *common, "train.max_steps=3"]) == 0
    assert sorted(read_losses(split)) == [1, 2, 3]
    assert main(["train", "--out", str(split), *common, "train.max_steps=6"]) == 0
    assert json.loads((split / "summary.json").read_text())["resumed_from"] == 3
    a, b = read_losses(full), read_losses(split)
    assert sorted(a) == sorted(b) == [1, 2, 3, 4, 5, 6]
    assert a == b  # bitwise-equal losses on CPU with a fixed seed
    wa = load_file(str(full / "generator" / "model.safetensors"))
    wb = load_file(str(split / "generator" / "model.safetensors"))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    # the optimiser state went through the checkpoint too: Adam's step counts match
    sa = torch.load(full / "checkpoints" / "step_00000006" / "state.pt", weights_only=True)
    sb = torch.load(split / "checkpoints" / "step_00000006" / "state.pt", weights_only=True)
    for key in ("opt_G", "opt_D"):
        steps_a = [s["step"] for s in sa[key]["state"].values()]
        steps_b = [s["step"] for s in sb[key]["state"].values()]
        assert steps_a == steps_b and float(steps_a[0]) == 6.0


def test_rerun_with_other_model_refuses(tmp_path, capsys):
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--config",
                "synthetic_depth",
                "--out",
                str(run),
                "--no-progress",
                *TINY,
                "train.max_steps=1",
            ]
        )
        == 0
    )
    assert (
        main(
            ["train", "--config", "synthetic_depth", "--out", str(run), "--no-progress", *TINY, "model.ngf=8"]
        )
        == 2
    )
    assert "different 'model' section" in capsys.readouterr().err


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["train.nope=1"], "train.nope: unknown option"),
        (["train.lr=fast"], "train.lr: must be a float"),
        (["model.conditioning=spade"], "conditioning: unknown value 'spade'"),
        (["train.precision=fp8"], "train.precision: must be one of fp32, bf16"),
        (["train.crop=[8]"], "train.crop: must be [height, width]"),
        (["justtext"], "overrides are KEY=VALUE"),
    ],
)
def test_bad_overrides_fail_with_one_line(tmp_path, capsys, overrides, message):
    code = main(["train", "--config", "synthetic_depth", "--out", str(tmp_path / "r"), *overrides])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "r").exists()


def test_unknown_preset_and_bad_yaml(tmp_path, capsys):
    assert main(["train", "--config", "no_such_preset", "--out", str(tmp_path / "r")]) == 2
    assert "unknown preset 'no_such_preset'" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    assert main(["train", "--config", str(bad), "--out", str(tmp_path / "r")]) == 2
    assert "bad.yaml: invalid YAML" in capsys.readouterr().err


def test_presets_load_with_the_official_recipes():
    pose = load_config("pose")
    assert (pose.model.backbone, pose.model.conditioning) == ("resnet", "bft")
    assert (pose.model.input_nc, pose.model.guide_nc, pose.model.output_nc) == (3, 18, 3)
    assert (pose.train.batch_size, pose.train.lr, pose.train.beta1) == (8, 2e-4, 0.9)
    assert pose.train.niter + pose.train.niter_decay == 100 and pose.train.lambda_l1 == 100
    texture = load_config("texture")
    assert texture.model.n_layers == 7 and texture.train.batch_size == 256
    for scale in (4, 8, 16):
        depth = load_config(f"depth_x{scale}")
        assert depth.data.options["scale"] == scale and depth.train.lambda_gan == 0
        assert depth.train.niter + depth.train.niter_decay == 500 and depth.train.batch_size == 2
    assert load_config("synthetic_depth", ["train.max_steps=7"]).train.max_steps == 7


def test_two_process_gloo_training_keeps_ranks_identical(tmp_path):
    """`accelerate launch` with two CPU processes (gloo): both ranks end with the same weights.

    On a machine without GPUs `--multi_gpu` starts the processes through torchrun and
    Accelerate picks the gloo backend (`--cpu` would ask for mpirun instead)."""
    run = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1", "--main_process_port", "0", "--mixed_precision", "no",
        "--dynamo_backend", "no", "-m", "guided_pix2pix.cli",
        "train", "--config", "synthetic_depth", "--out", str(run), "--no-progress", *TINY, *GAN,
        "train.max_steps=3", "train.save_every=3",
    ]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((run / "summary.json").read_text())
    digests = summary["rank_weight_sha256"]
    assert summary["distributed"] == {"world_size": 2, "backend": "gloo"}
    assert len(digests) == 2 and digests[0] == digests[1]
    # only the main process logs: each step once
    assert [r["step"] for r in read_records(run) if "loss_G" in r] == [1, 2, 3]


@pytest.mark.parametrize(
    "options",
    [["train.precision=bf16"], ["train.grad_accum=2"], ["train.channels_last=true", "train.crop=[24,24]"]],
    ids=["bf16", "grad_accum", "channels_last_crop"],
)
def test_training_options_run(tmp_path, options):
    run = tmp_path / "run"
    argv = ["train", "--config", "synthetic_depth", "--out", str(run), "--no-progress", *TINY, *GAN]
    assert main([*argv, "train.max_steps=2", "train.val_every=0", *options]) == 0
    losses = read_losses(run)
    assert sorted(losses) == [1, 2]
    assert all(math.isfinite(v) for record in losses.values() for v in record.values())


def test_dataset_options_merge_and_reset_with_the_dataset():
    cfg = load_config("synthetic_depth", ["data.options.size=[32,32]"])
    assert cfg.data.options["size"] == [32, 32] and cfg.data.options["scale"] == 8  # merged
    cfg = load_config("synthetic_depth", ["data.dataset=folder", "data.options={root: my_data}"])
    assert cfg.data.options == {"root": "my_data"}  # another dataset: its own options only


def test_squared_error_term_is_logged_and_trains_a_prior_model(tmp_path):
    """train.lambda_l2: the G loss is lambda_l1 * L1 + lambda_l2 * MSE, each logged, here on a
    model that starts from its output prior (the pose preset's setting)."""
    run = tmp_path / "run"
    argv = ["train", "--out", str(run), "--config", "synthetic_pose", "--no-progress", *TINY]
    argv += ["model.n_blocks=1", "model.ngf=4", "data.options.size=[32,32]", "train.lambda_gan=0"]
    argv += [
        "train.lambda_l1=2",
        "train.lambda_l2=3",
        "train.max_steps=3",
        "model.output_prior=border_background",
    ]
    assert main(argv) == 0
    losses = read_losses(run)
    assert sorted(losses) == [1, 2, 3]
    for step in losses.values():
        assert step["loss_G_L2"] > 0
        assert step["loss_G"] == pytest.approx(step["loss_G_L1"] + step["loss_G_L2"], rel=1e-4)
    # the same residual e in [-2, 2] under both: mean(e^2) <= 2 mean(|e|)
    first = losses[1]
    assert first["loss_G_L2"] / 3 <= 2 * first["loss_G_L1"] / 2
