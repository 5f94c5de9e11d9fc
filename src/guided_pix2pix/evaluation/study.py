"""The conditioning-scheme study: every scheme trained on the same backbone, data, budget and
seeds, evaluated on the same held-out items, reported side by side.

`run_study(task, out, schemes, seeds, steps, overrides)` trains, for each scheme x seed, an
ordinary run folder ``OUT/runs/<scheme>-seed<k>`` from the task's synthetic preset
(`TASK_PRESETS`) with ``model.conditioning=<scheme>``, ``train.seed=<k>``,
``train.max_steps=<steps>`` and the user's overrides. A finished run (its ``summary.json`` at
the study's step count, its config.yaml the study's) is not trained again; an unfinished one is
resumed by `training.loop.train` from its newest checkpoint. Each finished run is evaluated
as ``guided-pix2pix evaluate --checkpoint RUN --max-items N --baselines ...`` would, into
``RUN/eval/<dataset>-test/`` (metrics.json, index.html): the synthetic test split (disjoint from
training and validation) and, for depth, the real Middlebury pair too. An evaluation already
there for the same generator (its SHA-256), items, metrics and baselines is reused.

The baselines of the task (`evaluation.baselines.BASELINES`; for depth bicubic and the three
classical filters, tuned on validation data as ``evaluate --baselines`` tunes them) are scored
with every run; the report shows them as rows.

Then the report is rebuilt from *every* evaluated run folder under ``OUT/runs`` whose config is
the study's (not only those of this invocation):

- ``study.json``: the setup; per run its metrics, parameters and training time; per scheme the
  mean and standard deviation (sample, n - 1; null for one seed) over seeds of each metric and
  of the guide-sensitivity ratio `evaluate` reports (where it measures one), the parameters,
  GFLOP per image and training wall time; the baselines; the files below;
- ``study.html``: the same as tables, and the pictures (fits a 1280 px wide window);
- ``study_curves.png``: the validation metric (metrics.jsonl ``val/rmse_cm`` for depth,
  ``val/psnr`` otherwise) against steps, one line per scheme (the mean over seeds, a band of
  +- one standard deviation with several seeds);
- ``study_outputs.png``: the same first held-out items, with every scheme's output side by side
  (each scheme's lowest seed);
- ``study_maps_<scheme>.png``: the modulation maps (`nn.explain`) of uft and bft on the first
  held-out item.

Sharing a study between machines: the study's setup (task, preset, resolved config without
scheme and seed, held-out items, metrics, tuning data) is written into ``study.json`` the first
time; a later invocation with another setup on the same OUT is refused, one with other
``--schemes`` or seeds adds its runs, and the report always covers all matching runs found. So
machines can each run a part (``--schemes bft uft`` here, ``--schemes film input_concat`` there,
or ``--seeds 2 --first-seed 3``) on one shared folder, or on copies whose ``runs/*`` folders are
then gathered into one OUT and reported with ``--no-train``. A run folder that another process
is training (its lock is held) is skipped and reported as pending.

Training wall time is the sum over the run's ``train`` invocations of the loop time at its last
metrics.jsonl line (the ``sec`` field restarts at each resume); data set-up, the final
checkpoint and the evaluation are not included. GFLOP per image: `torch.utils.flop_counter`
over one forward pass at the training image size (2 FLOPs per multiply-add; convolutions and
matrix products, not the OpenCV pre-filter of ``model.input_filter``).
"""

from __future__ import annotations

import contextlib
import html
import json
import math
import platform
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence, Sized
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from ..data import build_dataset, dataset_options
from ..data.visualize import DISPLAY_KINDS, display_kinds
from ..errors import BadFileError, BadOptionError, UserError
from ..files.atomic import sha256_file, write_atomic, write_text_atomic
from ..files.strict_json import dumps_strict
from ..metrics import METRICS
from ..metrics.weights import require
from ..nn.explain import StageMaps, draw_modulation_maps, trace_modulation
from ..nn.generator import WEIGHTS_NAME, Generator
from ..nn.modulation import SCHEMES
from ..nn.padding import run_padded
from ..training.config import RunConfig, load_config, parse_overrides, read_yaml_mapping
from ..training.run_folder import CONFIG_FILE, GENERATOR_DIR, METRICS_FILE, SUMMARY_FILE, RunFolderLock
from .baselines import BASELINES
from .engine import (
    RESULTS,
    build_datasets,
    default_metrics,
    default_tuning_dataset,
    evaluate_model,
    tune_on_dataset,
)

TASK_PRESETS = {"depth": "synthetic_depth", "pose": "synthetic_pose", "texture": "synthetic_texture"}
# metrics scored per task by default (depth: the engine's; pose and texture: the paper's image
# metrics without FID, which takes minutes on a CPU; add it with metrics=[..., "fid"])
STUDY_METRICS: dict[str, list[str] | None] = {"depth": None, "pose": ["psnr", "ssim", "lpips_alex"]}
STUDY_METRICS["texture"] = STUDY_METRICS["pose"]
VALIDATION_KEY = {"depth": "val/rmse_cm"}  # other tasks: "val/psnr" (training.validation)
VALIDATION_REFERENCE = {"depth": ("val/input_rmse_cm", "bicubic input")}  # a dashed line, if logged
MAPS_SCHEMES = ("uft", "bft")  # schemes whose modulation maps the report shows
SET_BY_STUDY = ("model.conditioning", "train.seed", "train.max_steps")
EVAL_ITEMS = 64
GRID_ITEMS = 4
VAL_POINTS = 10  # validations per run when the overrides do not set train.val_every
STUDY_JSON = "study.json"
STUDY_HTML = "study.html"
CURVES_PNG = "study_curves.png"
OUTPUTS_PNG = "study_outputs.png"
RUNS_DIR = "runs"
FORMAT = 1
GUIDE_RATIO_COLUMN = "guide sensitivity (ratio, ~1: uses the guide)"
_RUN_NAME = re.compile(r"^([a-z_]+)-seed(\d+)$")
# model channels -> task, for showing files whose task is not known (the explain command)
TASK_OF_CHANNELS = {(1, 3, 1): "depth", (3, 18, 3): "pose", (1, 4, 3): "texture"}


def run_name(scheme: str, seed: int) -> str:
    return f"{scheme}-seed{seed}"


# ----------------------------------------------------------------------------- the setup
@dataclass(frozen=True)
class StudySetup:
    """What every run of one study shares; two invocations on one OUT must agree on it.

    task: depth, pose or texture; preset: its synthetic preset; steps: train.max_steps;
    overrides: the user's KEY=VALUE list (as given, for the record); config: the resolved run
    config without model.conditioning and train.seed; eval_items: held-out synthetic items
    scored per run; metrics: metric names; tune_on: the preset or YAML whose validation data
    tunes the baselines (None: the engine's default)."""

    task: str
    preset: str
    steps: int
    overrides: list[str]
    config: dict
    eval_items: int
    metrics: list[str]
    tune_on: str | None

    def identity(self) -> dict:
        """The part that must match for runs to be compared (not the overrides' spelling)."""
        record = asdict(self)
        record.pop("overrides")
        return record


def run_config(setup: StudySetup, scheme: str, seed: int) -> RunConfig:
    """The config of run (scheme, seed): the preset, the overrides, then the study's settings."""
    return load_config(
        setup.preset,
        [
            *setup.overrides,
            f"model.conditioning={scheme}",
            f"train.seed={seed}",
            f"train.max_steps={setup.steps}",
        ],
    )


def _shared(cfg: RunConfig) -> dict:
    shared = cfg.to_dict()
    shared["model"].pop("conditioning")
    shared["train"].pop("seed")
    return shared


def make_setup(
    task: str,
    steps: int | None = None,
    overrides: Sequence[str] = (),
    eval_items: int = EVAL_ITEMS,
    metrics: Sequence[str] | None = None,
    tune_on: str | None = None,
) -> StudySetup:
    """Check the study's options and resolve its config (before anything is written)."""
    if task not in TASK_PRESETS:
        raise BadOptionError("--task", f"unknown task {task!r}; choose from {', '.join(TASK_PRESETS)}")
    overrides = list(overrides)
    nested = parse_overrides(overrides)
    for dotted in SET_BY_STUDY:
        section, key = dotted.split(".")
        if key in nested.get(section, {}):
            option = {
                "model.conditioning": "--schemes",
                "train.seed": "--seeds",
                "train.max_steps": "--steps",
            }
            raise BadOptionError(dotted, f"is set by the study; use {option[dotted]}")
    if steps is not None and steps < 1:
        raise BadOptionError("--steps", f"must be >= 1, got {steps}")
    if eval_items < 1:
        raise BadOptionError("--eval-items", f"must be >= 1, got {eval_items}")
    preset = TASK_PRESETS[task]
    base = load_config(preset, overrides)
    steps = steps if steps is not None else base.train.max_steps
    if steps is None:
        raise BadOptionError("--steps", f"preset {preset} sets no train.max_steps; give --steps")
    if "val_every" not in nested.get("train", {}):  # enough points for the validation curves
        overrides.append(f"train.val_every={max(1, steps // VAL_POINTS)}")
    names = list(metrics) if metrics else (STUDY_METRICS[task] or default_metrics(task, False, False))
    for name in names:
        if name not in METRICS:
            raise BadOptionError("--metrics", f"unknown metric {name!r} (available: {', '.join(METRICS)})")
        if METRICS[name].weights:
            require(cast(str, METRICS[name].weights))  # before any training: says how to install
    cfg = load_config(preset, [*overrides, f"train.max_steps={steps}"])
    if getattr(build_dataset(cfg.data.dataset, split="val", **cfg.data.options), "task", None) != task:
        raise BadOptionError("data.dataset", f"{cfg.data.dataset!r} is not a {task} dataset")
    return StudySetup(task, preset, steps, overrides, _shared(cfg), eval_items, names, tune_on)


def check_setup(out: Path, setup: StudySetup) -> dict:
    """The study.json already in `out` ({} if none), after checking that it has this setup."""
    path = out / STUDY_JSON
    if not path.is_file():
        return {}
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
        recorded = previous["setup"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BadFileError(path, f"not a study.json written by study ({exc}); remove it") from exc
    mine = setup.identity()
    theirs = {k: recorded.get(k) for k in mine}
    if theirs != mine:
        differing = _first_difference(theirs, mine)
        raise BadOptionError(
            "--out",
            f"{out} holds a study with another setup ({differing}); use the same task, --steps, "
            "overrides, --eval-items, --metrics and --tune-on, or another --out",
        )
    return previous


def _first_difference(a, b, prefix: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{prefix}{key}.")
    return f"{prefix.rstrip('.')}: {a!r} there, {b!r} now"


# ----------------------------------------------------------------------------- runs
def run_is_finished(folder: Path, cfg: RunConfig) -> bool:
    """Whether `folder` holds this run, trained to the end (its summary at cfg's step count)."""
    summary = folder / SUMMARY_FILE
    if not (summary.is_file() and (folder / GENERATOR_DIR / WEIGHTS_NAME).is_file()):
        return False
    try:
        steps = json.loads(summary.read_text(encoding="utf-8")).get("steps")
    except (OSError, ValueError, AttributeError):
        return False
    return steps == cfg.train.max_steps


def check_run_config(folder: Path, cfg: RunConfig) -> bool:
    """True if `folder` has no config.yaml or this run's; False if it holds another run's."""
    path = folder / CONFIG_FILE
    return not path.is_file() or read_yaml_mapping(path, "run folder's config") == cfg.to_dict()


def _locked_elsewhere(folder: Path) -> str | None:
    """The other process's message if another process holds the run folder's lock, else None."""
    if not folder.is_dir():
        return None
    try:
        with RunFolderLock(folder):
            return None
    except BadOptionError as exc:
        return exc.problem


def train_run(folder: Path, cfg: RunConfig, log: Callable[[str], None], progress: bool) -> str:
    """Train or resume one run; returns "finished" (already), "trained" or "locked"."""
    from ..training.loop import train

    if not check_run_config(folder, cfg):
        raise BadOptionError(
            "--out",
            f"{folder} holds a run with another config than this study's; remove it or use another --out",
        )
    if run_is_finished(folder, cfg):
        log(f"{folder.name}: finished ({cfg.train.max_steps} steps), not retrained")
        return "finished"
    holder = _locked_elsewhere(folder)
    if holder is not None:
        log(f"{folder.name}: skipped, {holder}")
        return "locked"
    resumed = any((folder / "checkpoints").glob("step_*"))
    log(f"{folder.name}: {'resuming' if resumed else 'training'} ({cfg.train.max_steps} steps)")
    train(cfg, folder, progress=progress)
    return "trained"


def read_metrics_log(folder: Path) -> list[dict]:
    """The records of RUN/metrics.jsonl (a line cut by a kill ends the list)."""
    path = folder / METRICS_FILE
    records: list[dict] = []
    if not path.is_file():
        return records
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            break
        if isinstance(record, dict) and isinstance(record.get("step"), int):
            records.append(record)
    return records


def train_seconds(records: Sequence[dict]) -> float | None:
    """Training wall time from metrics.jsonl: each `train` invocation's ``sec`` at its last line,
    summed (``sec`` restarts from 0 when a run resumes)."""
    total, last, seen = 0.0, None, False
    for record in records:
        sec = record.get("sec")
        if not isinstance(sec, (int, float)):
            continue
        if last is not None and sec < last:  # a new invocation: close the previous segment
            total += last
        last, seen = float(sec), True
    return total + last if seen and last is not None else None


def validation_curve(records: Sequence[dict], key: str) -> list[tuple[int, float]]:
    return [(r["step"], float(r[key])) for r in records if isinstance(r.get(key), (int, float))]


# ----------------------------------------------------------------------------- evaluation
@dataclass
class HeldOut:
    """The held-out data every run is scored on: name -> dataset, whose items are made (rendered,
    read) when first needed and then kept; with the task's baselines."""

    sets: dict[str, Sized]
    baselines: list[str]
    baseline_params: dict[str, dict] | None = None  # tuned when first needed
    _items: dict[str, list[dict]] = field(default_factory=dict)

    def items(self, name: str) -> list[dict]:
        if name not in self._items:
            dataset = cast(Any, self.sets[name])
            self._items[name] = [dataset[i] for i in range(len(dataset))]
        return self._items[name]


def held_out_data(setup: StudySetup) -> HeldOut:
    """The test split of the study's data (its first `eval_items` items), and for depth the
    Middlebury pair at the same scale and protocol; with the task's baselines."""
    cfg = run_config(setup, "bft", 0)  # the data section is the same for every run
    name, _, sets, _ = build_datasets(cfg.data, "test", None, setup.eval_items, None)
    held: dict[str, Sized] = {f"{name}-test": sets[0]}
    if setup.task == "depth":  # the real pair too, at the run's scale and protocol
        allowed = dataset_options("middlebury")
        options = {k: v for k, v in cfg.data.options.items() if k in allowed}
        held["middlebury-test"] = cast(Sized, build_dataset("middlebury", split="test", **options))
    return HeldOut(held, list(BASELINES.get(setup.task, {})))


def _baseline_params(setup: StudySetup, held: HeldOut, log: Callable[[str], None]) -> dict[str, dict]:
    """The baselines' parameters, tuned once on validation data (never on the reported items)."""
    if held.baseline_params is not None:
        return held.baseline_params
    names = held.baselines
    if not any(BASELINES[setup.task][n].filter is not None for n in names):
        held.baseline_params = {n: {} for n in names}
        return held.baseline_params
    if setup.tune_on is not None:
        data = load_config(setup.tune_on).data
        tuning = build_dataset(data.dataset, split="val", **data.options)
        source = f"{setup.tune_on} (split val)"
    else:
        options = setup.config["data"]["options"]
        scale, protocol = options.get("scale", 8), options.get("protocol", "A")
        tuning = default_tuning_dataset(scale, protocol)
        source = f"the engine's default synthetic validation scenes (x{scale}, protocol {protocol})"
    log(f"tuning the baselines on {source}")
    held.baseline_params = tune_on_dataset(setup.task, names, tuning)
    return held.baseline_params


def _eval_key(setup: StudySetup, held: HeldOut, generator_sha256: str, dataset: str) -> dict:
    """What an evaluation in a run folder must match to be reused."""
    return {
        "generator_sha256": generator_sha256,
        "items": len(held.sets[dataset]),
        "metrics": setup.metrics,
        "baselines": held.baselines,
    }


def _guide_ratio(result: dict) -> float | None:
    """The guide-sensitivity ratio `evaluate` reports (output change / target difference when the
    guides are swapped between items), where it measured one."""
    check = result.get("guide_sensitivity")
    ratio = check.get("ratio") if isinstance(check, dict) else None
    return float(ratio) if isinstance(ratio, (int, float)) else None


def _read_result(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def evaluate_run(
    folder: Path,
    setup: StudySetup,
    held: HeldOut,
    device: torch.device,
    log: Callable[[str], None],
    digest: str,
) -> dict[str, dict]:
    """dataset -> the run's metrics.json result on it, evaluating where none is up to date.
    digest: the SHA-256 of the run's generator weights."""
    results: dict[str, dict] = {}
    for dataset in held.sets:
        out = folder / "eval" / dataset
        key = _eval_key(setup, held, digest, dataset)
        with _evaluation_lock(folder):  # another study process may be scoring this run now
            previous = _read_result(out / RESULTS)
            if previous is not None and previous.get("study") == key:
                results[dataset] = previous
                continue
            results[dataset] = _evaluate_one(folder, setup, held, device, log, dataset, key)
    return results


@contextlib.contextmanager
def _evaluation_lock(folder: Path) -> Iterator[None]:
    """Wait for, then hold, an exclusive flock on ``RUN/eval/.lock``: two study processes sharing
    one OUT score a run one after the other (the second then reuses the first's result) instead
    of writing into the same pages at once."""
    import fcntl

    (folder / "eval").mkdir(parents=True, exist_ok=True)
    with open(folder / "eval" / ".lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _evaluate_one(
    folder: Path,
    setup: StudySetup,
    held: HeldOut,
    device: torch.device,
    log: Callable[[str], None],
    dataset: str,
    key: dict,
) -> dict:
    """The run's evaluate result on `dataset`, computed now (into RUN/eval/<dataset>)."""
    out = folder / "eval" / dataset
    model = Generator.from_pretrained(folder / GENERATOR_DIR).to(device).eval()
    items = held.items(dataset)
    log(f"{folder.name}: evaluating on {dataset} ({len(items)} items)")
    params = _baseline_params(setup, held, log)
    info: dict = {"checkpoint": str(folder / GENERATOR_DIR), "dataset": dataset[: -len("-test")]}
    info.update(split="test", study=key)
    return evaluate_model(
        model,
        [items],
        task=setup.task,
        metrics=setup.metrics,
        out_dir=out,
        device=device,
        info=info,
        baselines=held.baselines,
        baseline_params=params,
    )


@torch.no_grad()
def gflop_per_image(model: Generator, item: dict) -> float:
    """GFLOP of one forward pass on one item (FlopCounterMode: 2 per multiply-add)."""
    from torch.utils.flop_counter import FlopCounterMode

    device = next(model.parameters()).device
    x, g = item["input"][None].to(device), item["guide"][None].to(device)
    with FlopCounterMode(display=False) as counter:
        run_padded(model, x, g)
    return counter.get_total_flops() / 1e9


# ----------------------------------------------------------------------------- pictures
def _picture(kind: str, x: torch.Tensor) -> np.ndarray:
    """(C, H, W) network values -> (H, W, 3) float RGB in [0, 1] for display kind `kind`."""
    return DISPLAY_KINDS[kind](x[None].float().cpu())[0].clamp(0, 1).permute(1, 2, 0).numpy()


def _figure():
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise UserError("the study's pictures need matplotlib: pip install matplotlib") from exc
    return Figure


def _save_figure(fig, path: Path) -> Path:
    return write_atomic(path, lambda tmp: fig.savefig(tmp, format="png"), "cannot write the figure")


def explain_figure(
    model: Generator,
    input: torch.Tensor,
    guide: torch.Tensor,
    path: str | Path,
    task: str | None = None,
    title: str = "",
) -> list[StageMaps]:
    """Draw the modulation maps of one (C, H, W) pair beside its input, guide and output as a
    PNG at `path` (`nn.explain.draw_modulation_maps`); returns the maps (`StageMaps` list).
    task: how to show the images (depth, pose, texture; default from the model's channels)."""
    cfg = model.config
    channels = (cfg.input_nc, cfg.guide_nc, cfg.output_nc)
    kinds = display_kinds(task or TASK_OF_CHANNELS.get(channels, "generic"), channels)
    device = next(model.parameters()).device
    output, stages = trace_modulation(model, input[None].to(device), guide[None].to(device))
    pictures = [
        (label, _picture(kind, x))
        for label, kind, x in zip(("input", "guide", "output"), kinds, (input, guide, output[0]))
    ]
    draw_modulation_maps(stages, pictures, path, title=title)
    return stages


def outputs_grid(task: str, items: Sequence[dict], outputs: dict[str, torch.Tensor], path: Path) -> Path:
    """Rows of items: input | guide | target | each scheme's output, as one PNG (one mosaic with
    the column names above it)."""
    Figure = _figure()
    first = items[0]
    channels = (first["input"].shape[0], first["guide"].shape[0], first["target"].shape[0])
    kinds = display_kinds(task, channels)
    columns = [("input", kinds[0]), ("guide", kinds[1]), ("target", kinds[2])]
    columns += [(name, kinds[2]) for name in outputs]
    h, w = first["input"].shape[-2:]
    gap = max(2, w // 16)
    mosaic = np.ones((len(items) * (h + gap) - gap, len(columns) * (w + gap) - gap, 3))  # white gaps
    for r, item in enumerate(items):
        shown = [item["input"], item["guide"], item["target"], *(o[r] for o in outputs.values())]
        for c, ((_, kind), x) in enumerate(zip(columns, shown)):
            top, left = r * (h + gap), c * (w + gap)
            mosaic[top : top + h, left : left + w] = _picture(kind, x)
    scale = 1.4 / max(h, w)  # inches per pixel: a cell is about 1.4 inches
    width, height = mosaic.shape[1] * scale, mosaic.shape[0] * scale + 0.3
    fig = Figure(figsize=(width, height), dpi=100)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1 - 0.3 / height))
    ax.imshow(mosaic, interpolation="nearest")
    ax.set_xticks(
        [c * (w + gap) + w / 2 for c in range(len(columns))], [name for name, _ in columns], fontsize=8
    )
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    return _save_figure(fig, path)


def curves_plot(
    task: str,
    curves: dict[str, list[list[tuple[int, float]]]],
    path: Path,
    reference: tuple[str, list[tuple[int, float]]] | None = None,
) -> Path:
    """The validation metric against steps, one line per scheme (mean over seeds, +- std band);
    reference: (label, curve) drawn dashed, e.g. the bicubic input's validation error."""
    Figure = _figure()
    key = VALIDATION_KEY.get(task, "val/psnr")
    fig = Figure(figsize=(8, 4.5), dpi=100, layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    for scheme, runs in curves.items():
        steps = sorted(set.intersection(*(set(s for s, _ in run) for run in runs))) if runs else []
        if not steps:
            continue
        values = np.array([[dict(run)[s] for s in steps] for run in runs])  # (seeds, steps)
        mean = values.mean(axis=0)
        (line,) = ax.plot(steps, mean, marker="o", markersize=3, label=f"{scheme} ({len(runs)} seed(s))")
        if len(runs) > 1:
            std = values.std(axis=0, ddof=1)
            ax.fill_between(steps, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    if reference is not None and reference[1]:
        steps_ref, values_ref = zip(*reference[1])
        ax.plot(steps_ref, values_ref, linestyle="--", color="grey", label=reference[0])
    ax.set_xlabel("training step")
    ax.set_ylabel(key + (" (cm, lower is better)" if task == "depth" else " (dB, higher is better)"))
    ax.set_title(f"validation {key} during training ({task})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save_figure(fig, path)


# ----------------------------------------------------------------------------- aggregation
def mean_std(values: Sequence[float]) -> dict:
    """{"mean", "std" (sample, n - 1; None for one value), "n"}."""
    arr = np.asarray([v for v in values if v is not None], dtype=np.float64)
    if arr.size == 0:
        return {"mean": None, "std": None, "n": 0}
    std = float(arr.std(ddof=1)) if arr.size > 1 else None
    return {"mean": float(arr.mean()), "std": std, "n": int(arr.size)}


def _scan_runs(out: Path, setup: StudySetup) -> tuple[dict[str, tuple[str, int, Path]], list[str], list[str]]:
    """(name -> (scheme, seed, folder) of finished runs with this study's config, pending names,
    ignored names with why)."""
    finished: dict[str, tuple[str, int, Path]] = {}
    pending: list[str] = []
    ignored: list[str] = []
    root = out / RUNS_DIR
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    for folder in folders:
        match = _RUN_NAME.match(folder.name)
        if match is None or match.group(1) not in SCHEMES:
            continue
        scheme, seed = match.group(1), int(match.group(2))
        cfg = run_config(setup, scheme, seed)
        try:
            same = check_run_config(folder, cfg)
        except BadFileError:
            same = False
        if not same:
            ignored.append(f"{folder.name} (its config.yaml is not this study's)")
        elif run_is_finished(folder, cfg):
            finished[folder.name] = (scheme, seed, folder)
        else:
            pending.append(folder.name)
    order = {s: i for i, s in enumerate(SCHEMES)}
    ranked = sorted(finished.items(), key=lambda kv: (order[kv[1][0]], kv[1][1]))
    return dict(ranked), pending, ignored


def build_report(
    out: Path,
    setup: StudySetup,
    held: HeldOut | None,
    device: torch.device,
    log: Callable[[str], None],
) -> dict:
    """Evaluate every finished run of the study under OUT/runs (where not up to date) and write
    study.json, study.html and the pictures; returns the study.json object."""
    finished, pending, ignored = _scan_runs(out, setup)
    for name in ignored:
        log(f"not in the report: {name}")
    if finished and held is None:
        held = held_out_data(setup)
    runs: dict[str, dict] = {}
    results: dict[str, dict[str, dict]] = {}  # run -> dataset -> its metrics.json
    models: dict[str, Generator] = {}  # scheme -> its lowest seed's generator
    for name, (scheme, seed, folder) in finished.items():
        assert held is not None  # built above when there are runs
        digest = sha256_file(folder / GENERATOR_DIR / WEIGHTS_NAME)
        results[name] = evaluate_run(folder, setup, held, device, log, digest)
        records = read_metrics_log(folder)
        runs[name] = {
            "scheme": scheme,
            "seed": seed,
            "folder": str(folder.relative_to(out)),
            "steps": setup.steps,
            "generator_sha256": digest,
            "train_seconds": train_seconds(records),
            "validation": validation_curve(records, VALIDATION_KEY.get(setup.task, "val/psnr")),
            "validation_reference": validation_curve(records, VALIDATION_REFERENCE[setup.task][0])
            if setup.task in VALIDATION_REFERENCE
            else [],
            "eval": {
                dataset: {
                    "file": str((folder / "eval" / dataset / RESULTS).relative_to(out)),
                    "page": str((folder / "eval" / dataset / "index.html").relative_to(out)),
                    "metrics": result["metrics"],
                    "guide_sensitivity_ratio": _guide_ratio(result),
                }
                for dataset, result in results[name].items()
            },
        }
        if scheme not in models:
            models[scheme] = Generator.from_pretrained(folder / GENERATOR_DIR).to(device).eval()
    study = _summarise(out, setup, runs, results, models, held, pending, ignored)
    write_text_atomic(out / STUDY_JSON, dumps_strict(study, indent=1) + "\n")
    write_page(out / STUDY_HTML, study)
    return study


def _summarise(
    out: Path,
    setup: StudySetup,
    runs: dict[str, dict],
    results: dict[str, dict[str, dict]],
    models: dict[str, Generator],
    held: HeldOut | None,
    pending: list[str],
    ignored: list[str],
) -> dict:
    names = setup.metrics
    datasets = list(held.sets) if held is not None else []
    schemes: dict[str, dict] = {}
    for scheme in dict.fromkeys(r["scheme"] for r in runs.values()):
        mine = [r for r in runs.values() if r["scheme"] == scheme]
        model = models[scheme]
        assert held is not None  # there are runs
        first_item = held.items(datasets[0])[0]
        schemes[scheme] = {
            "seeds": [r["seed"] for r in mine],
            "parameters": model.num_parameters(),
            "gflop_per_image": round(gflop_per_image(model, first_item), 6),
            "train_seconds": mean_std([r["train_seconds"] for r in mine]),
            "metrics": {
                d: {n: mean_std([r["eval"][d]["metrics"].get(n) for r in mine]) for n in names}
                for d in datasets
            },
            "guide_sensitivity": {
                d: mean_std([r["eval"][d]["guide_sensitivity_ratio"] for r in mine]) for d in datasets
            },
        }
    # the baselines do not depend on the run: the first run's evaluation gives them
    first_results = next(iter(results.values()), {})
    baselines = {d: r.get("baselines", {}) for d, r in first_results.items()}
    baseline_params = {d: r.get("baseline_params", {}) for d, r in first_results.items()}
    protocols: dict[str, str] = {}
    for r in first_results.values():
        protocols.update(r.get("protocols", {}))
    files: dict = {"html": STUDY_HTML}
    if runs and held is not None:
        files.update(_pictures(out, setup, runs, schemes, models, held))
    return {
        "format": FORMAT,
        "setup": asdict(setup),
        "datasets": datasets,
        "metrics": names,
        "higher_is_better": {n: METRICS[n].higher_is_better for n in names},
        "units": {n: METRICS[n].unit for n in names},
        "protocols": {n: protocols.get(n, METRICS[n].doc) for n in names},
        "schemes": schemes,
        "runs": runs,
        "pending": pending,
        "ignored": ignored,
        "baselines": baselines,
        "baseline_params": baseline_params,
        "files": files,
        "written": {
            "time": time.strftime("%Y-%m-%d %H:%M:%S"),
            "machine": platform.processor() or platform.machine(),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        },
    }


def _pictures(
    out: Path,
    setup: StudySetup,
    runs: dict[str, dict],
    schemes: dict[str, dict],
    models: dict[str, Generator],
    held: HeldOut,
) -> dict:
    """The curves, outputs and maps PNGs (their names, and the key they were drawn for: the runs'
    generators). Pictures already drawn for the same generators are kept, not drawn again."""
    key = sorted([name, run["generator_sha256"]] for name, run in runs.items())
    previous = (_read_result(out / STUDY_JSON) or {}).get("files", {})
    drawn = [previous.get("curves"), previous.get("outputs"), *previous.get("maps", {}).values()]
    if previous.get("key") == key and all(isinstance(n, str) and (out / n).is_file() for n in drawn):
        return {k: previous[k] for k in ("key", "curves", "outputs", "maps")}
    datasets = list(held.sets)
    pictures: dict = {"key": key}
    first_items = held.items(datasets[0])
    first_run = next(iter(runs.values()))
    reference = None
    if setup.task in VALIDATION_REFERENCE:  # the same for every run: the first run's
        reference = (VALIDATION_REFERENCE[setup.task][1], first_run["validation_reference"])
    pictures["curves"] = curves_plot(
        setup.task,
        {s: [r["validation"] for r in runs.values() if r["scheme"] == s] for s in schemes},
        out / CURVES_PNG,
        reference,
    ).name
    grid_items = first_items[:GRID_ITEMS]
    batch_in = torch.stack([it["input"] for it in grid_items])  # (K, C_in, H, W)
    batch_g = torch.stack([it["guide"] for it in grid_items])
    outputs = {}
    for scheme, model in models.items():
        device = next(model.parameters()).device
        outputs[scheme] = run_padded(model, batch_in.to(device), batch_g.to(device)).cpu()
    pictures["outputs"] = outputs_grid(setup.task, grid_items, outputs, out / OUTPUTS_PNG).name
    pictures["maps"] = {}
    for scheme in MAPS_SCHEMES:
        if scheme in models:
            path = out / f"study_maps_{scheme}.png"
            item = first_items[0]
            seed = schemes[scheme]["seeds"][0]
            explain_figure(
                models[scheme],
                item["input"],
                item["guide"],
                path,
                task=setup.task,
                title=f"{scheme} (seed {seed}) on held-out item {item['meta'].get('id', 0)}",
            )
            pictures["maps"][scheme] = path.name
    return pictures


# ----------------------------------------------------------------------------- the page
_STYLE = """
body { font-family: sans-serif; margin: 1em auto; max-width: 1240px; padding: 0 12px; }
.wide { overflow-x: auto; }
table { border-collapse: collapse; margin-bottom: 1.2em; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; }
th { background: #f0f0f0; }
td.label { text-align: left; font-family: monospace; }
tr.baseline td { color: #555; background: #fafafa; }
img { max-width: 100%; height: auto; display: block; margin-bottom: 1em; }
caption { text-align: left; font-weight: bold; padding: 4px 0; }
p, li { max-width: 100ch; }
"""


def _number(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.{digits}g}"


def _mean_std_text(stat: dict) -> str:
    if stat["mean"] is None:
        return "-"
    text = _number(stat["mean"])
    return text + (f" &plusmn; {_number(stat['std'], 3)}" if stat["std"] is not None else "")


def _html_table(caption: str, header: Sequence[str], rows: Sequence[tuple[str, Sequence[str]]]) -> list[str]:
    """rows: (css class, cells); the first cell is a label, the others are already HTML."""
    out = ['<div class="wide"><table>', f"<caption>{html.escape(caption)}</caption>"]
    out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
    for css, cells in rows:
        tds = [f'<td class="label">{html.escape(cells[0])}</td>'] + [f"<td>{c}</td>" for c in cells[1:]]
        out.append(f'<tr class="{css}">' + "".join(tds) + "</tr>")
    out.append("</table></div>")
    return out


def write_page(path: Path, study: dict) -> Path:
    """study.html from a study.json object."""
    setup = study["setup"]
    names = study["metrics"]
    title = f"guided-pix2pix conditioning-scheme study: {setup['task']}"
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<p>"
        + html.escape(
            f"Preset {setup['preset']}, {setup['steps']} steps per run, overrides: "
            f"{' '.join(setup['overrides']) or 'none'}; {setup['eval_items']} held-out test items. "
            "Every scheme: same backbone, data, budget and seeds; mean ± standard deviation over "
            "seeds (sample, n − 1). Written "
            f"{study['written']['time']} on {study['written']['machine']}."
        )
        + "</p>",
    ]
    arrows = {n: "↑" if study["higher_is_better"][n] else "↓" for n in names}
    header = [
        "scheme",
        "seeds",
        *(f"{n} {arrows[n]}" + (f" ({study['units'][n]})" if study["units"][n] else "") for n in names),
    ]
    for dataset in study["datasets"]:
        sensitivity = {s: row["guide_sensitivity"][dataset] for s, row in study["schemes"].items()}
        with_ratio = any(stat["n"] for stat in sensitivity.values())  # evaluate measured it
        rows: list[tuple[str, Sequence[str]]] = []
        for scheme, s in study["schemes"].items():
            stats = s["metrics"].get(dataset, {})
            cells = [scheme, str(len(s["seeds"]))]
            cells += [_mean_std_text(stats[n]) if n in stats else "-" for n in names]
            cells += [_mean_std_text(sensitivity[scheme])] if with_ratio else []
            rows.append(("", cells))
        for baseline, values in study["baselines"].get(dataset, {}).items():
            cells = [f"{baseline} (baseline)", "-", *(_number(values.get(n)) for n in names)]
            cells += ["-"] if with_ratio else []
            rows.append(("baseline", cells))
        columns = [*header, GUIDE_RATIO_COLUMN] if with_ratio else header
        parts += _html_table(f"held-out {dataset}", columns, rows)
    cost_rows = [
        (
            "",
            [
                scheme,
                ", ".join(map(str, s["seeds"])),
                f"{s['parameters']:,}",
                _number(s["gflop_per_image"]),
                _mean_std_text(s["train_seconds"]),
            ],
        )
        for scheme, s in study["schemes"].items()
    ]
    parts += _html_table(
        "cost per scheme",
        ["scheme", "seed values", "parameters", "GFLOP / image", "training wall time (s)"],
        cost_rows,
    )
    files = study["files"]
    if "curves" in files:
        parts.append("<h2>Validation during training</h2>")
        parts.append(f'<img src="{html.escape(files["curves"])}" alt="validation curves">')
    if "outputs" in files:
        parts.append("<h2>The same held-out items, every scheme (lowest seed)</h2>")
        parts.append(f'<img src="{html.escape(files["outputs"])}" alt="outputs per scheme">')
    for scheme, name in files.get("maps", {}).items():
        parts.append(f"<h2>Modulation maps: {html.escape(scheme)}</h2>")
        parts.append(
            "<p>Channel mean of the scale (γ) and shift (β) maps at each FT stage, coloured by their "
            "deviation from the map's own spatial mean (red above, blue below); the titles give "
            "each map's range (guided-pix2pix explain).</p>"
        )
        parts.append(f'<img src="{html.escape(name)}" alt="modulation maps of {html.escape(scheme)}">')
    parts.append("<h2>Runs</h2><ul>")
    for run_id, run in study["runs"].items():
        links = ", ".join(
            f'<a href="{html.escape(e["page"])}">{html.escape(d)}</a>' for d, e in run["eval"].items()
        )
        parts.append(
            f"<li>{html.escape(run_id)}: {html.escape(run['folder'])}; "
            f"{_number(run['train_seconds'])} s of training; evaluation pages: {links}</li>"
        )
    parts.append("</ul>")
    if study["pending"]:
        parts.append(
            "<p>Not finished (not in the tables): " + html.escape(", ".join(study["pending"])) + "</p>"
        )
    tuned = {json.dumps(p, sort_keys=True) for p in study["baseline_params"].values() if any(p.values())}
    for text in sorted(tuned):  # one line per distinct tuning (the same for every held-out set)
        parts.append(f"<p>Baseline parameters, tuned on validation data: {html.escape(text)}</p>")
    parts.append("<h2>Metrics</h2><ul>")
    parts += [f"<li>{html.escape(n)}: {html.escape(study['protocols'][n])}</li>" for n in names]
    parts.append("</ul></body></html>")
    return write_text_atomic(path, "\n".join(parts) + "\n", "cannot write the page")


# ----------------------------------------------------------------------------- the study
def run_study(
    task: str,
    out: str | Path,
    schemes: Sequence[str] | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    steps: int | None = None,
    overrides: Sequence[str] = (),
    *,
    eval_items: int = EVAL_ITEMS,
    metrics: Sequence[str] | None = None,
    tune_on: str | None = None,
    train_runs: bool = True,
    device: torch.device | str = "cpu",
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Train (or resume) and evaluate every scheme x seed, then write the report (module doc);
    returns the study.json object. train_runs=False: train nothing, report what is there."""
    log = log or (lambda message: print(f"study: {message}", file=sys.stderr, flush=True))
    schemes = list(SCHEMES) if schemes is None else list(schemes)
    for scheme in schemes:
        if scheme not in SCHEMES:
            raise BadOptionError("--schemes", f"unknown scheme {scheme!r}; choose from {', '.join(SCHEMES)}")
    if not schemes or len(set(schemes)) != len(schemes):
        raise BadOptionError("--schemes", f"name each scheme once, got {schemes}")
    if not seeds or any(s < 0 for s in seeds):
        raise BadOptionError("--seeds", f"need one or more seeds >= 0, got {list(seeds)}")
    out = Path(out)
    setup = make_setup(task, steps, overrides, eval_items, metrics, tune_on)
    previous = check_setup(out, setup)
    if not previous:  # the setup is fixed from the first invocation on
        write_text_atomic(
            out / STUDY_JSON,
            dumps_strict({"format": FORMAT, "setup": asdict(setup), "runs": {}}, indent=1) + "\n",
        )
    device = torch.device(device)
    if train_runs:
        for scheme in schemes:
            for seed in seeds:
                cfg = run_config(setup, scheme, seed)
                train_run(out / RUNS_DIR / run_name(scheme, seed), cfg, log, progress)
    study = build_report(out, setup, None, device, log)
    log(f"wrote {out / STUDY_JSON} and {out / STUDY_HTML} ({len(study['runs'])} runs)")
    return study
