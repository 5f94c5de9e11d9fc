"""Random streams of the synthetic tasks: one independent generator per (seed, split, index).

Splits get different stream codes, so train, val and test never share an item, and an item
does not depend on which other items were generated before it (any index, any worker order).
"""

from __future__ import annotations

import numpy as np

from .base import MAX_SEED, ItemDataset, check_choice, check_count, check_size

SPLIT_CODES = {"train": 0, "val": 1, "test": 2}


def item_rng(seed: int, split: str, index: int, stream: int) -> np.random.Generator:
    """The generator for item `index` of `split` under `seed`; `stream` separates the tasks."""
    return np.random.default_rng([int(seed), SPLIT_CODES[split], int(index), int(stream)])


class SyntheticDataset(ItemDataset):
    """Options shared by the procedural tasks; subclasses set `name`, `stream`, `min_size`.

    Options: size (height, width) pixels, default (128, 128); count = number of items
    (default 1000); seed (int >= 0); split "train" | "val" | "test" (disjoint item streams);
    on_error as in `ItemDataset`.
    """

    name = "synthetic"
    stream = 0  # keeps the tasks' random streams apart
    min_size = 8  # smallest height / width in pixels the renderer supports

    def __init__(
        self,
        split: str = "train",
        size=(128, 128),
        count: int = 1000,
        seed: int = 0,
        on_error: str = "raise",
    ):
        super().__init__(on_error=on_error)
        check_choice("split", split, tuple(SPLIT_CODES))
        self.split = split
        self.size = check_size("size", size, minimum=self.min_size)
        self.count = check_count("count", count)
        self.seed = check_count("seed", seed, minimum=0, maximum=MAX_SEED)

    def __len__(self) -> int:
        return self.count

    def item_rng(self, index: int) -> np.random.Generator:
        return item_rng(self.seed, self.split, index, self.stream)

    def item_id(self, index: int) -> str:
        return f"{self.name}/{self.split}/{self.seed}/{index}"
