"""What a training step draws: its batch of item indices, its random generators, the fake pool.

Every random choice of a step is a function of (seed, rank, step): the batch order of
`StepBatchSampler`, the augmentation and pool draws from `step_generator`, so a resumed run
draws exactly what an uninterrupted run would. The pool's stored images are in the checkpoint.
"""

from __future__ import annotations

import hashlib

import torch


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


def step_generator(seed: int, rank: int, step: int, stream: int) -> torch.Generator:
    """A CPU generator that depends only on (seed, rank, step, stream)."""
    key = hashlib.blake2b(f"{seed}/{rank}/{step}/{stream}".encode(), digest_size=8).digest()
    return torch.Generator().manual_seed(int.from_bytes(key, "little") & ((1 << 63) - 1))


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
