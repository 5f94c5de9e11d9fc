"""`guided-pix2pix train --config PRESET_OR_FILE --out RUN_DIR [key=value ...]`."""

from __future__ import annotations


def add_arguments(parser):
    from ..training.config import preset_names

    parser.add_argument(
        "--config", required=True, help=f"a preset ({', '.join(preset_names())}) or a YAML file"
    )
    parser.add_argument("--out", required=True, help="run folder; rerunning the same command resumes it")
    parser.add_argument(
        "overrides", nargs="*", metavar="KEY=VALUE", help="dotted overrides, e.g. train.max_steps=200"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args):
    from ..training.config import load_config
    from ..training.loop import train

    cfg = load_config(args.config, args.overrides)
    from accelerate import PartialState

    summary = train(cfg, args.out, progress=not args.no_progress)
    if PartialState().is_main_process:
        print(f"trained {summary['steps']} steps; generator in {args.out}/generator")
    return 0
