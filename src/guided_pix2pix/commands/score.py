"""`guided-pix2pix score PRED_DIR TARGET_DIR --metrics psnr,ssim,...`: score two folders of images.

Predictions and targets are matched by file stem (``0001.png`` <-> ``0001.jpg``); every stem must
have a partner. 8- and 16-bit, grey and colour images are read with `files.images.read_image`
and mapped to [0, 1] by their dtype (`files.values.to_unit`; float files by ``--float-range``). Prints one JSON object,
``{metric: mean over pairs}`` (set metrics such as FID: over the two sets), in the order asked.
The output is strict JSON: a value that is not finite (the PSNR of identical images is
infinite) is written as ``null`` (`files.strict_json`).
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import numpy as np
import torch

from ..errors import BadFileError, BadOptionError
from ..files.atomic import write_text_atomic
from ..files.images import pair_by_stem, read_image
from ..files.strict_json import dumps_strict
from ..files.values import to_unit
from ..metrics import METRICS, load_classifier
from ..metrics.registry import parse_metric_names
from ..metrics.weights import require
from ..nn.devices import resolve_device

DEFAULT_METRICS = "psnr,ssim,lpips_alex,lpips_vgg,fid"


def add_arguments(parser) -> None:
    parser.add_argument("pred_dir", type=Path, metavar="PRED_DIR", help="folder of predicted images")
    parser.add_argument(
        "target_dir", type=Path, metavar="TARGET_DIR", help="folder of target images, same stems"
    )
    parser.add_argument(
        "--metrics",
        default=DEFAULT_METRICS,
        help=f"comma-separated metric names (default {DEFAULT_METRICS}); available: {', '.join(METRICS)}",
    )
    parser.add_argument(
        "--device", default="auto", help="torch device: auto (CUDA if present), cpu, cuda:0, ..."
    )
    parser.add_argument(
        "--float-range",
        default="0,1",
        help="LO,HI: black and white of float images (.npy/.tiff); default 0,1",
    )
    parser.add_argument(
        "--classifier", type=Path, help="TorchScript classifier for inception_score (docs/metrics.md)"
    )
    parser.add_argument("--classifier-output", choices=("logits", "probs"), default="logits")
    parser.add_argument("--classifier-range", default="-1,1", help="LO,HI: the classifier's input range")
    parser.add_argument("--splits", type=int, default=10, help="inception_score splits (official: 10)")
    parser.add_argument(
        "--per-image", type=Path, help="also write {stem: {metric: value}} for per-pair metrics"
    )


def _parse_range(text: str, option: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise BadOptionError(option, f"expected LO,HI, got {text!r}") from exc
    if not lo < hi:
        raise BadOptionError(option, f"LO must be below HI, got {text!r}")
    return lo, hi


def _load_unit(path: Path, float_range: tuple[float, float]) -> np.ndarray:
    """Image file -> (H, W, C) float64 in [0, 1] with C in {1, 3}."""
    arr = read_image(path)
    if arr.shape[2] not in (1, 3):
        raise BadFileError(path, f"expected 1 (grey) or 3 (colour) channels, found {arr.shape[2]}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():  # would score as NaN without a word
        raise BadFileError(path, f"holds {int((~np.isfinite(arr)).sum())} NaN or infinite values")
    return to_unit(arr, float_range)


def load_pair(pred_path: Path, target_path: Path, float_range, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Both images as (1, C, H, W) float64 tensors in [0, 1]; errors name a size or channel mismatch."""
    pred, target = _load_unit(pred_path, float_range), _load_unit(target_path, float_range)
    if pred.shape[:2] != target.shape[:2]:
        (ph, pw), (th, tw) = pred.shape[:2], target.shape[:2]
        raise BadFileError(pred_path, f"size {pw}x{ph} (WxH) differs from {target_path} ({tw}x{th})")
    if pred.shape[2] != target.shape[2]:
        kind = {1: "grey", 3: "colour"}
        raise BadFileError(
            pred_path, f"is {kind[pred.shape[2]]} but {target_path} is {kind[target.shape[2]]}"
        )
    as_tensor = lambda a: torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None].to(device)  # noqa: E731
    return as_tensor(pred), as_tensor(target)  # (H, W, C) -> (1, C, H, W)


def _providers(args, device) -> dict:
    """Values for the keyword arguments metrics may need, loaded lazily."""

    def classifier():
        if args.classifier is None:
            raise BadOptionError(
                "--classifier", "inception_score needs a classifier TorchScript file (docs/metrics.md)"
            )
        rng = _parse_range(args.classifier_range, "--classifier-range")
        return load_classifier(args.classifier, output=args.classifier_output, input_range=rng, device=device)

    return {"classifier": classifier, "splits": lambda: args.splits}


def run(args) -> int:
    names = parse_metric_names(args.metrics)
    if args.splits < 1:
        raise BadOptionError("--splits", f"must be >= 1, got {args.splits}")
    float_range = _parse_range(args.float_range, "--float-range")
    device = resolve_device(args.device)
    providers = _providers(args, device)
    for name in names:  # fail before reading any image
        missing = [need for need in METRICS[name].needs if need not in providers]
        if missing:
            raise BadOptionError(
                "--metrics", f"{name} needs {', '.join(missing)}, which score cannot provide; use evaluate"
            )
        if METRICS[name].weights:
            require(cast(str, METRICS[name].weights))  # checked just above
    pairs = pair_by_stem(args.pred_dir, args.target_dir, ("PRED_DIR", "TARGET_DIR"))
    accumulators = {}
    for name in names:
        metric = METRICS[name]
        extra = {key: providers[key]() for key in metric.needs + metric.options}
        accumulators[name] = metric.accumulator(value_range=(0.0, 1.0), **extra)
    for _, pred_path, target_path in pairs:
        pred, target = load_pair(pred_path, target_path, float_range, device)
        for acc in accumulators.values():
            acc.update(pred, target)
    result = {name: acc.compute() for name, acc in accumulators.items()}
    if args.per_image is not None:
        per_pair = {name: acc.values.tolist() for name, acc in accumulators.items() if hasattr(acc, "values")}
        table = {
            stem: {name: vals[i] for name, vals in per_pair.items()} for i, (stem, _, _) in enumerate(pairs)
        }
        write_text_atomic(args.per_image, dumps_strict(table, indent=1) + "\n")
    print(dumps_strict(result))
    return 0
