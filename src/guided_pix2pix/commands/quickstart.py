"""`guided-pix2pix quickstart [--out DIR]`: the embedded default (see guided_pix2pix.evaluation.quickstart)."""

from __future__ import annotations


def add_arguments(parser):
    parser.add_argument("--out", default="runs/quickstart", help="output folder (default runs/quickstart)")
    parser.add_argument(
        "overrides", nargs="*", metavar="KEY=VALUE", help="overrides of the synthetic_depth preset"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args):
    from ..evaluation.quickstart import run_quickstart

    report = run_quickstart(args.out, args.overrides, progress=not args.no_progress)
    for name in ("synthetic", "middlebury"):
        r = report[name]
        filters = ", ".join(f"{f} {v:.2f}" for f, v in r["filters_rmse_cm"].items())
        print(
            f"{name:>10}: bFT RMSE {r['bft_rmse_cm']:.2f} cm vs bicubic {r['bicubic_rmse_cm']:.2f} cm, "
            f"filters {filters} ({r['images']} images)"
        )
    print(f"report: {args.out}/report.html and report.json ({report['seconds']['total']:.0f} s)")
    return 0
