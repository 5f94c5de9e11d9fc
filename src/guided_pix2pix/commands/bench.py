"""`guided-pix2pix bench --preset {pose,depth_x8,texture} [options]`: one JSON line of training speed.

Times the training loop's own step (`training.loop.optimizer_step`) on the preset's official model;
--batch and --size shrink the run for CPUs. See `guided_pix2pix.training.bench` for what each key means.
Strict JSON: a value that is not finite (an infinite peak, a rate over zero seconds) is ``null``.
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


def run(args):
    from ..training.bench import BenchSettings, loader_bench, run_bench

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
