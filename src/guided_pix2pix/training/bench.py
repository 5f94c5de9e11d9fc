"""Training-speed benchmark: time the real training step (`training.loop.optimizer_step`) of a preset.

`run_bench(BenchSettings(...))` builds the preset's generator (and discriminator when the
preset has a GAN loss), the optimisers and an Accelerate accelerator with `build_models` and
`prepare_parts`, as `training.loop.train` does, then times `optimizer_step` on either random tensors already on the device (`data =
"random"`) or batches from the preset's synthetic dataset through a DataLoader, moved to the
device and augmented by `data.transforms.augment_batch` (`data = "synthetic"`: the whole input pipeline).
It returns one flat dict (the JSON line of `guided-pix2pix bench`):

  img_per_s, ms_per_step   timed steps only (after `warmup` untimed steps), median-free: total
                           wall time / steps, the device synchronised before and after
  peak_mem_gib             CUDA: torch.cuda.max_memory_allocated over the timed steps;
                           CPU: growth of the process's peak RSS over the run (`peak_mem_kind`)
  gflop_per_img            FLOPs of one full training step (G fwd+bwd, D fwd+bwd on fake and
                           real, G's GAN term through D) counted by torch.utils.flop_counter
                           on the uncompiled models, divided by the batch size
  tflops, mfu              achieved TFLOP/s, and that over the device's peak (`peak_tflops`,
                           `peak_source`): the bf16 dense tensor-core peak for known GPUs (the
                           issue's definition), `--peak-tflops` for others, and for CPUs an
                           estimate from lscpu (threads x GHz x 32 fp32 FLOP/cycle: two 8-wide
                           FMA units), labelled as such

`loader_bench` measures the input pipeline alone (images per second of the DataLoader with a
given worker count, including the batch's move to the device and augmentation).
"""

from __future__ import annotations

import gc
import os
import resource
import time
from collections.abc import Iterator, Sized
from contextlib import nullcontext
from dataclasses import asdict, dataclass, replace
from typing import cast

import torch

from ..data.base import check_size
from ..data.synthetic_common import collate_items
from ..data.transforms import augment_batch
from ..errors import BadOptionError
from ..nn.backbones import BACKBONES
from ..nn.devices import resolve_device, to_device
from ..nn.generator import GeneratorConfig
from ..nn.memory import check_training_fits
from .config import RunConfig, load_config
from .loop import build_models, make_accelerator, optimizer_step, prepare_parts
from .sampling import StepBatchSampler, step_generator

# bench preset -> (config preset, synthetic dataset, its extra options, (H, W), batch): the official sizes
BENCH_PRESETS: dict[str, dict] = {
    "pose": {"config": "pose", "dataset": "synthetic_pose", "options": {}, "size": (256, 256), "batch": 8},
    "depth_x8": {
        "config": "depth_x8",
        "dataset": "synthetic_depth",
        "options": {"scale": 8, "protocol": "A"},
        "size": (480, 640),
        "batch": 2,
    },
    "texture": {
        "config": "texture",
        "dataset": "synthetic_texture",
        "options": {},
        "size": (128, 128),
        "batch": 256,
    },
}

# dense peak TFLOP/s by GPU name fragment (checked in order): {"bf16": tensor-core bf16, "tf32": ..., "fp32": FMA}
GPU_PEAK_TFLOPS: list[tuple[str, dict[str, float]]] = [
    ("H200", {"bf16": 989.4, "tf32": 494.7, "fp32": 66.9}),
    ("H100 PCIe", {"bf16": 756.5, "tf32": 378.0, "fp32": 51.2}),
    ("H100", {"bf16": 989.4, "tf32": 494.7, "fp32": 66.9}),  # SXM
    ("A100", {"bf16": 312.0, "tf32": 156.0, "fp32": 19.5}),
]
CPU_FLOP_PER_CYCLE = 32  # fp32, two 256-bit FMA units (AVX2: Zen 2-4, Skylake client)

MODES = ("fast", "reference")
PRECISIONS = ("fp32", "bf16")
DATA = ("synthetic", "random")
DEVICES = ("cpu", "cuda")


@dataclass
class BenchSettings:
    """What `run_bench` measures. batch / size None: the preset's official values."""

    preset: str = "pose"
    batch: int | None = None
    size: tuple[int, int] | None = None
    steps: int = 5
    warmup: int = 2
    device: str = "cpu"
    precision: str = "fp32"
    compile: bool = False
    mode: str = "fast"
    data: str = "random"
    threads: int | None = None
    channels_last: bool | None = None  # None: on for CUDA fast mode, off otherwise (measured: no gain on CPU)
    cuda_graphs: bool = False  # static-shape capture of the compiled models ("reduce-overhead")
    workers: int | None = None  # DataLoader workers for --data synthetic; None: recommended_workers(device)
    peak_tflops: float | None = None
    count_flops: bool = True
    seed: int = 0

    def __post_init__(self):
        if self.preset not in BENCH_PRESETS:
            raise BadOptionError(
                "--preset", f"unknown preset {self.preset!r}; choose from {', '.join(BENCH_PRESETS)}"
            )
        for option, value, allowed in (
            ("--mode", self.mode, MODES),
            ("--precision", self.precision, PRECISIONS),
            ("--data", self.data, DATA),
            ("--device", self.device, DEVICES),
        ):
            if value not in allowed:
                raise BadOptionError(option, f"must be one of {', '.join(allowed)}, got {value!r}")
        for option, value, low in (
            ("--batch", self.batch, 1),
            ("--steps", self.steps, 1),
            ("--warmup", self.warmup, 0),
            ("--threads", self.threads, 1),
            ("--workers", self.workers, 0),
        ):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
                raise BadOptionError(option, f"must be an integer >= {low}, got {value!r}")
        if self.size is not None:  # at most MAX_PIXELS, as every image (before any allocation)
            if isinstance(self.size, int) or len(self.size) != 2:
                raise BadOptionError("--size", f"must be two positive integers H W, got {self.size!r}")
            self.size = check_size("--size", self.size, minimum=1)
        if self.peak_tflops is not None and not self.peak_tflops > 0:
            raise BadOptionError("--peak-tflops", f"must be > 0, got {self.peak_tflops!r}")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise BadOptionError(
                "--device", "cuda requested but torch.cuda.is_available() is False on this machine"
            )
        if self.cuda_graphs and not (self.device == "cuda" and self.compile):
            raise BadOptionError("--cuda-graphs", "needs --device cuda and --compile")


def recommended_workers(device: str) -> int:
    """DataLoader workers the docs recommend: on CUDA one per free core up to 8 (the loader
    must stay ahead of the GPU); on CPU none (workers would take cores from the training step)."""
    if device != "cuda":
        return 0
    return max(1, min(8, (os.cpu_count() or 2) - 1))


# ----------------------------------------------------------------------------- building the parts
def bench_config(s: BenchSettings) -> RunConfig:
    """The preset's run config with the benchmark's batch, precision, layout and compile settings."""
    p = BENCH_PRESETS[s.preset]
    channels_last = (s.device == "cuda" and s.mode == "fast") if s.channels_last is None else s.channels_last
    train = {
        "batch_size": s.batch or p["batch"],
        "precision": s.precision,
        "compile": s.compile,
        "channels_last": channels_last,
        "grad_accum": 1,
    }
    return load_config(p["config"], {"train": train})


def image_size(s) -> tuple[int, int]:
    """The (H, W) a benchmark runs at: its ``size``, else its ``preset``'s official one (training
    and inference settings alike)."""
    return s.size or BENCH_PRESETS[s.preset]["size"]


def check_backbone_size(model: GeneratorConfig, h: int, w: int) -> None:
    """BadOptionError naming --size unless the model's backbone takes h x w images (checked
    before anything is built)."""
    multiple, minimum, rule = BACKBONES[model.backbone].size_rule(model)
    if h % multiple or w % multiple or h < minimum or w < minimum:
        raise BadOptionError(
            "--size",
            f"image size {h}x{w} not supported by the {model.backbone} backbone: H and W must be {rule}",
        )


def check_bench_size(cfg: RunConfig, s: BenchSettings) -> None:
    """The benchmark's image size is one the preset's backbone takes (before anything is built)."""
    h, w = image_size(s)
    check_backbone_size(cfg.model, h, w)
    # the same memory bound as train, named by bench's own option
    check_training_fits(cfg.model, cfg.train.batch_size, h, w, resolve_device(s.device), option="--batch")


def build_parts(cfg: RunConfig, s: BenchSettings):
    """(accelerator, TrainingParts) as `training.loop.train` builds them (fresh weights, seed s.seed)."""
    accelerator = make_accelerator(cpu=s.device == "cpu", precision=s.precision)
    G, D, opt_G, opt_D = build_models(cfg, mode=s.mode, seed=s.seed)
    compile_mode = "reduce-overhead" if s.cuda_graphs else None
    return accelerator, prepare_parts(cfg, accelerator, G, D, opt_G, opt_D, compile_mode=compile_mode)


def random_batch(cfg: RunConfig, s: BenchSettings, device) -> dict:
    """Random tensors in [-1, 1] shaped as the preset's items, already on the device."""
    n = cfg.train.batch_size
    h, w = image_size(s)
    m = cfg.model
    gen = torch.Generator().manual_seed(s.seed)

    def make(c):
        return (torch.rand(n, c, h, w, generator=gen) * 2 - 1).to(device)

    return {"input": make(m.input_nc), "guide": make(m.guide_nc), "target": make(m.output_nc)}


def synthetic_loader(cfg: RunConfig, s: BenchSettings, n_batches: int, workers: int):
    """A DataLoader over the preset's synthetic task at the benchmark size, ordered by the
    training loop's StepBatchSampler, `n_batches` batches long."""
    from ..data import build_dataset

    p = BENCH_PRESETS[s.preset]
    batch = cfg.train.batch_size
    dataset = build_dataset(
        p["dataset"],
        split="train",
        size=list(image_size(s)),
        count=batch * n_batches,
        seed=s.seed,
        **p["options"],
    )
    # cast(Sized, ...): torch's Dataset stub has no __len__; our datasets define it
    sampler = StepBatchSampler(len(cast(Sized, dataset)), batch, 1, 0, s.seed, 0, n_batches)
    return torch.utils.data.DataLoader(
        dataset,
        batch_sampler=sampler,
        collate_fn=collate_items,
        num_workers=workers,
        pin_memory=s.device == "cuda",
        persistent_workers=False,
        prefetch_factor=4 if workers > 0 else None,
    )


# ----------------------------------------------------------------------------- measuring
def _sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def count_step_flops(cfg: RunConfig, s: BenchSettings) -> int:
    """FLOPs of one training step (`optimizer_step` on a random batch), on fresh uncompiled models."""
    from torch.utils.flop_counter import FlopCounterMode

    s_plain = BenchSettings(**{**asdict(s), "compile": False, "cuda_graphs": False, "count_flops": False})
    cfg_plain = replace(cfg, train=replace(cfg.train, compile=False))
    accelerator, parts = build_parts(cfg_plain, s_plain)
    batch = random_batch(cfg_plain, s_plain, accelerator.device)
    counter = FlopCounterMode(display=False)
    with counter:
        optimizer_step(parts, [batch], cfg_plain.train, accelerator, torch.Generator().manual_seed(0))
    accelerator.free_memory()  # drop the accelerator's references to these models before timing
    del parts, batch, accelerator
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return int(counter.get_total_flops())


def device_peak_tflops(s: BenchSettings, device) -> tuple[float | None, str]:
    """(peak TFLOP/s, where it comes from) for the MFU denominator."""
    if s.peak_tflops is not None:
        return s.peak_tflops, "--peak-tflops"
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for fragment, peaks in GPU_PEAK_TFLOPS:
            if fragment in name:
                return peaks["bf16"], f"table: {fragment} dense bf16 tensor-core peak"
        return None, f"unknown GPU {name!r}: give --peak-tflops"
    ghz = _cpu_ghz()
    if ghz is None:
        return None, "CPU clock unknown: give --peak-tflops"
    threads = torch.get_num_threads()
    peak = threads * ghz * CPU_FLOP_PER_CYCLE / 1e3
    return peak, f"estimate: {threads} threads x {ghz:.2f} GHz x {CPU_FLOP_PER_CYCLE} fp32 FLOP/cycle"


def _cpu_ghz() -> float | None:
    try:
        text = open("/proc/cpuinfo").read()
    except OSError:
        return None
    for key in ("cpu MHz", "bogomips"):
        for line in text.splitlines():
            if line.lower().startswith(key.lower()):
                value = float(line.split(":")[1])
                return value / 1e3 if key == "cpu MHz" else value / 2e3
    return None


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown"


def device_name(device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model()


def _sig(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else float(f"{value:.{digits}g}")


def run_bench(s: BenchSettings) -> dict:
    """Time `s.steps` training steps after `s.warmup` untimed ones; see the module docstring."""
    if s.threads is not None:
        torch.set_num_threads(s.threads)
    cfg = bench_config(s)
    check_bench_size(cfg, s)
    t = cfg.train
    accelerator, parts = build_parts(cfg, s)
    device = accelerator.device
    total = s.warmup + s.steps
    workers = recommended_workers(s.device) if s.workers is None else s.workers
    batches: Iterator[dict] | None  # None after the timed steps (released)
    if s.data == "random":
        fixed = random_batch(cfg, s, device)
        batches = iter(lambda: fixed, None)
    else:
        batches = iter(synthetic_loader(cfg, s, total, workers))

    def one_step(step: int) -> None:
        assert batches is not None  # released only after the last step
        batch = next(batches)
        if s.data == "synthetic":
            batch = augment_batch(
                to_device(batch, device), step_generator(s.seed, 0, step, 0), t.flip, t.crop
            )
        optimizer_step(parts, [batch], t, accelerator, step_generator(s.seed, 0, step, 1))

    for step in range(s.warmup):
        one_step(step)
    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        base = 0
    else:
        base = _rss_bytes()
    start = time.perf_counter()
    for step in range(s.warmup, total):
        one_step(step)
    _sync(device)
    elapsed = time.perf_counter() - start
    if device.type == "cuda":
        peak, peak_kind = torch.cuda.max_memory_allocated(device), "cuda_max_memory_allocated"
    else:
        peak, peak_kind = max(0, _peak_rss_bytes() - base), "cpu_peak_rss_growth_over_timed_steps"
    parts = batches = None  # release the timed models before the FLOP count
    accelerator.free_memory()
    flops = count_step_flops(cfg, s) if s.count_flops else None  # after timing: not in the peak

    n = t.batch_size
    img_per_s = n * s.steps / elapsed
    peak_tflops, peak_source = device_peak_tflops(s, device)
    gflop_per_img = flops / n / 1e9 if flops is not None else None
    tflops = gflop_per_img * img_per_s / 1e3 if gflop_per_img is not None else None
    h, w = image_size(s)
    return {
        "img_per_s": round(img_per_s, 3),
        "ms_per_step": round(1e3 * elapsed / s.steps, 2),
        "peak_mem_gib": round(peak / 2**30, 3),
        "peak_mem_kind": peak_kind,
        "gflop_per_img": round(gflop_per_img, 3) if gflop_per_img is not None else None,
        "tflops": _sig(tflops),
        "mfu": _sig(tflops / peak_tflops) if (tflops is not None and peak_tflops) else None,
        "peak_tflops": _sig(peak_tflops) if peak_tflops else None,
        "peak_source": peak_source,
        "preset": s.preset,
        "batch": n,
        "size": [h, w],
        "steps": s.steps,
        "warmup": s.warmup,
        "device": s.device,
        "device_name": device_name(device),
        "threads": torch.get_num_threads(),
        "precision": s.precision,
        "compile": s.compile,
        "cuda_graphs": s.cuda_graphs,
        "channels_last": t.channels_last,
        "mode": s.mode,
        "data": s.data,
        "workers": workers if s.data == "synthetic" else None,
        "lambda_gan": t.lambda_gan,
        "torch": torch.__version__,
    }


def loader_bench(s: BenchSettings, batches: int | None = None) -> dict:
    """Images per second of the input pipeline alone: the synthetic DataLoader with `s.workers`
    (default: the recommended count), each batch moved to the device and augmented."""
    if s.threads is not None:
        torch.set_num_threads(s.threads)
    cfg = bench_config(s)
    t = cfg.train
    device = torch.device("cuda" if s.device == "cuda" else "cpu")
    workers = recommended_workers(s.device) if s.workers is None else s.workers
    n_batches = batches or (s.warmup + s.steps)
    it = iter(synthetic_loader(cfg, s, n_batches, workers))
    for _ in range(min(s.warmup, n_batches - 1)):  # worker start-up is not the steady state
        next(it)
    skipped = min(s.warmup, n_batches - 1)
    _sync(device)
    start = time.perf_counter()
    count = 0
    for step in range(skipped, n_batches):
        batch = augment_batch(to_device(next(it), device), step_generator(s.seed, 0, step, 0), t.flip, t.crop)
        count += batch["input"].shape[0]
    _sync(device)
    elapsed = time.perf_counter() - start
    h, w = image_size(s)
    return {
        "loader_img_per_s": round(count / elapsed, 3),
        "workers": workers,
        "batches": n_batches - skipped,
        "preset": s.preset,
        "batch": t.batch_size,
        "size": [h, w],
        "device": s.device,
        "device_name": device_name(device),
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
    }


def profile_step(s: BenchSettings, row_limit: int = 25, sort_by: str | None = None) -> str:
    """torch.profiler table (self time per op) over `s.steps` training steps after warm-up."""
    from torch.profiler import ProfilerActivity, profile

    if s.threads is not None:
        torch.set_num_threads(s.threads)
    cfg = bench_config(s)
    accelerator, parts = build_parts(cfg, s)
    batch = random_batch(cfg, s, accelerator.device)
    t = cfg.train
    for step in range(s.warmup):
        optimizer_step(parts, [batch], t, accelerator, step_generator(0, 0, step, 1))
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if s.device == "cuda" else [])
    with profile(activities=activities) as prof, nullcontext():
        for step in range(s.steps):
            optimizer_step(parts, [batch], t, accelerator, step_generator(0, 0, step, 1))
        _sync(accelerator.device)
    key = sort_by or ("self_cuda_time_total" if s.device == "cuda" else "self_cpu_time_total")
    return prof.key_averages().table(sort_by=key, row_limit=row_limit)
