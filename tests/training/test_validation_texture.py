"""The training log's texture PSNR is the number `evaluate` reports (sRGB, not scaled LAB)."""

from __future__ import annotations

import pytest
import torch

from guided_pix2pix.data import build_dataset
from guided_pix2pix.evaluation.batching import collate
from guided_pix2pix.evaluation.engine import evaluate_model
from guided_pix2pix.nn.generator import Generator
from guided_pix2pix.training.validation import validate


def test_texture_validation_psnr_equals_evaluate_psnr():
    torch.manual_seed(0)
    model = Generator(backbone="unet", input_nc=1, guide_nc=4, output_nc=3, ngf=4, n_layers=3).eval()
    dataset = build_dataset("synthetic_texture", split="val", size=(64, 64), count=4)
    loader = [collate([dataset[i] for i in range(4)])]
    logged = validate(model, loader, "texture", "cpu")
    scored = evaluate_model(
        model, [dataset], task="texture", metrics=["psnr"], guide_check=False, baselines=[]
    )
    assert logged["psnr"] == pytest.approx(scored["metrics"]["psnr"], abs=1e-6)
