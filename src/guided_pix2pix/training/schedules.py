"""Learning-rate schedules: a registry of policies, each a factor of the initial lr per step.

A policy is built as `LR_POLICIES[name](train, steps_per_epoch, max_steps)` (train: the run's
`TrainSection`) and returns `factor(step) -> float`, used through `torch.optim.lr_scheduler.LambdaLR`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import TrainSection

Factor = Callable[[int], float]


def lambda_policy(t: TrainSection, steps_per_epoch: int, max_steps: int) -> Factor:
    """Official `lambda` rule, by epoch: 1 - max(0, epoch + 1 - niter) / (niter_decay + 1)."""

    def factor(step: int) -> float:
        epoch = step // steps_per_epoch
        return 1.0 - max(0, epoch + 1 - t.niter) / float(t.niter_decay + 1)

    return factor


def cosine_policy(t: TrainSection, steps_per_epoch: int, max_steps: int) -> Factor:
    """Linear warm-up over `warmup_steps`, then cosine decay to 0 at `max_steps`."""
    warm = t.warmup_steps

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        progress = (step - warm) / max(1, max_steps - warm)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


def constant_policy(t: TrainSection, steps_per_epoch: int, max_steps: int) -> Factor:
    return lambda step: 1.0


LR_POLICIES: dict[str, Callable[[TrainSection, int, int], Factor]] = {
    "lambda": lambda_policy,
    "cosine": cosine_policy,
    "constant": constant_policy,
}


def apply_configured_lr(lr: float, factor: Factor, step: int, pairs) -> float | None:
    """After loading optimiser and schedule state, apply the config's `train.lr` if it differs
    from the checkpoint's (the loaded state would silently keep the old one); returns the old lr.

    pairs: (optimizer, LambdaLR schedule) pairs; a pair whose optimizer is None is skipped."""
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
