"""The embedded default: train bFT on synthetic depth up-sampling (x8) on the CPU, then compare
it with bicubic up-sampling on held-out synthetic scenes and on the real Middlebury pair.

Everything it needs ships with the package and its dependencies (the synthetic scenes are
generated on the fly; the Middlebury "Motorcycle" RGB-D pair comes with scikit-image). Output
in OUT: `run/` (the training run; rerunning resumes it), `eval/{synthetic,middlebury}/` (the
`evaluate` pages, every image with its error), `report.json` and `report.html`.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import torch

from ..data import build_dataset
from ..files.atomic import write_text_atomic
from ..nn.generator import Generator
from ..training.config import load_config
from ..training.loop import train
from ..training.run_folder import GENERATOR_DIR
from .engine import evaluate_model
from .report import Gallery, GalleryRow, Table, write_page

PRESET = "synthetic_depth"
HELD_OUT_SCENES = 64  # synthetic test scenes (a split disjoint from training and validation)
METRICS = ["depth_rmse_a", "depth_mae_a"]
PROTOCOL_TEXT = (
    "RMSE / MAE in cm, protocol A: per-image de-normalisation, border crop [7:-6], "
    "mean of per-image errors; unknown depth excluded"
)


def _summary(result: dict) -> dict:
    """The quickstart's view of an `evaluate_model` result: bFT and bicubic errors in cm."""
    model, bicubic = result["metrics"], result["baselines"]["bicubic"]
    return {
        "bft_rmse_cm": round(model["depth_rmse_a"], 3),
        "bicubic_rmse_cm": round(bicubic["depth_rmse_a"], 3),
        "bft_mae_cm": round(model["depth_mae_a"], 3),
        "bicubic_mae_cm": round(bicubic["depth_mae_a"], 3),
        "images": result["rows"],
        "bft_beats_bicubic": bool(model["depth_rmse_a"] < bicubic["depth_rmse_a"]),
    }


def run_quickstart(out: str | Path, overrides: list[str] | None = None, progress: bool = True) -> dict:
    """Train (or resume) and evaluate; write report.json / report.html in `out`; return the report."""
    out = Path(out)
    cfg = load_config(PRESET, overrides)
    started = time.time()
    train(cfg, out / "run", progress=progress)
    train_seconds = time.time() - started

    generator = Generator.from_pretrained(out / "run" / GENERATOR_DIR).eval()
    options = {k: v for k, v in cfg.data.options.items() if k != "count"}
    held_out = {
        "synthetic": build_dataset("synthetic_depth", split="test", count=HELD_OUT_SCENES, **options),
        "middlebury": build_dataset(
            "middlebury", split="test", scale=options["scale"], protocol=options["protocol"]
        ),
    }
    report: dict = {}
    rows: list[GalleryRow] = []
    for name, dataset in held_out.items():
        result = evaluate_model(
            generator, [dataset], task="depth", metrics=METRICS, out_dir=out / "eval" / name
        )
        report[name] = _summary(result)
        rows += [_gallery_row(name, i, image) for i, image in enumerate(result["per_image"][:GALLERY_ROWS])]
    report.update(
        task=f"depth up-sampling x{options['scale']}, protocol {options['protocol']} (low-resolution depth bicubic-up-sampled back)",
        metric=PROTOCOL_TEXT,
        model=cfg.model.to_dict(),
        train={k: getattr(cfg.train, k) for k in ("max_steps", "batch_size", "lr", "lr_policy")}
        | {"image_size": options["size"]},
        seconds={"train": round(train_seconds, 1), "total": round(time.time() - started, 1)},
        machine={
            "cpu": platform.processor() or platform.machine(),
            "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
    )
    report["notes"] = [
        f"bFT does NOT beat bicubic up-sampling on the {name} data in this run (the numbers are as measured)."
        for name in held_out
        if not report[name]["bft_beats_bicubic"]
    ]
    write_text_atomic(out / "report.json", json.dumps(report, indent=2) + "\n")
    columns = ("bft_rmse_cm", "bicubic_rmse_cm", "bft_mae_cm", "bicubic_mae_cm")
    table = Table(
        header=["data", "images", "bFT RMSE (cm)", "bicubic RMSE (cm)", "bFT MAE (cm)", "bicubic MAE (cm)"],
        rows=[[name, report[name]["images"], *(report[name][c] for c in columns)] for name in held_out],
        caption=PROTOCOL_TEXT,
    )
    gallery = Gallery(
        image_columns=["input (bicubic)", "guide (RGB)", "bFT", "target"],
        value_columns=["bFT RMSE (cm)", "bicubic RMSE (cm)"],
        rows=rows,
        caption="The Middlebury pair and the first held-out synthetic scenes",
    )
    notes = [
        report["task"],
        f"trained {cfg.train.max_steps} steps in {report['seconds']['train']} s",
        "every image with its errors: eval/synthetic/index.html and eval/middlebury/index.html",
    ]
    title = "guided-pix2pix quickstart: bFT vs bicubic depth up-sampling"
    write_page(out / "report.html", title, tables=[table], gallery=gallery, notes=notes + report["notes"])
    return report


GALLERY_ROWS = 6  # per held-out set in report.html


def _gallery_row(name: str, index: int, per_image: dict) -> GalleryRow:
    """A report row showing the images `evaluate_model` wrote for item `index` of set `name`."""
    images = [
        f"eval/{name}/index_images/{index:05d}_{c}.png" for c in range(4)
    ]  # input, guide, output, target
    values = {
        "bFT RMSE (cm)": per_image["depth_rmse_a"],
        "bicubic RMSE (cm)": per_image["bicubic/depth_rmse_a"],
    }
    return GalleryRow(label=per_image["id"], images=images, values=values)
