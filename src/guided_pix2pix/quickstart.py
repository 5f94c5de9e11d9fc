"""The embedded default: train bFT on synthetic depth up-sampling (x8) on the CPU, then compare
it with bicubic up-sampling on held-out synthetic scenes and on the real Middlebury pair.

Everything it needs ships with the package and its dependencies (the synthetic scenes are
generated on the fly; the Middlebury "Motorcycle" RGB-D pair comes with scikit-image). Output
in OUT: `run/` (the training run; rerunning resumes it), `report.json` and `report.html`.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from .config import load_config
from .data import build_dataset
from .inference import run_padded
from .metrics.depth import depth_errors
from .nn.generator import Generator
from .report import Gallery, GalleryRow, Table, write_page
from .train import _write_atomic, train
from .visualize import comparison_grid

PRESET = "synthetic_depth"
HELD_OUT_SCENES = 64  # synthetic test scenes (a split disjoint from training and validation)


def _errors_cm(pred: torch.Tensor, batch: dict) -> dict[str, torch.Tensor]:
    """Per-image protocol-A RMSE / MAE in cm of `pred` and of the bicubic input."""
    lo = torch.as_tensor(batch["meta"]["depth_min_m"], dtype=torch.float64)
    hi = torch.as_tensor(batch["meta"]["depth_max_m"], dtype=torch.float64)
    valid = batch.get("mask")
    model = depth_errors(pred, batch["target"], lo, hi, protocol="A", valid=valid)
    bicubic = depth_errors(batch["input"], batch["target"], lo, hi, protocol="A", valid=valid)
    return {
        "bft_rmse": model["rmse"],
        "bft_mae": model["mae"],
        "bicubic_rmse": bicubic["rmse"],
        "bicubic_mae": bicubic["mae"],
    }


def _summary(per_image: dict[str, list[float]]) -> dict[str, float]:
    mean = {k: float(np.mean(v)) for k, v in per_image.items()}
    return {
        "bft_rmse_cm": round(mean["bft_rmse"], 3),
        "bicubic_rmse_cm": round(mean["bicubic_rmse"], 3),
        "bft_mae_cm": round(mean["bft_mae"], 3),
        "bicubic_mae_cm": round(mean["bicubic_mae"], 3),
        "images": len(per_image["bft_rmse"]),
        "bft_beats_bicubic": bool(mean["bft_rmse"] < mean["bicubic_rmse"]),
    }


def _evaluate(generator: Generator, dataset, batch_size: int, max_rows: int) -> tuple[dict, list[GalleryRow]]:
    """Per-image errors over `dataset` and gallery rows (input | guide | bFT | target) for the first items."""
    per_image: dict[str, list[float]] = {}
    rows: list[GalleryRow] = []
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size)
    for batch in loader:
        pred = run_padded(generator, batch["input"], batch["guide"])
        errors = _errors_cm(pred, batch)
        for k, v in errors.items():
            per_image.setdefault(k, []).extend(v.tolist())
        for i in range(pred.shape[0]):
            if len(rows) >= max_rows:
                break
            grid = comparison_grid(
                "depth",
                batch["input"][i : i + 1],
                batch["guide"][i : i + 1],
                pred[i : i + 1],
                batch["target"][i : i + 1],
            )
            image = (grid.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)  # (3, H, W) -> (H, W, 3)
            rows.append(
                GalleryRow(
                    label=batch["meta"]["id"][i],
                    images=[image],
                    values={
                        "bFT RMSE (cm)": errors["bft_rmse"][i].item(),
                        "bicubic RMSE (cm)": errors["bicubic_rmse"][i].item(),
                    },
                )
            )
    return per_image, rows


def run_quickstart(out: str | Path, overrides: list[str] | None = None, progress: bool = True) -> dict:
    """Train (or resume) and evaluate; write report.json / report.html in `out`; return the report."""
    out = Path(out)
    cfg = load_config(PRESET, overrides)
    started = time.time()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    train(cfg, out / "run", progress=progress)
    train_seconds = time.time() - started

    generator = Generator.from_pretrained(out / "run" / "generator").eval()
    options = {k: v for k, v in cfg["data"]["options"].items() if k != "count"}
    synthetic = build_dataset("synthetic_depth", split="test", count=HELD_OUT_SCENES, **options)
    middlebury = build_dataset(
        "middlebury", split="test", scale=options["scale"], protocol=options["protocol"]
    )
    syn_errors, syn_rows = _evaluate(generator, synthetic, batch_size=16, max_rows=6)
    mid_errors, mid_rows = _evaluate(generator, middlebury, batch_size=1, max_rows=1)
    report = {
        "synthetic": _summary(syn_errors),
        "middlebury": _summary(mid_errors),
        "task": f"depth up-sampling x{options['scale']}, protocol {options['protocol']} (interval down-sampling, bicubic up-sampling)",
        "metric": "RMSE / MAE in cm, protocol A: per-image de-normalisation, border crop [7:-6], mean of per-image errors; unknown depth excluded",
        "model": cfg["model"],
        "train": {k: cfg["train"][k] for k in ("max_steps", "batch_size", "lr", "lr_policy")}
        | {"image_size": options["size"]},
        "seconds": {"train": round(train_seconds, 1), "total": round(time.time() - started, 1)},
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
    }
    notes = []
    for name in ("synthetic", "middlebury"):
        if not report[name]["bft_beats_bicubic"]:
            notes.append(
                f"bFT does NOT beat bicubic up-sampling on the {name} data in this run (numbers above are as measured)."
            )
    report["notes"] = notes
    _write_atomic(out / "report.json", json.dumps(report, indent=2) + "\n")
    table = Table(
        header=["data", "images", "bFT RMSE (cm)", "bicubic RMSE (cm)", "bFT MAE (cm)", "bicubic MAE (cm)"],
        rows=[
            [
                name,
                report[name]["images"],
                report[name]["bft_rmse_cm"],
                report[name]["bicubic_rmse_cm"],
                report[name]["bft_mae_cm"],
                report[name]["bicubic_mae_cm"],
            ]
            for name in ("synthetic", "middlebury")
        ],
        caption=report["metric"],
    )
    gallery = Gallery(
        image_columns=["input (bicubic) | guide (RGB) | bFT | target"],
        value_columns=["bFT RMSE (cm)", "bicubic RMSE (cm)"],
        rows=mid_rows + syn_rows,
        caption="Middlebury Motorcycle (real) and held-out synthetic scenes",
    )
    page_notes = [
        report["task"],
        f"trained {cfg['train']['max_steps']} steps in {report['seconds']['train']} s",
    ] + notes
    write_page(
        out / "report.html",
        "guided-pix2pix quickstart: bFT vs bicubic depth up-sampling",
        tables=[table],
        gallery=gallery,
        notes=page_notes,
    )
    return report
