"""`guided-pix2pix bench --preset {pose,depth_x8,texture} [options]`: one JSON line of training speed.

Times the training loop's own step (`training.loop.optimizer_step`) on the preset's official model;
--batch and --size shrink the run for CPUs. See `guided_pix2pix.training.bench` for what each key means.
Strict JSON: a value that is not finite (an infinite peak, a rate over zero seconds) is ``null``.

`--inference` times the generator's forward instead (eval, no grad, batch 1 by default) through
`--inference-path` against the official forward, alternated in the same run; see
`guided_pix2pix.training.inference_bench`. It exits 1 when the path's output differs from the
official forward by more than the tolerance (the JSON line is printed first).
"""

from __future__ import annotations

from ..files.strict_json import dumps_strict


def add_arguments(parser):
    from ..training.bench import BENCH_PRESETS, DATA, DEVICES, MODES, PRECISIONS

    parser.add_argument(
        "--preset", required=True, choices=sorted(BENCH_PRESETS), help="official model and sizes"
    )
    parser.add_argument("--batch", type=int, default=None, help="images per step (default: the preset's)")
    parser.add_argument(
        "--size", type=int, nargs=2, metavar=("H", "W"), default=None, help="image size in pixels"
    )
    parser.add_argument("--steps", type=int, default=5, help="timed steps")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--device", choices=DEVICES, default="cpu")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32", help="bf16: autocast")
    parser.add_argument("--compile", action="store_true", help="torch.compile G and D")
    parser.add_argument(
        "--cuda-graphs",
        action="store_true",
        help="with --compile on CUDA: mode reduce-overhead (CUDA graphs)",
    )
    parser.add_argument("--mode", choices=MODES, default="fast", help="generator execution mode")
    parser.add_argument("--data", choices=DATA, default="random", help="synthetic: the real input pipeline")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument(
        "--channels-last",
        choices=("auto", "on", "off"),
        default="auto",
        help="memory format of G and D (auto: on for CUDA fast mode)",
    )
    parser.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: recommended)")
    parser.add_argument("--peak-tflops", type=float, default=None, help="device peak for the MFU")
    parser.add_argument(
        "--loader-only", action="store_true", help="measure the input pipeline alone (images/s), no model"
    )
    parser.add_argument(
        "--no-flops", action="store_true", help="skip the FLOP count (gflop, tflops, mfu null)"
    )
    from ..training.inference_bench import PATH_CHOICES

    parser.add_argument(
        "--inference",
        action="store_true",
        help="time the generator's forward (eval, no grad; --batch default 1, --steps: alternated "
        "pairs with the official forward, at least 3) instead of the training step",
    )
    parser.add_argument(
        "--inference-path",
        choices=PATH_CHOICES,
        default=None,
        help="with --inference: how the forward runs (auto, the default: the path translate takes)",
    )


def run_inference(args) -> int:
    import sys

    from ..errors import BadOptionError
    from ..training.inference_bench import AUTO, InferenceSettings, run_inference_bench

    for option, given in (
        ("--loader-only", args.loader_only),
        ("--compile", args.compile),  # a path of its own: --inference-path compile
        ("--cuda-graphs", args.cuda_graphs),
        ("--precision", args.precision != "fp32"),
        ("--mode", args.mode != "fast"),  # the reference mode is always measured next to the path
        ("--data", args.data != "random"),
        ("--channels-last", args.channels_last != "auto"),  # --inference-path channels_last
    ):
        if given:
            raise BadOptionError(option, "does not apply to --inference (see --inference-path)")
    settings = InferenceSettings(
        preset=args.preset,
        path=args.inference_path or AUTO,
        batch=1 if args.batch is None else args.batch,
        size=tuple(args.size) if args.size else None,
        steps=args.steps,
        warmup=args.warmup,
        threads=args.threads,
        device=args.device,
    )
    result = run_inference_bench(settings)
    print(dumps_strict(result), flush=True)
    if not result["within_tolerance"]:
        print(
            f"bench: the {result['resolved_path']} path differs from the official forward by "
            f"{result['max_abs_error']:.2e} (tolerance {result['tolerance']:.0e})",
            file=sys.stderr,
        )
        return 1
    return 0


def run(args):
    from ..errors import BadOptionError
    from ..training.bench import BenchSettings, loader_bench, run_bench

    if args.inference:
        return run_inference(args)
    if args.inference_path is not None:
        raise BadOptionError("--inference-path", "needs --inference")
    settings = BenchSettings(
        preset=args.preset,
        batch=args.batch,
        size=tuple(args.size) if args.size else None,
        steps=args.steps,
        warmup=args.warmup,
        device=args.device,
        precision=args.precision,
        compile=args.compile,
        cuda_graphs=args.cuda_graphs,
        mode=args.mode,
        data="synthetic" if args.loader_only else args.data,
        threads=args.threads,
        channels_last={"auto": None, "on": True, "off": False}[args.channels_last],
        workers=args.workers,
        peak_tflops=args.peak_tflops,
        count_flops=not args.no_flops,
    )
    result = loader_bench(settings) if args.loader_only else run_bench(settings)
    print(dumps_strict(result), flush=True)
    return 0
