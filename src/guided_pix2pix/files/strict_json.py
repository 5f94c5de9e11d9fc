"""Strict JSON for output that programs parse: no `NaN`, `Infinity` or `-Infinity`.

Python's `json.dumps` writes non-finite floats as the bare words NaN and Infinity, which are
not JSON (RFC 8259) and which `jq`, JavaScript's `JSON.parse` and most parsers refuse.
`dumps_strict` writes them as `null` instead (e.g. the PSNR of two identical images, which is
infinite) and then serialises with `allow_nan=False`, so a missed case fails loudly here
rather than in the reader.
"""

from __future__ import annotations

import json
import math
from typing import Any


def finite_or_none(value: Any) -> Any:
    """`value` with every non-finite float (at any depth of dicts, lists, tuples) made None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    if hasattr(value, "item") and hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0:
        return finite_or_none(value.item())  # a numpy or torch scalar
    return value


def dumps_strict(value: Any, **kwargs: Any) -> str:
    """`json.dumps` of `value` with non-finite floats as null (see the module doc)."""
    return json.dumps(finite_or_none(value), allow_nan=False, **kwargs)
