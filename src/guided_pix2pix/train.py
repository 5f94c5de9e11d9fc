"""The training loop: `train(cfg, out_dir)`, one function that reads top to bottom.

It runs on Hugging Face Accelerate, so the same code trains on one CPU, one GPU, several GPUs
and several nodes (`accelerate launch` or `torchrun`). Each optimiser step follows the
official Guided-pix2pix model: G forward, then the D phase (D on the fake from the pool and on
the real triplet, loss 0.5 * (fake + real), D step), then the G phase with D frozen (GAN loss
on the new D plus lambda_l1 * L1, G step). With `lambda_gan = 0` (the official depth recipe)
there is no discriminator and the G phase is L1 only.

Determinism and exact resume: the order of items is a function of (seed, epoch), random
flips/crops and the fake pool's draws are functions of (seed, rank, step), and everything else
that changes during training is in the checkpoint. A rerun of the same command continues from
the newest checkpoint that passes its checksum and reproduces an uninterrupted run's losses.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
import warnings
from contextlib import nullcontext
from pathlib import Path

import torch
import torch.nn.functional as F

from .checkpoint import checkpoint_dir, load_latest_checkpoint, save_checkpoint
from .config import dump_config
from .data.transforms import SPATIAL_KEYS
from .errors import BadFileError, BadOptionError, UserError, writing
from .nn.discriminator import Discriminator, DiscriminatorConfig
from .nn.generator import Generator, GeneratorConfig
from .nn.losses import make_gan_loss

CHECKPOINTS = "checkpoints"
METRICS_FILE = "metrics.jsonl"
CONFIG_FILE = "config.yaml"
SECTIONS_FIXED_FOR_RESUME = ("model", "discriminator", "data")


class TrainingDiverged(UserError):
    """Too many consecutive non-finite losses."""


# ----------------------------------------------------------------------------- schedules
def _lambda_policy(t: dict, steps_per_epoch: int, max_steps: int):
    """Official `lambda` rule, by epoch: 1 - max(0, epoch + 1 - niter) / (niter_decay + 1)."""

    def factor(step: int) -> float:
        epoch = step // steps_per_epoch
        return 1.0 - max(0, epoch + 1 - t["niter"]) / float(t["niter_decay"] + 1)

    return factor


def _cosine_policy(t: dict, steps_per_epoch: int, max_steps: int):
    """Linear warm-up over `warmup_steps`, then cosine decay to 0 at `max_steps`."""
    warm = t["warmup_steps"]

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        progress = (step - warm) / max(1, max_steps - warm)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


def _constant_policy(t: dict, steps_per_epoch: int, max_steps: int):
    return lambda step: 1.0


LR_POLICIES = {"lambda": _lambda_policy, "cosine": _cosine_policy, "constant": _constant_policy}


# ----------------------------------------------------------------------------- data order
class StepBatchSampler(torch.utils.data.Sampler):
    """Index batches for micro-steps `start, start + 1, ...` of every process.

    Micro-step s belongs to epoch s // per_epoch; an epoch is a permutation drawn from
    (seed, epoch), cut into global batches of batch_size * world_size indices, of which this
    process takes its slice. The same (seed, s) always gives the same batch, so a resumed run
    sees exactly the items an uninterrupted run would.
    """

    def __init__(
        self, n_items: int, batch_size: int, world_size: int, rank: int, seed: int, start: int, stop: int
    ):
        self.n_items, self.batch_size, self.world, self.rank = n_items, batch_size, world_size, rank
        self.seed, self.start, self.stop = seed, start, stop
        self.per_epoch = n_items // (batch_size * world_size)

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __iter__(self):
        epoch, order = None, None
        global_batch = self.batch_size * self.world
        for s in range(self.start, self.stop):
            if s // self.per_epoch != epoch:
                epoch = s // self.per_epoch
                order = torch.randperm(
                    self.n_items, generator=torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
                )
            b = s % self.per_epoch
            chunk = order[b * global_batch : (b + 1) * global_batch]
            yield chunk[self.rank * self.batch_size : (self.rank + 1) * self.batch_size].tolist()


def _step_generator(seed: int, rank: int, step: int, stream: int) -> torch.Generator:
    """A CPU generator that depends only on (seed, rank, step, stream)."""
    key = hashlib.blake2b(f"{seed}/{rank}/{step}/{stream}".encode(), digest_size=8).digest()
    return torch.Generator().manual_seed(int.from_bytes(key, "little") & ((1 << 63) - 1))


def augment_batch(batch: dict, rng: torch.Generator, flip: bool, crop) -> dict:
    """Paired random horizontal flip and crop, the same for every image of an item, on the
    batch's device (decisions drawn on the CPU from `rng`)."""
    keys = [k for k in SPATIAL_KEYS if k in batch]
    n, _, h, w = batch["input"].shape
    if crop is not None:
        ch, cw = crop
        if ch > h or cw > w:
            raise BadOptionError("train.crop", f"crop {ch}x{cw} is larger than the images ({h}x{w})")
        tops = torch.randint(0, h - ch + 1, (n,), generator=rng).tolist()
        lefts = torch.randint(0, w - cw + 1, (n,), generator=rng).tolist()
        for k in keys:
            batch[k] = torch.stack(
                [batch[k][i, :, t : t + ch, l : l + cw] for i, (t, l) in enumerate(zip(tops, lefts))]
            )
    if flip:
        flips = torch.rand(n, generator=rng) < 0.5
        if flips.any():
            sel = flips.to(batch["input"].device).view(n, 1, 1, 1)
            for k in keys:
                batch[k] = torch.where(sel, batch[k].flip(3), batch[k])
    return batch


class FakePool:
    """The official ImagePool: with probability 1/2 D sees a stored older fake instead of the new one.

    pool_size 0 (the pix2pix default) returns the new fakes unchanged. Random draws come from
    a per-step generator; the stored images are part of the checkpoint."""

    def __init__(self, size: int):
        self.size = size
        self.images: list[torch.Tensor] = []

    def query(self, images: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.cpu())
                out.append(image)
            elif torch.rand(1, generator=rng).item() > 0.5:
                j = int(torch.randint(0, self.size, (1,), generator=rng))
                out.append(self.images[j].to(image.device, image.dtype))
                self.images[j] = image.cpu()
            else:
                out.append(image)
        return torch.cat(out, 0)

    def state_dict(self) -> dict:
        return {"images": [im.float() for im in self.images]}

    def load_state_dict(self, state: dict) -> None:
        self.images = list(state.get("images", []))


# ----------------------------------------------------------------------------- validation
def _depth_validation(outputs, batch) -> dict[str, list[float]]:
    from .metrics.depth import depth_rmse

    kwargs = dict(protocol="A", valid=batch.get("mask"), reduction="none")
    lo, hi = batch["meta"]["depth_min_m"], batch["meta"]["depth_max_m"]
    model = depth_rmse(outputs, batch["target"], lo, hi, **kwargs)
    bicubic = depth_rmse(batch["input"], batch["target"], lo, hi, **kwargs)
    return {"rmse_cm": model.tolist(), "input_rmse_cm": bicubic.tolist()}


def _image_validation(outputs, batch) -> dict[str, list[float]]:
    from .metrics.psnr import psnr

    l1 = (outputs - batch["target"]).abs().flatten(1).mean(1)
    return {"l1": l1.tolist(), "psnr": psnr(outputs, batch["target"], reduction="none").tolist()}


VALIDATORS = {"depth": _depth_validation}  # any other task: L1 and PSNR


@torch.no_grad()
def validate(generator, loader, task: str, device) -> dict[str, float]:
    """Mean of the task's per-image metrics over `loader` (G in eval mode, restored after)."""
    score = VALIDATORS.get(task, _image_validation)
    was_training = generator.training
    generator.eval()
    sums: dict[str, list[float]] = {}
    for batch in loader:
        batch = _to_device(batch, device)
        outputs = generator(batch["input"], batch["guide"]).float()
        for name, values in score(outputs, batch).items():
            sums.setdefault(name, []).extend(values)
    generator.train(was_training)
    return {name: sum(v) / len(v) for name, v in sums.items() if v}


# ----------------------------------------------------------------------------- checks
def _name_channel_mismatch(dataset, expected) -> None:
    """For a dataset of files (FolderDataset), name a file whose channels differ from the model's."""
    items = getattr(dataset, "items", None)
    if not items or not isinstance(items[0], tuple) or not isinstance(items[0][1], dict):
        return
    for role, option, want, have in zip(
        ("input", "guide", "target"), ("input_nc", "guide_nc", "output_nc"), expected, dataset.channels
    ):
        if have is not None and have != want and role in items[0][1]:
            raise BadFileError(items[0][1][role], f"has {have} channels, but model.{option} is {want}")


def check_image_sizes(dataset, gen_cfg: GeneratorConfig, crop, name: str) -> None:
    """Before training: the images the generator will see (item 0, or the crop) have a size its
    backbone takes, and a folder dataset without a crop holds one size only (else no batch)."""
    from .nn.backbones import BACKBONES

    multiple, minimum, rule = BACKBONES[gen_cfg.backbone].size_rule(gen_cfg)
    sizes = getattr(dataset, "sizes", None)  # FolderDataset: input file -> (H, W) from headers
    if sizes:
        first_path, first = next(iter(sizes.items()))
        if crop is None:
            for path, hw in sizes.items():
                if hw != first:
                    raise BadFileError(
                        path,
                        f"size {hw[0]}x{hw[1]} differs from {first_path.name} ({first[0]}x{first[1]}); "
                        "images of one training set must share a size, or set train.crop=[h,w]",
                    )
        h, w = first
        where = first_path
    else:
        h, w = dataset[0]["input"].shape[-2:]
        where = f"dataset {name!r}"
    if crop is not None:
        h, w = crop
        where = "train.crop"
    if h % multiple or w % multiple or h < minimum or w < minimum:
        raise BadOptionError(
            str(where),
            f"image size {h}x{w} not supported by the {gen_cfg.backbone} backbone: H and W must be "
            f"{rule}; crop (train.crop) or resize the images",
        )


# ----------------------------------------------------------------------------- run folder
def _to_device(batch: dict, device) -> dict:
    return {
        k: (v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()
    }


def prepare_run_folder(out_dir: Path, cfg: dict) -> None:
    """Create the run folder (or check a resumed one) and prove it is writable before training."""
    import yaml

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".write_test"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        raise BadFileError(out_dir, f"run folder is not writable ({exc.strerror or exc})") from exc
    config_path = out_dir / CONFIG_FILE
    if config_path.is_file():
        try:
            previous = yaml.safe_load(config_path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise BadFileError(config_path, f"invalid YAML in the existing run ({exc})") from exc
        for section in SECTIONS_FIXED_FOR_RESUME:
            if previous.get(section) != cfg[section]:
                raise BadOptionError(
                    "--out",
                    f"{out_dir} holds a run with a different '{section}' section; resume with the same "
                    "config or choose another --out",
                )
    _write_atomic(config_path, dump_config(cfg))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise BadFileError(path, f"write failed ({exc.strerror or exc})") from exc


class MetricsLog:
    """metrics.jsonl (one JSON object per logged step) and TensorBoard, main process only.

    On resume, lines past the resumed step are dropped so the log reads as one run."""

    def __init__(self, out_dir: Path, resume_step: int, enabled: bool):
        self.enabled = enabled
        self.path = out_dir / METRICS_FILE
        self.writer = None
        if not enabled:
            return
        if self.path.exists():
            kept = []
            for line in self.path.read_text().splitlines():
                try:
                    if json.loads(line).get("step", 0) <= resume_step:
                        kept.append(line)
                except json.JSONDecodeError:
                    break  # a line cut by a kill: drop it and everything after
            _write_atomic(self.path, "".join(f"{line}\n" for line in kept))
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(out_dir / "tensorboard"), purge_step=resume_step + 1)
        except ImportError:  # tensorboard is optional at run time
            self.writer = None

    def scalars(self, step: int, values: dict) -> None:
        if not self.enabled:
            return
        record = {"step": step, **values}
        try:
            with open(self.path, "a") as fh:
                fh.write(json.dumps(record) + "\n")
        except OSError as exc:
            raise BadFileError(self.path, f"write failed ({exc.strerror or exc})") from exc
        if self.writer is not None:
            for k, v in values.items():
                if isinstance(v, (int, float)):
                    self.writer.add_scalar(k, v, step)

    def image(self, step: int, name: str, grid: torch.Tensor) -> None:
        if self.enabled and self.writer is not None:
            self.writer.add_image(name, grid, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _weights_digest(model: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _set_requires_grad(model, flag: bool) -> None:
    if model is not None:
        for p in model.parameters():
            p.requires_grad_(flag)


# ----------------------------------------------------------------------------- one step
class TrainingParts:
    """What one optimiser step needs: models (as prepared by Accelerate), optimisers, loss, pool.

    `G`/`D` are the (possibly DDP-wrapped) models, `D_frozen` the bare discriminator used in the
    G phase, where it gets no gradient and must not take part in DDP's gradient reduction."""

    def __init__(self, G, D, opt_G, opt_D, gan_loss, pool, compile: bool = False):
        from accelerate.utils import extract_model_from_parallel

        self.G, self.D, self.opt_G, self.opt_D, self.gan_loss, self.pool = G, D, opt_G, opt_D, gan_loss, pool
        self.D_frozen = extract_model_from_parallel(D) if D is not None else None
        self.G_run = torch.compile(G) if compile else G
        self.D_run = torch.compile(D) if (compile and D is not None) else D
        self.D_frozen_run = torch.compile(self.D_frozen) if (compile and D is not None) else self.D_frozen


def optimizer_step(
    parts: TrainingParts, micro_batches: list[dict], t: dict, accelerator, pool_rng
) -> tuple[dict, bool]:
    """One optimiser step over `micro_batches` (gradient accumulation): returns (losses, stepped).

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

    for micro, batch in enumerate(micro_batches):
        last = micro == n_micro - 1
        memory_format = torch.channels_last if t.get("channels_last") else torch.contiguous_format
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
                    if _all_finite(accelerator, not bad):
                        p.opt_D.step()
                    p.opt_D.zero_grad(set_to_none=True)

            # G phase: D frozen
            loss_G_L1 = F.l1_loss(fake.float(), target.float()) * t["lambda_l1"]
            loss_G = loss_G_L1
            add("loss_G_L1", loss_G_L1)
            if use_gan:
                _set_requires_grad(p.D_frozen, False)
                scores = p.D_frozen_run(torch.cat([real_in, guide, fake], 1))
                loss_G_GAN = p.gan_loss(scores, real=True, for_discriminator=False)
                loss_G = loss_G + t["lambda_gan"] * loss_G_GAN
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
    values["_fake"] = fake.detach()
    return values, stepped


def make_accelerator(cpu: bool, precision: str):
    """An Accelerator for one run: `precision` "fp32" or "bf16" (autocast), `cpu` to stay off GPUs.

    Accelerate keeps one process-wide state; the precision of an earlier run in this process
    is forgotten (the distributed set-up, PartialState, is kept) so that each run gets its own."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state()
    return Accelerator(cpu=cpu, mixed_precision="bf16" if precision == "bf16" else "no")


def build_models(cfg: dict, mode: str = "fast", seed: int | None = None):
    """(G, D, opt_G, opt_D) for a run config, seeded by `seed` (default train.seed); D and opt_D
    are None without a GAN loss (train.lambda_gan = 0).

    mode: the generator's execution mode. In "fast" mode Adam runs as one fused kernel per
    model (torch's fused=True: the same update in far fewer passes over memory); "reference"
    keeps the per-parameter loop the official PyTorch 0.4 code ran.
    """
    t = cfg["train"]
    torch.manual_seed(t["seed"] if seed is None else seed)
    gen_cfg = GeneratorConfig.from_dict(cfg["model"])
    G = Generator(gen_cfg).set_execution_mode(mode)
    D = None
    if t["lambda_gan"] > 0:
        channels = gen_cfg.input_nc + gen_cfg.guide_nc + gen_cfg.output_nc
        D = Discriminator(DiscriminatorConfig(**{**cfg["discriminator"], "input_nc": channels}))
    adam = {"lr": t["lr"], "betas": (t["beta1"], t["beta2"])}
    adam |= {"fused": True} if mode == "fast" else {"foreach": False}
    opt_G = torch.optim.Adam(G.parameters(), **adam)
    opt_D = torch.optim.Adam(D.parameters(), **adam) if D is not None else None
    return G, D, opt_G, opt_D


# ----------------------------------------------------------------------------- training
def train(cfg: dict, out_dir: str | Path, progress: bool = True) -> dict:
    """Train (or resume) the run described by `cfg` in `out_dir`; returns a summary dict."""
    from accelerate.utils import gather_object
    from tqdm.auto import tqdm

    from .data import build_dataset

    out_dir = Path(out_dir)
    t, d = cfg["train"], cfg["data"]
    accelerator = make_accelerator(cpu=t["device"] == "cpu", precision=t["precision"])
    device, rank, world = accelerator.device, accelerator.process_index, accelerator.num_processes
    main = accelerator.is_main_process

    # --- data ---
    train_set = build_dataset(d["dataset"], split="train", **d["options"])
    val_name = d["val_dataset"] or d["dataset"]
    val_options = d["val_options"] if d["val_dataset"] else {**d["options"], **d["val_options"]}
    gen_cfg = GeneratorConfig.from_dict(cfg["model"])
    expected = (gen_cfg.input_nc, gen_cfg.guide_nc, gen_cfg.output_nc)
    if tuple(train_set.channels) != expected:
        _name_channel_mismatch(train_set, expected)
        raise BadOptionError(
            "model",
            f"input/guide/output channels {expected} do not match those of dataset "
            f"{d['dataset']!r}: {tuple(train_set.channels)}",
        )
    check_image_sizes(train_set, gen_cfg, t["crop"], d["dataset"])
    micro_per_step = t["grad_accum"]
    global_batch = t["batch_size"] * world
    steps_per_epoch = len(train_set) // (global_batch * micro_per_step)
    if steps_per_epoch < 1:
        raise BadOptionError(
            "train.batch_size",
            f"dataset {d['dataset']!r} has {len(train_set)} items, fewer than one step "
            f"({t['batch_size']} x {world} processes x {micro_per_step} accumulation)",
        )
    max_steps = t["max_steps"] or (t["niter"] + t["niter_decay"]) * steps_per_epoch

    # --- the run folder: writable, and the same run if it exists (written once the config proved valid) ---
    if main:
        prepare_run_folder(out_dir, cfg)
    accelerator.wait_for_everyone()

    # --- models, optimisers, schedules (same seed on every process: same initial weights) ---
    G, D, opt_G, opt_D = build_models(cfg)
    use_gan = D is not None
    if t["lr_policy"] not in LR_POLICIES:
        raise BadOptionError(
            "train.lr_policy", f"unknown policy {t['lr_policy']!r}; choose from {', '.join(LR_POLICIES)}"
        )
    factor = LR_POLICIES[t["lr_policy"]](t, steps_per_epoch, max_steps)
    sched_G = torch.optim.lr_scheduler.LambdaLR(opt_G, factor)
    sched_D = torch.optim.lr_scheduler.LambdaLR(opt_D, factor) if use_gan else None
    gan_loss = make_gan_loss(t["gan_mode"])
    pool = FakePool(t["pool_size"])

    # --- resume from the newest good checkpoint ---
    start_step, bad_streak, bad_total = 0, 0, 0
    found = load_latest_checkpoint(
        out_dir / CHECKPOINTS, log=(lambda m: accelerator.print(m, file=sys.stderr))
    )
    if found is not None:
        folder, state = found
        G.load_state_dict(state["G"])
        opt_G.load_state_dict(state["opt_G"])
        sched_G.load_state_dict(state["sched_G"])
        if use_gan:
            D.load_state_dict(state["D"])
            opt_D.load_state_dict(state["opt_D"])
            sched_D.load_state_dict(state["sched_D"])
            pool.load_state_dict(state["pool"])
        start_step, bad_streak, bad_total = state["step"], state["bad_streak"], state["bad_total"]
        accelerator.print(f"resuming from {folder} at step {start_step + 1}")
        previous_lr = _use_configured_lr(t["lr"], factor, start_step, [(opt_G, sched_G), (opt_D, sched_D)])
        if previous_lr is not None:  # e.g. rerun with a lower train.lr after a divergence
            accelerator.print(f"train.lr changed on resume: {previous_lr:g} -> {t['lr']:g}")
    if t["channels_last"]:
        G = G.to(memory_format=torch.channels_last)
        D = D.to(memory_format=torch.channels_last) if use_gan else None
    if use_gan:
        G, D, opt_G, opt_D = accelerator.prepare(G, D, opt_G, opt_D)
    else:
        G, opt_G = accelerator.prepare(G, opt_G)
    G_raw = accelerator.unwrap_model(G)
    D_raw = accelerator.unwrap_model(D) if use_gan else None
    parts = TrainingParts(G, D, opt_G, opt_D, gan_loss, pool, compile=t["compile"])

    sampler = StepBatchSampler(
        len(train_set),
        t["batch_size"],
        world,
        rank,
        t["seed"],
        start_step * micro_per_step,
        max_steps * micro_per_step,
    )
    loader = torch.utils.data.DataLoader(
        train_set,
        batch_sampler=sampler,
        num_workers=d["num_workers"],
        pin_memory=device.type == "cuda",
        persistent_workers=False,
    )
    val_loader = None
    if main and t["val_every"]:
        val_set = build_dataset(val_name, split="val", **val_options)
        val_set = torch.utils.data.Subset(val_set, range(min(len(val_set), d["val_max_items"])))
        val_loader = torch.utils.data.DataLoader(val_set, batch_size=t["batch_size"], num_workers=0)
    log = MetricsLog(out_dir, start_step, enabled=main)

    # --- the loop: one optimiser step = grad_accum micro-batches, D phase then G phase ---
    batches = iter(loader)
    bar = tqdm(
        total=max_steps, initial=start_step, disable=not (main and progress), desc="train", dynamic_ncols=True
    )
    last_saved, t0 = start_step, time.time()
    for step in range(start_step + 1, max_steps + 1):
        aug_rng = _step_generator(t["seed"], rank, step, stream=0)
        pool_rng = _step_generator(t["seed"], rank, step, stream=1)
        micro_batches = [
            augment_batch(_to_device(next(batches), device), aug_rng, t["flip"], t["crop"])
            for _ in range(micro_per_step)
        ]
        values, step_ok = optimizer_step(parts, micro_batches, t, accelerator, pool_rng)
        if step_ok:
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
                sched_D.step()
        bar.update(1)

        if bad_streak >= t["max_bad_steps"]:
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
                f"{step - bad_streak + 1}-{step}, train.max_bad_steps={t['max_bad_steps']}); {kept} in "
                f"{out_dir / CHECKPOINTS}"
            )

        if step % t["log_every"] == 0 or step == max_steps:
            record = {k: round(v, 6) for k, v in values.items() if not k.startswith("_")}
            record.update(
                lr=sched_G.get_last_lr()[0], epoch=(step - 1) // steps_per_epoch, bad_steps=bad_total
            )
            record["sec"] = round(time.time() - t0, 2)
            log.scalars(step, record)
            bar.set_postfix({k: f"{v:.3g}" for k, v in values.items() if not k.startswith("_")})
        if main and (step % t["image_every"] == 0 or step == max_steps):
            from .visualize import comparison_grid

            task = getattr(train_set, "task", "generic")
            b = micro_batches[-1]
            grid = comparison_grid(task, b["input"], b["guide"], values["_fake"], b["target"])
            log.image(step, "train/input|guide|output|target", grid)
        if val_loader is not None and (step % t["val_every"] == 0 or step == max_steps):
            scores = validate(G_raw, val_loader, getattr(train_set, "task", "generic"), device)
            log.scalars(step, {f"val/{k}": round(v, 6) for k, v in scores.items()})
        # no periodic checkpoint inside a run of non-finite steps: it must not push out the good ones
        if (step % t["save_every"] == 0 and bad_streak == 0) or step == max_steps:
            counters = {"bad_streak": bad_streak, "bad_total": bad_total}
            _save(accelerator, out_dir, step, G_raw, D_raw, opt_G, opt_D, sched_G, sched_D, pool, counters, t)
            last_saved = step
    bar.close()
    log.close()

    # --- the finished run: the generator alone, and a summary with every rank's weight digest ---
    digests = gather_object([_weights_digest(G_raw)])  # one per process
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
        with writing(out_dir / "generator", "write failed"):
            G_raw.save_pretrained(out_dir / "generator")
        _write_atomic(out_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    accelerator.wait_for_everyone()
    return summary


def _use_configured_lr(lr: float, factor, step: int, pairs) -> float | None:
    """After loading optimiser and schedule state, apply the config's `train.lr` if it differs
    from the checkpoint's (the loaded state would silently keep the old one); returns the old lr."""
    previous = None
    for opt, sched in pairs:
        if opt is None or all(math.isclose(b, lr, rel_tol=1e-12) for b in sched.base_lrs):
            continue
        previous = sched.base_lrs[0]
        sched.base_lrs = [lr] * len(opt.param_groups)
        for group in opt.param_groups:  # LambdaLR: lr = base_lr * factor(last_epoch)
            group["initial_lr"] = lr
            group["lr"] = lr * factor(step)
        sched._last_lr = [group["lr"] for group in opt.param_groups]
    return previous


def _all_finite(accelerator, finite: bool) -> bool:
    """True only if the loss was finite on every process (so all skip or all step together)."""
    if accelerator.num_processes == 1:
        return finite
    flag = torch.tensor([0.0 if finite else 1.0], device=accelerator.device)
    return accelerator.reduce(flag, reduction="sum").item() == 0


def _save(accelerator, out_dir, step, G, D, opt_G, opt_D, sched_G, sched_D, pool, counters: dict, t) -> None:
    """Checkpoint `step` from the main process; every process waits for it."""
    state = {"step": step, "G": G.state_dict(), "opt_G": opt_G.state_dict(), "sched_G": sched_G.state_dict()}
    state.update(counters)
    if D is not None:
        state.update(
            D=D.state_dict(), opt_D=opt_D.state_dict(), sched_D=sched_D.state_dict(), pool=pool.state_dict()
        )
    if accelerator.is_main_process:
        root = out_dir / CHECKPOINTS
        try:
            save_checkpoint(root, step, state, G, t["keep_last"])
        except OSError as exc:
            raise BadFileError(
                root, f"checkpoint write failed at step {step} ({exc.strerror or exc})"
            ) from exc
    accelerator.wait_for_everyone()
