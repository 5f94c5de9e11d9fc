"""The README.md model card beside every saved generator (Hugging Face model-repository layout)."""

from __future__ import annotations

import yaml

from guided_pix2pix.cli import main
from guided_pix2pix.nn.generator import Generator


def _front_matter(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_save_pretrained_writes_a_card_with_the_config_and_licence(tmp_path):
    g = Generator(input_nc=1, guide_nc=3, output_nc=1, ngf=4, n_blocks=1, conditioning="film")
    card = (g.save_pretrained(tmp_path / "g") / "README.md").read_text()
    meta = _front_matter(card)
    assert meta["library_name"] == "guided-pix2pix" and meta["license"] == "bsd-3-clause"
    assert meta["pipeline_tag"] == "image-to-image"
    assert "# guided-pix2pix generator: film resnet" in card
    assert "| ngf | `4` |" in card and "## Licence" in card
    assert "## Metrics" not in card  # nothing measured, nothing claimed
    Generator.from_pretrained(tmp_path / "g")  # the card does not disturb loading


def test_a_trained_generator_card_says_task_data_steps_and_last_validation(tmp_path):
    run = tmp_path / "run"
    argv = ["train", "--config", "synthetic_depth", "--out", str(run), "--no-progress"]
    argv += ["model.ngf=4", "model.n_blocks=1", "model.bottleneck=8", "data.options.size=[32,32]"]
    argv += ["data.options.count=8", "train.batch_size=2", "train.max_steps=2", "train.val_every=2"]
    argv += ["data.val_max_items=2", "train.log_every=1"]
    assert main(argv) == 0
    card = (run / "generator" / "README.md").read_text()
    assert "depth" in _front_matter(card)["tags"]
    assert "Task: guided depth up-sampling" in card
    assert '- data: "synthetic_depth"' in card and "- optimiser steps: 2" in card
    assert "| val/rmse_cm |" in card and "last validation (synthetic_depth, split val" in card
    assert "input_filter" in card  # the depth preset filters its input with OpenCV
