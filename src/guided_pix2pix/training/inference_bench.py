"""Inference benchmark: one inference path of a preset's official generator against the
official forward, alternated in one run (``guided-pix2pix bench --inference``).

`run_inference_bench(InferenceSettings(...))` builds the preset's generator (the networks and
official sizes of `training.bench.BENCH_PRESETS`, fresh weights from `seed`) twice with the same
weights: the *reference* in the "reference" execution mode (the official op sequence, eager
float32: `Generator.set_execution_mode("reference")`) and the *candidate* through
`nn.inference.build_path` (`--inference-path`: a name of `nn.inference.INFERENCE_PATHS`, or
"auto", the path `translate` takes on the device). Both run in eval mode under
`torch.no_grad` on the same seeded random batch in [-1, 1] (batch 1 by default).

After `warmup` untimed calls of each (the candidate's build and warm-up calls are its
`setup_s`: export, compile, weight packing; never in `ms_per_img`), `steps` pairs are timed
alternately (reference, candidate, reference, candidate, ...), so that the load of a shared
machine falls on both. The JSON line has

  ms_per_img, reference_ms_per_img   median over the pairs of one call's wall time / batch
  speedup_vs_reference               median over the pairs of reference time / candidate time
  pairs                              every pair: [reference ms, candidate ms] per image
  peak_mem_mib, reference_peak_mem_mib
                                     CPU: peak resident memory (RSS, sampled every millisecond)
                                     during one more call of each, above the RSS before it
                                     (freed heap returned to the system first), `peak_mem_kind`
  max_abs_error                      largest |candidate - reference| over every candidate call
                                     (warm-up and timed); `within_tolerance`: <= `TOLERANCE`
  model_weights_mib                  the generator's float32 parameters; memory held before the
                                     calls (weights, prepacked copies: `packed_weights_mib`, an
                                     onnxruntime arena) is not in the peaks above
"""

from __future__ import annotations

import ctypes
import os
import statistics
import threading
import time
from dataclasses import dataclass

import torch

from ..data.base import check_size
from ..errors import BadOptionError
from ..nn.generator import Generator
from ..nn.inference import AUTO, INFERENCE_PATHS, TOLERANCE, build_path, max_abs_error, resolve_path
from ..nn.memory import check_forward_fits
from .bench import BENCH_PRESETS, check_backbone_size, cpu_model, image_size
from .config import load_config

MIN_PAIRS = 3  # the checks: medians of at least three alternated pairs
PATH_CHOICES = (AUTO, *INFERENCE_PATHS)


@dataclass
class InferenceSettings:
    """What `run_inference_bench` measures. size None: the preset's official size."""

    preset: str = "pose"
    path: str = AUTO
    batch: int = 1
    size: tuple[int, int] | None = None
    steps: int = 5  # alternated pairs
    warmup: int = 2
    threads: int | None = None
    device: str = "cpu"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.preset not in BENCH_PRESETS:
            raise BadOptionError(
                "--preset", f"unknown preset {self.preset!r}; choose from {', '.join(BENCH_PRESETS)}"
            )
        if self.device != "cpu":
            raise BadOptionError("--device", f"bench --inference measures the CPU, not {self.device!r}")
        resolve_path(self.path, self.device)  # unknown names refused before anything is built
        for option, value, low in (
            ("--batch", self.batch, 1),
            ("--steps", self.steps, MIN_PAIRS),
            ("--warmup", self.warmup, 0),
            ("--threads", self.threads, 1),
        ):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
                more = " (alternated pairs)" if option == "--steps" else ""
                raise BadOptionError(option, f"must be an integer >= {low}{more}, got {value!r}")
        if self.size is not None:
            if isinstance(self.size, int) or len(self.size) != 2:
                raise BadOptionError("--size", f"must be two positive integers H W, got {self.size!r}")
            self.size = check_size("--size", self.size, minimum=1)


def build_reference(s: InferenceSettings) -> Generator:
    """The preset's official generator (fresh weights from s.seed), eval and "reference" mode,
    after checking that the size suits its backbone and the forward fits in memory."""
    cfg = load_config(BENCH_PRESETS[s.preset]["config"], {})
    h, w = image_size(s)
    check_backbone_size(cfg.model, h, w)
    check_forward_fits(cfg.model, s.batch, h, w, torch.device(s.device), option="--batch")
    torch.manual_seed(s.seed)
    return Generator(cfg.model).eval().set_execution_mode("reference")


def random_inputs(model: Generator, s: InferenceSettings) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded (input, guide) in [-1, 1], float32 NCHW."""
    gen = torch.Generator().manual_seed(s.seed)
    h, w = image_size(s)
    cfg = model.config

    def make(c: int) -> torch.Tensor:
        return torch.rand(s.batch, c, h, w, generator=gen) * 2 - 1

    return make(cfg.input_nc), make(cfg.guide_nc)


# ----------------------------------------------------------------------------- memory
def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _trim_heap() -> None:
    """Return freed heap memory to the system (glibc), so that a call's RSS growth is its own."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def peak_rss_growth(fn) -> int | None:
    """Peak RSS during `fn()` above the RSS just before it (bytes; None without /proc)."""
    _trim_heap()
    base = _rss_bytes()
    if base is None:
        fn()
        return None
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            rss = _rss_bytes()
            if rss is not None and rss > peak[0]:
                peak[0] = rss
            done.wait(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        fn()
    finally:
        done.set()
        sampler.join()
    end = _rss_bytes()
    return max(0, max(peak[0], end or 0) - base)


# ----------------------------------------------------------------------------- measuring
def _mib(n: int | None) -> float | None:
    return None if n is None else round(n / 2**20, 1)


def run_inference_bench(s: InferenceSettings) -> dict:
    """Time `s.steps` alternated (reference, candidate) pairs; see the module docstring."""
    if s.threads is not None:
        torch.set_num_threads(s.threads)
    threads = torch.get_num_threads()
    resolved = resolve_path(s.path, s.device)
    reference = build_reference(s)
    x, g = random_inputs(reference, s)
    errors: list[float] = []
    with torch.no_grad():
        want = reference(x, g)
        for _ in range(max(0, s.warmup - 1)):  # the reference's warm-up calls (one was `want`)
            reference(x, g)

        start = time.perf_counter()
        runner = build_path(resolved, reference, x, g, threads)
        try:

            def candidate() -> torch.Tensor:
                out = runner.run(x, g)
                errors.append(max_abs_error(out, want))
                return out

            for _ in range(s.warmup):
                candidate()
            setup_s = time.perf_counter() - start

            pairs: list[tuple[float, float]] = []
            for _ in range(s.steps):
                t0 = time.perf_counter()
                reference(x, g)
                t1 = time.perf_counter()
                candidate()
                t2 = time.perf_counter()
                pairs.append((1e3 * (t1 - t0) / s.batch, 1e3 * (t2 - t1) / s.batch))

            reference_peak = peak_rss_growth(lambda: reference(x, g))
            candidate_peak = peak_rss_growth(candidate)
            more = runner.report() if runner.report is not None else {}
        finally:
            if runner.cleanup is not None:
                runner.cleanup()

    error = max(errors)
    h, w = image_size(s)
    return {
        "ms_per_img": round(statistics.median(c for _, c in pairs), 2),
        "reference_ms_per_img": round(statistics.median(r for r, _ in pairs), 2),
        "speedup_vs_reference": round(statistics.median(r / c for r, c in pairs), 3),
        "pairs": [[round(r, 2), round(c, 2)] for r, c in pairs],
        "pairs_order": "reference then candidate, ms per image",
        "peak_mem_mib": _mib(candidate_peak),
        "reference_peak_mem_mib": _mib(reference_peak),
        "peak_mem_kind": "cpu_rss_peak_growth_over_one_call",
        "max_abs_error": error,
        "tolerance": TOLERANCE,
        "within_tolerance": error <= TOLERANCE,
        "inference_path": s.path,
        "resolved_path": resolved,
        "reference": "eager fp32, execution mode reference",
        "setup_s": round(setup_s, 3),
        "setup": f"{runner.setup}; {s.warmup} warm-up call(s)",
        **runner.info,
        **more,
        "model_weights_mib": round(sum(4 * p.numel() for p in reference.parameters()) / 2**20, 1),
        "preset": s.preset,
        "batch": s.batch,
        "size": [h, w],
        "steps": s.steps,
        "warmup": s.warmup,
        "device": s.device,
        "device_name": cpu_model(),
        "threads": threads,
        "torch": torch.__version__,
    }
