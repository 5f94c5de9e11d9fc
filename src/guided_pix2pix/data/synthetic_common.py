"""Random streams of the synthetic tasks: one independent generator per (seed, split, index).

Splits get different stream codes, so train, val and test never share an item, and an item
does not depend on which other items were generated before it (any index, any worker order).
"""

from __future__ import annotations

import numpy as np

SPLIT_CODES = {"train": 0, "val": 1, "test": 2}


def item_rng(seed: int, split: str, index: int, stream: int) -> np.random.Generator:
    """The generator for item `index` of `split` under `seed`; `stream` separates the tasks."""
    return np.random.default_rng([int(seed), SPLIT_CODES[split], int(index), int(stream)])
