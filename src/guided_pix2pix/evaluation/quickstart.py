"""The embedded default: train bFT on synthetic depth up-sampling (x8) on the CPU, then compare
it with what a user already has, on held-out synthetic scenes and on the real Middlebury pair:
bicubic up-sampling, and OpenCV's joint bilateral filter, guided filter and fast global
smoother with their parameters tuned on *synthetic validation* scenes (never on the reported
data). For Middlebury the filters' optimum tuned on that very image is also shown, marked as
an oracle (what no user can know), and so is the shipped ``pretrained:depth_x8`` model when the
installation has one.

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
from ..nn.pretrained import PREFIX, pretrained_index
from ..training.config import load_config
from ..training.loop import train
from ..training.run_folder import GENERATOR_DIR
from .engine import evaluate_model, tune_on_dataset
from .report import DEPTH_COLOUR_BAR, Gallery, GalleryRow, Table, write_page

PRESET = "synthetic_depth"
HELD_OUT_SCENES = 64  # synthetic test scenes (a split disjoint from training and validation)
METRICS = ["depth_rmse_a", "depth_mae_a"]
FILTERS = ["joint_bilateral", "guided_filter", "fgs"]
TUNE_SCENES = 16  # synthetic validation scenes the filters are tuned on, at twice the training size
PROTOCOL_TEXT = (
    "RMSE / MAE in cm, protocol A: per-image de-normalisation, border crop [7:-6], "
    "mean of per-image errors; unknown depth excluded"
)


def _summary(result: dict, pretrained: dict | None = None) -> dict:
    """The quickstart's view of an `evaluate_model` result: bFT, bicubic and filter errors in cm."""
    model, baselines = result["metrics"], result["baselines"]
    bicubic = baselines["bicubic"]
    summary = {
        "bft_rmse_cm": round(model["depth_rmse_a"], 3),
        "bicubic_rmse_cm": round(bicubic["depth_rmse_a"], 3),
        "bft_mae_cm": round(model["depth_mae_a"], 3),
        "bicubic_mae_cm": round(bicubic["depth_mae_a"], 3),
        "images": result["rows"],
        "bft_beats_bicubic": bool(model["depth_rmse_a"] < bicubic["depth_rmse_a"]),
        "filters_rmse_cm": {f: round(baselines[f]["depth_rmse_a"], 3) for f in FILTERS},
    }
    summary["filters_beating_bft"] = [
        f for f, v in summary["filters_rmse_cm"].items() if v < summary["bft_rmse_cm"]
    ]
    if pretrained is not None:
        summary["pretrained_rmse_cm"] = round(pretrained["metrics"]["depth_rmse_a"], 3)
    return summary


def run_quickstart(out: str | Path, overrides: list[str] | None = None, progress: bool = True) -> dict:
    """Train (or resume) and evaluate; write report.json / report.html in `out`; return the report."""
    out = Path(out)
    cfg = load_config(PRESET, overrides)
    started = time.time()
    train(cfg, out / "run", progress=progress)
    train_seconds = time.time() - started

    generator = Generator.from_pretrained(out / "run" / GENERATOR_DIR).eval()
    options = {k: v for k, v in cfg.data.options.items() if k != "count"}
    scale, protocol = options["scale"], options["protocol"]
    held_out = {
        "synthetic": build_dataset("synthetic_depth", split="test", count=HELD_OUT_SCENES, **options),
        "middlebury": build_dataset("middlebury", split="test", scale=scale, protocol=protocol),
    }
    h, w = options["size"]
    tuning = build_dataset(
        "synthetic_depth", split="val", **{**options, "count": TUNE_SCENES, "size": [2 * h, 2 * w]}
    )
    params = tune_on_dataset("depth", ["bicubic", *FILTERS], tuning)
    oracle_params = tune_on_dataset("depth", FILTERS, held_out["middlebury"])  # on the test image: an oracle
    shipped = f"depth_x{scale}" if protocol == "A" and f"depth_x{scale}" in pretrained_index() else None
    pretrained_model = Generator.from_pretrained(PREFIX + shipped).eval() if shipped else None

    report: dict = {"filter_params": params, "oracle_filter_params": oracle_params}
    rows: list[GalleryRow] = []
    for name, dataset in held_out.items():
        result = evaluate_model(
            generator,
            [dataset],
            task="depth",
            metrics=METRICS,
            out_dir=out / "eval" / name,
            baselines=["bicubic", *FILTERS],
            baseline_params=params,
        )
        pretrained = None
        if pretrained_model is not None:
            pretrained = evaluate_model(
                pretrained_model, [dataset], task="depth", metrics=METRICS, baselines=[]
            )
        report[name] = _summary(result, pretrained)
        rows += [_gallery_row(name, i, image) for i, image in enumerate(result["per_image"][:GALLERY_ROWS])]
    oracle = evaluate_model(
        generator,
        [held_out["middlebury"]],
        task="depth",
        metrics=METRICS,
        baselines=FILTERS,
        baseline_params=oracle_params,
    )
    report["middlebury"]["oracle_filters_rmse_cm"] = {
        f: round(oracle["baselines"][f]["depth_rmse_a"], 3) for f in FILTERS
    }
    report.update(
        task=f"depth up-sampling x{scale}, protocol {protocol} (low-resolution depth bicubic-up-sampled back)",
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
        pretrained=PREFIX + shipped if shipped else None,
    )
    report["notes"] = [
        f"bFT does NOT beat bicubic up-sampling on the {name} data in this run (the numbers are as measured)."
        for name in held_out
        if not report[name]["bft_beats_bicubic"]
    ] + [
        f"{', '.join(report[name]['filters_beating_bft'])} (tuned on synthetic validation) beat(s) the quickstart bFT on the {name} data."
        for name in held_out
        if report[name]["filters_beating_bft"]
    ]
    write_text_atomic(out / "report.json", json.dumps(report, indent=2) + "\n")
    write_page(out / "report.html", TITLE, tables=[_table(report, held_out)], gallery=_gallery(rows), notes=[
        report["task"],
        f"trained {cfg.train.max_steps} steps in {report['seconds']['train']} s",
        f"filters tuned on {TUNE_SCENES} synthetic validation scenes of {2 * h}x{2 * w}: {json.dumps(params)}",
        f"oracle: the filters tuned on the Middlebury image itself: {json.dumps(oracle_params)}",
        "every image with its errors: eval/synthetic/index.html and eval/middlebury/index.html",
        *report["notes"],
    ])  # fmt: skip
    return report


TITLE = "guided-pix2pix quickstart: bFT vs bicubic and the classical filters (depth up-sampling)"


def _table(report: dict, held_out: dict) -> Table:
    header = ["data", "images", "bicubic", *FILTERS, "oracle filters (tuned on test)", "bFT (quickstart)"]
    if report["pretrained"]:
        header.append(report["pretrained"])
    rows = []
    for name in held_out:
        r = report[name]
        oracle = r.get("oracle_filters_rmse_cm")
        row = [name, r["images"], r["bicubic_rmse_cm"], *(r["filters_rmse_cm"][f] for f in FILTERS)]
        row += [", ".join(f"{f} {v:.2f}" for f, v in oracle.items()) if oracle else "-", r["bft_rmse_cm"]]
        if report["pretrained"]:
            row.append(r["pretrained_rmse_cm"])
        rows.append(row)
    return Table(header=header, rows=rows, caption=f"RMSE (cm); {PROTOCOL_TEXT}")


def _gallery(rows: list[GalleryRow]) -> Gallery:
    return Gallery(
        image_columns=["input (bicubic)", "guide (RGB)", "bFT", "target"],
        value_columns=["bFT RMSE (cm)", "bicubic RMSE (cm)"],
        rows=rows,
        caption="The Middlebury pair and the first held-out synthetic scenes (depth in colour: near dark, far yellow)",
        colour_bar=DEPTH_COLOUR_BAR,
    )


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
