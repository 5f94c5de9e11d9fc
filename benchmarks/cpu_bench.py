"""CPU benchmark: the training step in `reference` vs `fast` mode, in one process, interleaved.

Both variants are built from the same seed (same weights, same random batch) and their steps
alternate (ref, fast, ref, fast, ...) so that load from other processes on a shared machine
hits both alike; the JSON line per preset gives each mode's median step time and the ratio
reference / fast (> 1: fast is faster). The step timed is `guided_pix2pix.training.loop.optimizer_step`,
the training loop's own step (G forward, D phase and step, G phase and step).

    .venv/bin/python benchmarks/cpu_bench.py                      # the three presets, small sizes
    .venv/bin/python benchmarks/cpu_bench.py --preset pose --size 64 64 --batch 2 --reps 7

Prints one JSON line per preset: per variant the median wall time per step, its minimum, and the
median process CPU time per step (all threads; less sensitive to other processes' load), and the
speedup of each variant over the first by median wall time, by minimum wall time and by median
CPU time. On a shared machine the three can differ widely; report all three.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from guided_pix2pix.training.bench import (
    BenchSettings,
    bench_config,
    build_parts,
    count_step_flops,
    cpu_model,
    random_batch,
)
from guided_pix2pix.training.loop import optimizer_step
from guided_pix2pix.training.sampling import step_generator

# small CPU sizes: (H, W), batch; the models are the official ones (full width and depth)
CPU_SIZES = {"pose": ((64, 64), 2), "depth_x8": ((64, 80), 2), "texture": ((128, 128), 2)}


def compare(preset: str, size, batch: int, reps: int, warmup: int, threads: int, variants: list[str]) -> dict:
    torch.set_num_threads(threads)
    runs = {}
    for name in variants:
        mode, *flags = name.split("+")
        s = BenchSettings(
            preset=preset,
            size=tuple(size),
            batch=batch,
            mode=mode,
            channels_last="cl" in flags,
            compile="compile" in flags,
            count_flops=False,
        )
        cfg = bench_config(s)
        acc, parts = build_parts(cfg, s)
        if "2d" in flags:  # the D phase's two official calls instead of one stacked call
            parts.one_D_call = False
        runs[name] = (cfg, acc, parts, random_batch(cfg, s, acc.device), [], [])
    for step in range(warmup + reps):
        for cfg, acc, parts, data, times, cpu_times in runs.values():
            start, cpu_start = time.perf_counter(), time.process_time()
            optimizer_step(parts, [data], cfg.train, acc, step_generator(0, 0, step, 1))
            if step >= warmup:
                times.append(time.perf_counter() - start)
                cpu_times.append(time.process_time() - cpu_start)
    flops = count_step_flops(
        runs[variants[0]][0], BenchSettings(preset=preset, size=tuple(size), batch=batch)
    )
    med = {name: statistics.median(r[4]) for name, r in runs.items()}
    out = {
        "preset": preset,
        "size": list(size),
        "batch": batch,
        "threads": threads,
        "reps": reps,
        "cpu": cpu_model(),
        "torch": torch.__version__,
        "gflop_per_img": round(flops / batch / 1e9, 3),
    }
    for name in variants:
        out[f"ms_per_step_{name}"] = round(1e3 * med[name], 1)
        out[f"img_per_s_{name}"] = round(batch / med[name], 3)
        out[f"min_ms_{name}"] = round(1e3 * min(runs[name][4]), 1)
        out[f"cpu_s_per_step_{name}"] = round(statistics.median(runs[name][5]), 2)
    ref = variants[0]
    for name in variants[1:]:
        out[f"speedup_{name}_vs_{ref}"] = round(med[ref] / med[name], 3)
        out[f"speedup_min_{name}_vs_{ref}"] = round(min(runs[ref][4]) / min(runs[name][4]), 3)
        out[f"speedup_cpu_{name}_vs_{ref}"] = round(
            statistics.median(runs[ref][5]) / statistics.median(runs[name][5]), 3
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", choices=sorted(CPU_SIZES), action="append")
    ap.add_argument("--size", type=int, nargs=2, default=None)
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--variants",
        nargs="+",
        default=["reference", "fast"],
        help="modes to compare, the first is the baseline; flags after '+': 'cl' channels_last, "
        "'2d' the D phase in two calls (fast+2d: fast without the one-call D phase), 'compile' "
        "torch.compile of G and D (inductor; give --warmup >= 2, compilation is in the warm-up steps)",
    )
    args = ap.parse_args()
    for preset in args.preset or ["pose", "depth_x8", "texture"]:
        size, batch = CPU_SIZES[preset]
        result = compare(
            preset,
            args.size or size,
            args.batch or batch,
            args.reps,
            args.warmup,
            args.threads,
            args.variants,
        )
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
