"""The training loop: `train(cfg, out_dir)`, one function that reads top to bottom.

It runs on Hugging Face Accelerate, so the same code trains on one CPU, one GPU, several GPUs
and several nodes (`accelerate launch` or `torchrun`). Each optimiser step follows the
official Guided-pix2pix model: G forward, then the D phase (D on the fake from the pool and on
the real triplet, loss 0.5 * (fake + real), D step), then the G phase with D frozen (GAN loss
on the new D plus lambda_l1 * L1 (+ lambda_l2 * squared error), G step). With `lambda_gan = 0` (the official depth recipe)
there is no discriminator and the G phase is L1 only.

Determinism and exact resume: the order of items is a function of (seed, epoch), random
flips/crops and the fake pool's draws are functions of (seed, rank, step), and everything else
that changes during training is in the checkpoint. A rerun of the same command continues from
the newest checkpoint that passes its checksum and reproduces an uninterrupted run's losses.

Stops: SIGTERM or SIGINT during the loop (a cluster scheduler's preemption, Ctrl-C) is
remembered and acted on when the current step ends: a checkpoint of that step is written (as
any other, atomically) and the run raises `Interrupted` (exit status 143 / 130 on the command
line, one line naming the checkpoint). One writer per run folder: the main process holds
`run_folder.RunFolderLock` from before the first write to the end.

`build_models` and `prepare_parts` are the one way to set up what a step needs; the training
benchmark (`training.bench`) uses them too, so it times the step that training runs.
"""

from __future__ import annotations

import hashlib
import json
import signal
import sys
import threading
import time
import warnings
from collections.abc import Sized
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import torch
import torch.nn.functional as F

from ..data.synthetic_common import collate_items
from ..data.transforms import augment_batch
from ..data.visualize import comparison_grid
from ..errors import BadFileError, BadOptionError, Interrupted, UserError
from ..files.atomic import write_text_atomic
from ..nn.devices import to_device
from ..nn.discriminator import Discriminator
from ..nn.generator import Generator, load_state_strict
from ..nn.losses import GANLoss, make_gan_loss
from ..nn.memory import check_training_fits
from .checkpoint import (
    GAN_STATE,
    REQUIRED_STATE,
    STATE,
    checkpoint_dir,
    load_latest_checkpoint,
    save_checkpoint,
)
from .checks import check_channels, check_image_sizes
from .config import RunConfig, TrainSection, as_run_config
from .run_folder import (
    CHECKPOINTS,
    CONFIG_FILE,
    GENERATOR_DIR,
    METRICS_FILE,
    SUMMARY_FILE,
    MetricsLog,
    RunFolderLock,
    prepare_run_folder,
    run_identity,
)
from .sampling import FakePool, StepBatchSampler, step_generator
from .schedules import LR_POLICIES, apply_configured_lr
from .validation import validate


class TrainingDiverged(UserError):
    """Too many consecutive non-finite losses."""


class StopSignals:
    """While entered: SIGTERM and SIGINT set `signum` instead of ending the process, so that the
    loop can finish its step, write a checkpoint and stop (`requested`). Only the main thread
    can take signals; elsewhere (a library caller's thread) this does nothing."""

    EXIT_CODES: dict[int, int] = {int(signal.SIGTERM): 143, int(signal.SIGINT): 130}

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in self.EXIT_CODES:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.signum = signum

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def requested(self, accelerator) -> bool:
        """True on every process if any process got a stop signal (all stop at the same step)."""
        if accelerator.num_processes == 1:
            return self.signum is not None
        flag = torch.tensor([0 if self.signum is None else self.signum], device=accelerator.device)
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
        if flag.item() and self.signum is None:
            self.signum = int(flag.item())
        return bool(flag.item())


# ----------------------------------------------------------------------------- set-up
def make_accelerator(cpu: bool, precision: str):
    """An Accelerator for one run: `precision` "fp32" or "bf16" (autocast), `cpu` to stay off GPUs.

    Accelerate keeps one process-wide state; the precision of an earlier run in this process
    is forgotten (the distributed set-up, PartialState, is kept) so that each run gets its own."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state()
    return Accelerator(cpu=cpu, mixed_precision="bf16" if precision == "bf16" else "no")


def build_models(cfg: RunConfig, mode: str = "fast", seed: int | None = None):
    """(G, D, opt_G, opt_D) for a run config, seeded by `seed` (default train.seed); D and opt_D
    are None without a GAN loss (train.lambda_gan = 0).

    mode: the generator's execution mode. In "fast" mode Adam runs as one fused kernel per
    model (torch's fused=True: the same update in far fewer passes over memory); "reference"
    keeps the per-parameter loop the official PyTorch 0.4 code ran.
    """
    t = cfg.train
    torch.manual_seed(t.seed if seed is None else seed)
    G = Generator(cfg.model).set_execution_mode(mode)
    D = Discriminator(cfg.discriminator_config()) if t.lambda_gan > 0 else None
    adam: dict = {"lr": t.lr, "betas": (t.beta1, t.beta2)}
    adam |= {"fused": True} if mode == "fast" else {"foreach": False}
    opt_G = torch.optim.Adam(G.parameters(), **adam)
    opt_D = torch.optim.Adam(D.parameters(), **adam) if D is not None else None
    return G, D, opt_G, opt_D


@dataclass
class TrainingParts:
    """What one optimiser step needs: models (as prepared by Accelerate), optimisers, loss, pool.

    `G`/`D` are the (possibly DDP-wrapped) models and `G_raw`/`D_raw` the bare ones (for
    checkpoints); `D_frozen` is the bare discriminator used in the G phase, where it gets no
    gradient and must not take part in DDP's gradient reduction. `*_run` are what the step
    calls: the same models, or their `torch.compile` versions."""

    G: torch.nn.Module
    D: torch.nn.Module | None
    opt_G: torch.optim.Optimizer
    opt_D: torch.optim.Optimizer | None
    gan_loss: GANLoss
    pool: FakePool
    G_raw: Generator
    D_raw: Discriminator | None
    G_run: torch.nn.Module
    D_run: torch.nn.Module | None
    D_frozen_run: torch.nn.Module | None
    channels_last: bool
    one_D_call: bool = False  # D phase: fake and real triplets in one call (`per_sample_discriminator`)

    @property
    def D_frozen(self) -> Discriminator | None:
        return self.D_raw


def prepare_parts(
    cfg: RunConfig, accelerator, G, D, opt_G, opt_D, compile_mode: str | None = None
) -> TrainingParts:
    """Lay out, prepare (Accelerate: device, DDP) and optionally compile the models of `build_models`.

    compile_mode: with train.compile, torch.compile's mode (None: its default; "reduce-overhead":
    CUDA graphs)."""
    t = cfg.train
    if t.channels_last:
        G = G.to(memory_format=torch.channels_last)
        D = D.to(memory_format=torch.channels_last) if D is not None else None
    if D is not None:
        G, D, opt_G, opt_D = accelerator.prepare(G, D, opt_G, opt_D)
    else:
        G, opt_G = accelerator.prepare(G, opt_G)
    G_raw = accelerator.unwrap_model(G)
    D_raw = accelerator.unwrap_model(D) if D is not None else None

    def run(model):
        if model is None or not t.compile:
            return model
        return torch.compile(model, mode=compile_mode)

    return TrainingParts(
        G=G,
        D=D,
        opt_G=opt_G,
        opt_D=opt_D,
        gan_loss=make_gan_loss(t.gan_mode),
        pool=FakePool(t.pool_size),
        G_raw=G_raw,
        D_raw=D_raw,
        G_run=run(G),
        D_run=run(D),
        D_frozen_run=run(D_raw),
        channels_last=t.channels_last,
        one_D_call=G_raw.execution_mode == "fast" and per_sample_discriminator(D_raw),
    )


def per_sample_discriminator(D: Discriminator | None) -> bool:
    """Whether D scores each sample on its own (instance norm or none): then one call on fake and
    real stacked along the batch gives exactly the two calls' scores. Batch norm mixes the
    samples, so with it (the official default) the D phase keeps two calls."""
    return D is not None and D.config.norm != "batch"


# ----------------------------------------------------------------------------- one step
@dataclass
class StepResult:
    """One optimiser step: the mean losses over its micro-batches, the generator's output for the
    last micro-batch (detached), and whether the optimisers stepped (all losses finite)."""

    losses: dict[str, float]
    fake: torch.Tensor
    stepped: bool


def _set_requires_grad(model, flag: bool) -> None:
    if model is not None:
        for p in model.parameters():
            p.requires_grad_(flag)


def _all_finite(accelerator, finite: bool) -> bool:
    """True only if the loss was finite on every process (so all skip or all step together)."""
    if accelerator.num_processes == 1:
        return finite
    flag = torch.tensor([0.0 if finite else 1.0], device=accelerator.device)
    return accelerator.reduce(flag, reduction="sum").item() == 0


def optimizer_step(
    parts: TrainingParts, micro_batches: list[dict], t: TrainSection, accelerator, pool_rng
) -> StepResult:
    """One optimiser step over `micro_batches` (gradient accumulation).

    Per micro-batch: G forward; D phase (pooled fake and real triplets, 0.5 * (fake + real));
    after the last micro-batch the D step; then the G phase against the updated D, as the
    official model orders it (with accumulation, earlier micro-batches see D before its step).
    A non-finite loss on any process skips the whole step on every process."""
    p = parts
    n_micro = len(micro_batches)
    use_gan = p.D is not None
    values: dict[str, float] = {}
    bad = False

    def add(name, loss):
        values[name] = values.get(name, 0.0) + loss.item() / n_micro

    memory_format = torch.channels_last if p.channels_last else torch.contiguous_format
    for micro, batch in enumerate(micro_batches):
        last = micro == n_micro - 1
        real_in = batch["input"].contiguous(memory_format=memory_format)
        guide = batch["guide"].contiguous(memory_format=memory_format)
        target = batch["target"].contiguous(memory_format=memory_format)
        with nullcontext() if last else accelerator.no_sync(p.G), accelerator.autocast():
            fake = p.G_run(real_in, guide)

            # D phase
            if use_gan:
                _set_requires_grad(p.D_frozen, True)
                fake_triplet = p.pool.query(
                    torch.cat([real_in, guide, fake], 1), pool_rng
                )  # (N, Ci+Cg+Co, H, W)
                real_triplet = torch.cat([real_in, guide, target], 1)
                assert p.D_run is not None  # use_gan: D was built, so was D_run
                if p.one_D_call:  # fake and real in one batch: the same scores, one pass through D
                    n = fake_triplet.shape[0]
                    with nullcontext() if last else accelerator.no_sync(p.D):
                        scores = p.D_run(torch.cat([fake_triplet.detach(), real_triplet], 0))
                        loss_D_fake = p.gan_loss(scores[:n], real=False)
                        loss_D_real = p.gan_loss(scores[n:], real=True)
                        loss_D = 0.5 * (loss_D_fake + loss_D_real)
                        if torch.isfinite(loss_D):
                            accelerator.backward(loss_D / n_micro)
                else:  # the official order: two calls, two backward passes
                    with accelerator.no_sync(p.D):
                        loss_D_fake = p.gan_loss(p.D_run(fake_triplet.detach()), real=False)
                        if torch.isfinite(loss_D_fake):
                            accelerator.backward(0.5 * loss_D_fake / n_micro)
                    with nullcontext() if last else accelerator.no_sync(p.D):
                        loss_D_real = p.gan_loss(p.D_run(real_triplet), real=True)
                        if torch.isfinite(loss_D_real):
                            accelerator.backward(0.5 * loss_D_real / n_micro)
                    loss_D = 0.5 * (loss_D_fake + loss_D_real)
                add("loss_D", loss_D)
                bad |= not bool(torch.isfinite(loss_D))
                if last:
                    assert p.opt_D is not None  # built with D
                    if _all_finite(accelerator, not bad):
                        p.opt_D.step()
                    p.opt_D.zero_grad(set_to_none=True)

            # G phase: D frozen
            loss_G_L1 = F.l1_loss(fake.float(), target.float()) * t.lambda_l1
            loss_G = loss_G_L1
            add("loss_G_L1", loss_G_L1)
            if t.lambda_l2 > 0:
                loss_G_L2 = F.mse_loss(fake.float(), target.float()) * t.lambda_l2
                loss_G = loss_G + loss_G_L2
                add("loss_G_L2", loss_G_L2)
            if use_gan:
                _set_requires_grad(p.D_frozen, False)
                assert p.D_frozen_run is not None  # use_gan: built from D_raw
                scores = p.D_frozen_run(torch.cat([real_in, guide, fake], 1))
                loss_G_GAN = p.gan_loss(scores, real=True, for_discriminator=False)
                loss_G = loss_G + t.lambda_gan * loss_G_GAN
                add("loss_G_GAN", loss_G_GAN)
            add("loss_G", loss_G)
            finite_G = bool(torch.isfinite(loss_G))
            bad |= not finite_G
            if finite_G:
                accelerator.backward(loss_G / n_micro)
    stepped = _all_finite(accelerator, not bad)
    if stepped:
        p.opt_G.step()
    p.opt_G.zero_grad(set_to_none=True)
    return StepResult(losses=values, fake=fake.detach(), stepped=stepped)


# ----------------------------------------------------------------------------- checkpoints
def training_state(step: int, parts: TrainingParts, sched_G, sched_D, counters: dict) -> dict:
    """Everything a resumed run needs, as tensors and plain containers (weights_only-loadable)."""
    p = parts
    state = {
        "step": step,
        "G": p.G_raw.state_dict(),
        "opt_G": p.opt_G.state_dict(),
        "sched_G": sched_G.state_dict(),
    }
    state.update(counters)
    if p.D_raw is not None:
        assert p.opt_D is not None  # built with D
        state.update(
            D=p.D_raw.state_dict(),
            opt_D=p.opt_D.state_dict(),
            sched_D=sched_D.state_dict(),
            pool=p.pool.state_dict(),
        )
    return state


def _save(
    accelerator, root: Path, step: int, state: dict, generator: Generator, keep_last: int, run: str
) -> None:
    """Checkpoint `step` from the main process (its meta.json records the run's identity `run`);
    every process waits for it."""
    if accelerator.is_main_process:
        try:
            save_checkpoint(root, step, state, generator, keep_last, run=run)
        except OSError as exc:
            raise BadFileError(
                root, f"checkpoint write failed at step {step} ({exc.strerror or exc})"
            ) from exc
    accelerator.wait_for_everyone()


def _card_info(cfg: RunConfig, steps: int, out_dir: Path) -> dict:
    """What the finished generator's model card says: task, data, steps, the run config, and the
    last validation scores of metrics.jsonl (synthetic or whatever the run validated on)."""
    from ..data import DATASETS

    last_val: dict = {}
    path = out_dir / METRICS_FILE
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and any(str(k).startswith("val/") for k in record):
                last_val = {k: v for k, v in record.items() if str(k).startswith("val/")}
    val_name, _ = cfg.data.validation_source()
    return {
        "task": getattr(DATASETS.get(cfg.data.dataset), "task", None),
        "training": {
            "dataset": cfg.data.dataset,
            "options": cfg.data.options,
            "steps": steps,
            "config_file": f"{CONFIG_FILE} of the run folder (the whole run config)",
        },
        "metrics": last_val,
        "protocol": f"the run's last validation ({val_name}, split val, at most {cfg.data.val_max_items} items)"
        if last_val
        else None,
    }


def _weights_digest(model: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


# ----------------------------------------------------------------------------- training
def train(cfg: RunConfig | dict, out_dir: str | Path, progress: bool = True) -> dict:
    """Train (or resume) the run described by `cfg` in `out_dir`; returns a summary dict.

    cfg: a `RunConfig` (`training.config.load_config`) or a nested mapping of one."""
    from accelerate.utils import gather_object
    from tqdm.auto import tqdm

    from ..data import build_dataset

    cfg = as_run_config(cfg)
    identity = run_identity(cfg)
    out_dir = Path(out_dir)
    t, d = cfg.train, cfg.data
    accelerator = make_accelerator(cpu=t.device == "cpu", precision=t.precision)
    device, rank, world = accelerator.device, accelerator.process_index, accelerator.num_processes
    main = accelerator.is_main_process

    # --- data, checked against the model before anything is written ---
    train_set = build_dataset(d.dataset, split="train", **d.options)
    check_channels(train_set, cfg.model, d.dataset)
    height, width = check_image_sizes(train_set, cfg.model, t.crop, d.dataset)
    check_training_fits(cfg.model, t.batch_size, height, width, device)  # large batches only
    task = getattr(train_set, "task", "generic")
    micro_per_step = t.grad_accum
    global_batch = t.batch_size * world
    # cast(Sized, ...): torch's Dataset stub has no __len__; our datasets define it
    steps_per_epoch = len(cast(Sized, train_set)) // (global_batch * micro_per_step)
    if steps_per_epoch < 1:
        raise BadOptionError(
            "train.batch_size",
            f"dataset {d.dataset!r} has {len(cast(Sized, train_set))} items, fewer than one step "
            f"({t.batch_size} x {world} processes x {micro_per_step} accumulation)",
        )
    max_steps = t.max_steps or (t.niter + t.niter_decay) * steps_per_epoch

    with ExitStack() as held:  # released however train() ends
        # --- one writer per run folder (the main process writes it), taken before any write ---
        if main:
            held.enter_context(RunFolderLock(out_dir))
        # --- the run folder: writable, and the same run if it exists ---
        if main:
            prepare_run_folder(out_dir, cfg)
        accelerator.wait_for_everyone()

        # --- models, optimisers, schedules (same seed on every process: same initial weights) ---
        G, D, opt_G, opt_D = build_models(cfg)
        use_gan = D is not None
        factor = LR_POLICIES[t.lr_policy](t, steps_per_epoch, max_steps)
        sched_G = torch.optim.lr_scheduler.LambdaLR(opt_G, factor)
        sched_D = torch.optim.lr_scheduler.LambdaLR(opt_D, factor) if use_gan else None

        # --- resume from the newest good checkpoint (before Accelerate wraps the models) ---
        start_step, bad_streak, bad_total = 0, 0, 0
        pool_state = None
        found = load_latest_checkpoint(
            out_dir / CHECKPOINTS,
            log=(lambda m: accelerator.print(m, file=sys.stderr)),
            required=REQUIRED_STATE + (GAN_STATE if use_gan else ()),
        )
        if found is not None:
            folder, state = found
            state_path = folder / STATE
            # the model must fit the checkpoint: one line naming the tensor and both shapes
            load_state_strict(G, state["G"], state_path)
            if use_gan:
                load_state_strict(D, state["D"], state_path)
            try:
                opt_G.load_state_dict(state["opt_G"])
                sched_G.load_state_dict(state["sched_G"])
                if use_gan:
                    assert opt_D is not None and sched_D is not None  # use_gan
                    opt_D.load_state_dict(state["opt_D"])
                    sched_D.load_state_dict(state["sched_D"])
            except (ValueError, KeyError, TypeError, RuntimeError) as exc:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise BadFileError(
                    state_path, f"optimiser or schedule state does not fit this run ({reason})"
                ) from exc
            pool_state = state["pool"] if use_gan else None
            start_step, bad_streak, bad_total = state["step"], state["bad_streak"], state["bad_total"]
            accelerator.print(f"resuming from {folder} at step {start_step + 1}")
            previous_lr = apply_configured_lr(t.lr, factor, start_step, [(opt_G, sched_G), (opt_D, sched_D)])
            if previous_lr is not None:  # e.g. rerun with a lower train.lr after a divergence
                accelerator.print(f"train.lr changed on resume: {previous_lr:g} -> {t.lr:g}")
        parts = prepare_parts(cfg, accelerator, G, D, opt_G, opt_D)
        if pool_state is not None:
            parts.pool.load_state_dict(pool_state)

        sampler = StepBatchSampler(
            len(cast(Sized, train_set)),
            t.batch_size,
            world,
            rank,
            t.seed,
            start_step * micro_per_step,
            max_steps * micro_per_step,
        )
        loader = torch.utils.data.DataLoader(
            train_set,
            batch_sampler=sampler,
            collate_fn=collate_items,
            num_workers=d.num_workers,
            pin_memory=device.type == "cuda",
            persistent_workers=False,
        )
        val_loader = None
        if main and t.val_every:
            val_name, val_options = d.validation_source()
            val_set = build_dataset(val_name, split="val", **val_options)
            val_set = torch.utils.data.Subset(val_set, range(min(len(cast(Sized, val_set)), d.val_max_items)))
            val_loader = torch.utils.data.DataLoader(
                val_set, batch_size=t.batch_size, num_workers=0, collate_fn=collate_items
            )
        log = MetricsLog(out_dir, start_step, enabled=main)

        # --- the loop: one optimiser step = grad_accum micro-batches, D phase then G phase ---
        batches = iter(loader)
        stop = held.enter_context(StopSignals())  # SIGTERM / SIGINT: checkpoint and stop after this step
        bar = tqdm(
            total=max_steps,
            initial=start_step,
            disable=not (main and progress),
            desc="train",
            dynamic_ncols=True,
        )
        last_saved, t0 = start_step, time.time()
        for step in range(start_step + 1, max_steps + 1):
            aug_rng = step_generator(t.seed, rank, step, stream=0)
            pool_rng = step_generator(t.seed, rank, step, stream=1)
            micro_batches = [
                augment_batch(to_device(next(batches), device), aug_rng, t.flip, t.crop)
                for _ in range(micro_per_step)
            ]
            result = optimizer_step(parts, micro_batches, t, accelerator, pool_rng)
            if result.stepped:
                bad_streak = 0
            else:
                bad_streak += 1
                bad_total += 1
            with warnings.catch_warnings():  # a skipped (non-finite) step skips opt.step() on purpose
                warnings.filterwarnings(
                    "ignore", message="Detected call of `lr_scheduler.step", category=UserWarning
                )
                sched_G.step()
                if use_gan:
                    assert sched_D is not None
                    sched_D.step()
            bar.update(1)

            if bad_streak >= t.max_bad_steps:
                log.scalars(step, {"bad_steps": bad_total, "stopped": "non-finite loss"})
                log.close()
                bar.close()
                kept = (
                    f"the last good checkpoint, {checkpoint_dir(out_dir / CHECKPOINTS, last_saved).name}, is kept"
                    if last_saved > 0
                    else "no checkpoint had been written yet"
                )
                raise TrainingDiverged(
                    f"training diverged: {bad_streak} consecutive steps with a non-finite loss (steps "
                    f"{step - bad_streak + 1}-{step}, train.max_bad_steps={t.max_bad_steps}); {kept} in "
                    f"{out_dir / CHECKPOINTS}"
                )

            if step % t.log_every == 0 or step == max_steps:
                record: dict = {k: round(v, 6) for k, v in result.losses.items()}
                record.update(
                    lr=sched_G.get_last_lr()[0], epoch=(step - 1) // steps_per_epoch, bad_steps=bad_total
                )
                record["sec"] = round(time.time() - t0, 2)
                log.scalars(step, record)
                bar.set_postfix({k: f"{v:.3g}" for k, v in result.losses.items()})
            if main and (step % t.image_every == 0 or step == max_steps):
                b = micro_batches[-1]
                grid = comparison_grid(task, b["input"], b["guide"], result.fake, b["target"])
                log.image(step, "train/input|guide|output|target", grid)
            if val_loader is not None and (step % t.val_every == 0 or step == max_steps):
                scores = validate(parts.G_raw, val_loader, task, device)
                log.scalars(step, {f"val/{k}": round(v, 6) for k, v in scores.items()})
            # no periodic checkpoint inside a run of non-finite steps: it must not push out the good ones
            if (step % t.save_every == 0 and bad_streak == 0) or step == max_steps:
                counters = {"bad_streak": bad_streak, "bad_total": bad_total}
                state = training_state(step, parts, sched_G, sched_D, counters)
                _save(accelerator, out_dir / CHECKPOINTS, step, state, parts.G_raw, t.keep_last, identity)
                last_saved = step
            if stop.requested(accelerator):
                if last_saved != step:
                    counters = {"bad_streak": bad_streak, "bad_total": bad_total}
                    state = training_state(step, parts, sched_G, sched_D, counters)
                    _save(accelerator, out_dir / CHECKPOINTS, step, state, parts.G_raw, t.keep_last, identity)
                    last_saved = step
                bar.close()
                log.close()
                assert stop.signum is not None  # requested
                name = signal.Signals(stop.signum).name
                where = checkpoint_dir(out_dir / CHECKPOINTS, step)
                raise Interrupted(
                    f"stopped by {name} after step {step} of {max_steps}; checkpoint {where} written; "
                    "rerun the same command to resume",
                    StopSignals.EXIT_CODES.get(stop.signum, 128 + stop.signum),
                )
        bar.close()
        log.close()

        # --- the finished run: the generator alone, and a summary with every rank's weight digest ---
        digests = gather_object([_weights_digest(parts.G_raw)])  # one per process
        summary = {
            "steps": max_steps,
            "resumed_from": start_step,
            "last_checkpoint": last_saved,
            "bad_steps": bad_total,
        }
        summary["rank_weight_sha256"] = digests
        dist = torch.distributed
        backend = dist.get_backend() if dist.is_available() and dist.is_initialized() else None
        summary["distributed"] = {"world_size": world, "backend": backend}
        if main:
            parts.G_raw.save_pretrained(out_dir / GENERATOR_DIR, card=_card_info(cfg, max_steps, out_dir))
            write_text_atomic(out_dir / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")
        accelerator.wait_for_everyone()
        return summary
