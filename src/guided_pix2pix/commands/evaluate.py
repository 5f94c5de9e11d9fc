"""`guided-pix2pix evaluate`: run a trained generator over a dataset and score it with the task's metrics.

The dataset comes from a run config's ``data`` section (a preset, a YAML file, or the run
folder's own ``config.yaml``; ``KEY=VALUE`` overrides as for ``train``), built for ``--split``.
The engine, its default metrics per task and what it writes: `guided_pix2pix.evaluation.engine`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import cast

from ..data import build_dataset
from ..errors import BadOptionError
from ..evaluation.baselines import BASELINES, check_baseline_names
from ..evaluation.engine import (
    PAGE,
    RESULTS,
    TASK_PLANS,
    TUNE_ITEMS,
    TUNE_SIZE,
    build_datasets,
    default_tuning_dataset,
    evaluate_model,
    tune_on_dataset,
)
from ..files.outputs import check_outputs_apart
from ..metrics import METRICS, load_classifier
from ..metrics.registry import parse_metric_names
from ..metrics.weights import require
from ..nn.devices import resolve_device
from ..nn.pretrained import PREFIX, is_pretrained_name, pretrained_index
from ..nn.tta import TTA_VIEWS, check_tta
from ..training.config import RunConfig, load_config
from ..training.model_task import generator_task
from ..training.run_folder import CONFIG_FILE, load_generator, run_folder_of


# ----------------------------------------------------------------------------- command line
def add_arguments(parser) -> None:
    parser.add_argument(
        "--checkpoint", required=True, type=Path, help="generator folder (save_pretrained) or run folder"
    )
    parser.add_argument("--config", help="preset name or YAML file (default: the run folder's config.yaml)")
    parser.add_argument(
        "overrides", nargs="*", metavar="KEY=VALUE", help="config overrides, e.g. data.options.count=50"
    )
    parser.add_argument("--split", default="test", help="dataset split (default test)")
    parser.add_argument(
        "--dataset",
        help="evaluate on this dataset instead (e.g. middlebury), keeping the config's data options it accepts",
    )
    parser.add_argument("--out", type=Path, help="output folder (default CHECKPOINT/eval/DATASET-SPLIT)")
    parser.add_argument(
        "--metrics",
        help=f"comma-separated metric names (default: the task's); available: {', '.join(METRICS)}",
    )
    parser.add_argument("--max-items", type=int, help="score only the first N items")
    parser.add_argument("--patches", type=int, help="texture: random patches per test sketch (official 10)")
    parser.add_argument("--batch-size", type=int, default=4, help="items per forward pass (default 4)")
    parser.add_argument("--device", default="auto", help="auto (best available), cpu, cuda, cuda:N, mps")
    parser.add_argument(
        "--is-weights", type=Path, help="TorchScript classifier for the Inception Score (docs/metrics.md)"
    )
    parser.add_argument(
        "--baselines",
        help="comma-separated non-learned baselines scored beside the model (depth: bicubic, "
        "joint_bilateral, guided_filter, fgs, default bicubic; pose: identity, background, "
        "default both; texture: mean_colour_fill, the default)",
    )
    parser.add_argument(
        "--no-guide-check",
        action="store_true",
        help="skip the guide-sensitivity check (each batch run again with its guides swapped)",
    )
    parser.add_argument(
        "--tta",
        choices=tuple(TTA_VIEWS),
        default="none",
        help="test-time augmentation: flip averages the output with the mirrored input's "
        "(twice the time; not for pose models; see nn.tta)",
    )
    parser.add_argument(
        "--tune-on",
        help="preset or YAML whose data section (split val) tunes the filters' parameters "
        f"(default: {TUNE_ITEMS} held-out synthetic depth scenes of {TUNE_SIZE[0]}x{TUNE_SIZE[1]} at the evaluated scale and protocol)",
    )


def _run_config(args, generator_dir: Path) -> RunConfig:
    source = args.config
    if source is None and is_pretrained_name(args.checkpoint):  # the config it was trained with
        record = pretrained_index()[str(args.checkpoint)[len(PREFIX) :]]["config"]
        return load_config(record["preset"], [*record["overrides"], *args.overrides])
    if source is None:
        run = run_folder_of(generator_dir)
        if run is None:
            raise BadOptionError(
                "--config", "give a preset or YAML file (the checkpoint is not inside a run folder)"
            )
        source = str(run / CONFIG_FILE)
    return load_config(source, list(args.overrides))


def _tuned_parameters(
    task: str, baselines: list[str], tune_on: str | None, evaluated, batch_size: int
) -> dict:
    """The filters' parameters, tuned on validation data (never on the evaluated set); printed."""
    names = check_baseline_names(task, baselines)
    if not any(BASELINES[task][n].filter is not None for n in names):
        return {}
    if tune_on is not None:
        data = load_config(tune_on).data
        tuning = build_dataset(data.dataset, split="val", **data.options)
        source = f"{tune_on} (split val)"
    else:
        from torch.utils.data import Subset

        while isinstance(evaluated, Subset):  # --max-items: the set it was cut from
            evaluated = evaluated.dataset
        scale, protocol = getattr(evaluated, "scale", 8), getattr(evaluated, "protocol", "A")
        tuning = default_tuning_dataset(scale, protocol)
        source = f"synthetic_depth val, {TUNE_ITEMS} scenes of {TUNE_SIZE[0]}x{TUNE_SIZE[1]}, x{scale} protocol {protocol}"
    params = tune_on_dataset(task, names, tuning, batch_size)
    for name, chosen in params.items():
        if chosen:
            print(f"evaluate: {name} tuned on {source}: {json.dumps(chosen)}", file=sys.stderr)
    return params


def run(args) -> int:
    if args.batch_size < 1:
        raise BadOptionError("--batch-size", f"must be >= 1, got {args.batch_size}")
    names = parse_metric_names(args.metrics) if args.metrics else None
    for name in names or ():
        if METRICS[name].weights:
            require(cast(str, METRICS[name].weights))  # checked just above
    device = resolve_device(args.device)
    model, folder = load_generator(args.checkpoint, device)
    check_tta(args.tta, generator_task(model, folder, args.checkpoint))
    cfg = _run_config(args, folder)
    where = (
        Path("eval") / str(args.checkpoint)[len(PREFIX) :]
        if is_pretrained_name(args.checkpoint)
        else args.checkpoint / "eval"
    )
    out = args.out or where / f"{args.dataset or cfg.data.dataset}-{args.split}"
    root = cfg.data.options.get("root")
    if root is not None:  # never write results into the evaluated dataset's folder
        check_outputs_apart(out, [out], folders=[("data.options.root", Path(str(root)))])
    name, options, sets, task = build_datasets(
        cfg.data, args.split, args.dataset, args.max_items, args.patches
    )
    if task not in TASK_PLANS:
        task = "generic"
    classifier = None
    if args.is_weights is not None:
        classifier = load_classifier(args.is_weights, device=device)
    baselines = [b.strip() for b in args.baselines.split(",") if b.strip()] if args.baselines else None
    params = _tuned_parameters(task, baselines or [], args.tune_on, sets[0], args.batch_size)
    info = {"checkpoint": str(folder), "dataset": name, "options": options, "split": args.split}
    result = evaluate_model(
        model,
        sets,
        task=task,
        metrics=names,
        out_dir=out,
        batch_size=args.batch_size,
        device=device,
        classifier=classifier,
        info=info,
        baselines=baselines,
        baseline_params=params,
        guide_check=not args.no_guide_check,
        tta=args.tta,
    )
    summary = {k: result[k] for k in ("metrics", "baselines", "guide_sensitivity")}
    print(json.dumps(summary))
    print(f"wrote {out / RESULTS} and {out / PAGE}", file=sys.stderr)
    return 0
