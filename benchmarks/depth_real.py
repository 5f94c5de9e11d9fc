"""Real-photo depth up-sampling the way a user meets it, on the Middlebury "Motorcycle" pair.

For each scale s: one depth sample per s x s cell (protocol A, offset s // 2; or with
``--protocol B`` an anti-aliased bicubic down-sampling, one value per cell; unknown depth
filled from the nearest known pixel before either), stored as a 16-bit PNG in millimetres
next to the 500 x 741 photo; then every method reads those two files:

- bicubic: the low-resolution map up-sampled on the aligned grid (`data.depth.upsample_to`);
- joint_bilateral, guided_filter, fgs: OpenCV on that bicubic map, parameters tuned on 16
  synthetic validation scenes of 256 x 256 at the same scale and protocol (never on this image);
- each model given with --checkpoint (default: the shipped pretrained:depth_xS, or under
  protocol B pretrained:depth_xS_b, when there is one): `guided-pix2pix translate` on the two
  files (the sensor-depth path: normalised by the input's own range, no target anywhere).

RMSE in cm over the known pixels inside the protocol A border crop [7:-6] (under either
protocol, so the two are scored on the same pixels). Prints one JSON line per scale.
Usage: python benchmarks/depth_real.py [--scales 4 8 16] [--protocol A|B] [--checkpoint NAME=PATH ...]
[--tta none flip] (each model once per test-time augmentation, `translate --tta`; columns
NAME and NAME+flip) [--oracle] (also each filter tuned on this very image, over the same grid:
columns oracle_FILTER and oracle_params; a bound no user can reach, never used to choose anything).
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from guided_pix2pix.data.depth import low_resolution_depth, upsample_to
from guided_pix2pix.data.middlebury import motorcycle_rgbd
from guided_pix2pix.evaluation.baselines import DEPTH_BASELINES, tune_baselines
from guided_pix2pix.evaluation.engine import default_tuning_dataset, tune_on_dataset
from guided_pix2pix.files.images import read_image, write_image
from guided_pix2pix.metrics.depth import depth_errors_metric
from guided_pix2pix.nn.pretrained import pretrained_index

FILTERS = ("joint_bilateral", "guided_filter", "fgs")


def low_resolution_mm(depth_m: np.ndarray, scale: int, protocol: str = "A") -> np.ndarray:
    """The protocol's samples of a (H, W) depth map in metres, as a (ceil(H/s), ceil(W/s)) uint16
    mm map (the last partial cell takes the edge value: `data.depth.low_resolution_depth`)."""
    low = low_resolution_depth(torch.from_numpy(depth_m), scale, protocol)[0, 0].numpy()
    return np.clip(np.rint(low * 1000.0), 1, 65535).astype(np.uint16)


def to_metres(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Network values in [-1, 1] back to metres over the input's own range [lo, hi]."""
    return (x + 1) / 2 * (hi - lo) + lo


def rmse_cm(pred_m: np.ndarray, target_m: np.ndarray, valid: np.ndarray) -> float:
    errors = depth_errors_metric(
        torch.from_numpy(pred_m.astype(np.float64))[None], torch.from_numpy(target_m.astype(np.float64))[None],
        protocol="A", valid=torch.from_numpy(valid)[None],
    )  # fmt: skip
    return round(float(errors["rmse"][0]), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--checkpoint", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--tta", nargs="+", default=["none"], choices=["none", "flip"])
    parser.add_argument("--protocol", choices=["A", "B"], default="A", help="how the low-res map is made")
    parser.add_argument("--oracle", action="store_true", help="also the filters tuned on this image")
    args = parser.parse_args()
    rgb, depth_m, valid = motorcycle_rgbd()
    H, W = depth_m.shape
    work = Path(tempfile.mkdtemp(prefix="depth_real_"))
    write_image(work / "photo.png", rgb)
    for scale in args.scales:
        low = low_resolution_mm(depth_m, scale, args.protocol)
        write_image(work / f"low_x{scale}.png", low)
        row: dict = {
            "scale": scale,
            "protocol": args.protocol,
            "low_size": list(low.shape),
            "photo_size": [H, W],
        }
        # bicubic and the filters, from the PNG as read back
        low_m = read_image(work / f"low_x{scale}.png")[..., 0].astype(np.float32) / 1000.0
        bicubic = upsample_to(torch.from_numpy(low_m)[None, None], (H, W))[0, 0].numpy()
        row["bicubic"] = rmse_cm(bicubic, depth_m, valid)
        params = tune_on_dataset("depth", list(FILTERS), default_tuning_dataset(scale, args.protocol))
        lo, hi = float(low_m.min()), float(low_m.max())  # the input's own range, as translate normalises
        x = torch.from_numpy((bicubic - lo) / (hi - lo) * 2 - 1)[None, None].float().clamp(-1, 1)
        guide = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 127.5 - 1
        for name in FILTERS:
            pred = DEPTH_BASELINES[name].predict({"input": x, "guide": guide}, params[name])[0, 0].numpy()
            row[name] = rmse_cm(to_metres(pred, lo, hi), depth_m, valid)
        row["filter_params"] = params
        if args.oracle:  # tuned on the test image itself: the reference kind of number
            batch = {"input": x, "guide": guide}

            def on_this_image(pred, _batch, lo=lo, hi=hi):
                return rmse_cm(to_metres(pred[0, 0].numpy(), lo, hi), depth_m, valid)

            oracle = tune_baselines("depth", list(FILTERS), [batch], on_this_image)
            for name in FILTERS:
                pred = DEPTH_BASELINES[name].predict(batch, oracle[name])[0, 0].numpy()
                row[f"oracle_{name}"] = rmse_cm(to_metres(pred, lo, hi), depth_m, valid)
            row["oracle_params"] = oracle
        checkpoints = dict(c.split("=", 1) for c in args.checkpoint)
        shipped = f"depth_x{scale}" + ("_b" if args.protocol == "B" else "")
        if not checkpoints and shipped in pretrained_index():
            checkpoints = {f"pretrained:{shipped}": f"pretrained:{shipped}"}
        for (name, path), tta in itertools.product(checkpoints.items(), args.tta):
            out = work / f"out_x{scale}_{len(row)}.png"
            cmd = [sys.executable, "-m", "guided_pix2pix.cli", "translate", "--checkpoint", path,
                   "--input", str(work / f"low_x{scale}.png"), "--guide", str(work / "photo.png"),
                   "--out", str(out), "--device", "cpu", "--tta", tta]  # fmt: skip
            subprocess.run(cmd, check=True, capture_output=True)
            column = name if tta == "none" else f"{name}+{tta}"
            row[column] = rmse_cm(read_image(out)[..., 0].astype(np.float32) / 1000.0, depth_m, valid)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
