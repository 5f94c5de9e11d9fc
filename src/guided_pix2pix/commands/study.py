"""`guided-pix2pix study --task {depth,pose,texture} --out DIR`: the conditioning-scheme study.

Trains every scheme (or those of ``--schemes``) for every seed on the task's synthetic preset
with the same backbone, data, budget and seeds, evaluates them on held-out data and writes
``DIR/study.json`` and ``DIR/study.html``; see `guided_pix2pix.evaluation.study`. A rerun
resumes: finished runs are not retrained and up-to-date evaluations are reused.
"""

from __future__ import annotations

import sys

from ..errors import BadOptionError
from ..evaluation.study import EVAL_ITEMS, STUDY_HTML, STUDY_JSON, TASK_PRESETS
from ..metrics.registry import parse_metric_names
from ..nn.devices import resolve_device
from ..nn.modulation import SCHEMES


def add_arguments(parser) -> None:
    parser.add_argument("--task", required=True, choices=list(TASK_PRESETS), help="the synthetic task")
    parser.add_argument("--out", required=True, help="study folder (runs in OUT/runs/<scheme>-seed<k>)")
    parser.add_argument(
        "--schemes",
        nargs="+",
        metavar="SCHEME",
        help=f"schemes to train here, by name or comma-separated (default all: {' '.join(SCHEMES)}); "
        "another invocation on the same --out can add the others",
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds per scheme (default 3)")
    parser.add_argument(
        "--first-seed", type=int, default=0, help="seeds are FIRST_SEED .. FIRST_SEED + SEEDS - 1 (default 0)"
    )
    parser.add_argument("--steps", type=int, help="training steps per run (default: the preset's)")
    parser.add_argument(
        "overrides", nargs="*", metavar="KEY=VALUE", help="overrides of the preset, the same for every run"
    )
    parser.add_argument(
        "--metrics",
        help="comma-separated metric names (default: depth the engine's, pose/texture psnr,ssim,lpips_alex)",
    )
    parser.add_argument(
        "--eval-items",
        type=int,
        default=EVAL_ITEMS,
        help=f"held-out test items per run (default {EVAL_ITEMS})",
    )
    parser.add_argument(
        "--tune-on",
        help="preset or YAML whose data (split val) tunes the depth filters (default: as evaluate)",
    )
    parser.add_argument("--device", default="auto", help="evaluation device: auto, cpu, cuda, cuda:N, mps")
    parser.add_argument(
        "--no-train",
        action="store_true",
        help="train nothing: evaluate the finished runs and rebuild the report",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args) -> int:
    from ..evaluation.study import run_study

    if args.seeds < 1:
        raise BadOptionError("--seeds", f"must be >= 1, got {args.seeds}")
    if args.first_seed < 0:
        raise BadOptionError("--first-seed", f"must be >= 0, got {args.first_seed}")
    schemes, overrides = None, list(args.overrides or [])
    if args.schemes:  # `--schemes bft uft a=1`: the KEY=VALUE after the names are overrides
        schemes = [s for item in args.schemes if "=" not in item for s in item.split(",") if s]
        overrides = [item for item in args.schemes if "=" in item] + overrides
    study = run_study(
        args.task,
        args.out,
        schemes=schemes,
        seeds=list(range(args.first_seed, args.first_seed + args.seeds)),
        steps=args.steps,
        overrides=overrides,
        eval_items=args.eval_items,
        metrics=parse_metric_names(args.metrics) if args.metrics else None,
        tune_on=args.tune_on,
        train_runs=not args.no_train,
        device=resolve_device(args.device),
        progress=not args.no_progress,
    )
    for dataset in study["datasets"]:
        name = study["metrics"][0]
        print(f"{dataset} {name} (mean ± std over seeds):")
        for scheme, s in study["schemes"].items():
            stat = s["metrics"][dataset][name]
            std = f" ± {stat['std']:.4g}" if stat["std"] is not None else ""
            print(f"  {scheme:>15}: {stat['mean']:.4g}{std} ({stat['n']} seed(s))")
        for baseline, values in study["baselines"].get(dataset, {}).items():
            if name in values:
                print(f"  {baseline + ' (baseline)':>15}: {values[name]:.4g}")
    print(f"wrote {args.out}/{STUDY_JSON} and {args.out}/{STUDY_HTML}", file=sys.stderr)
    return 0
