"""``guided-pix2pix translate --onnx FILE``: `translate` with an exported ONNX model, without torch.

`commands.translate` imports PyTorch at module level, so the CLI never imports it for this path:
when the ``translate`` arguments hold ``--onnx``, `cli.build_parser` builds the command from this
module instead (`cli.TORCH_FREE`), which needs only numpy, onnxruntime, scipy and the file
readers (`guided_pix2pix.onnx_runtime`; a test checks that ``torch`` stays out of
``sys.modules``). `commands.translate.run` also hands an ``--onnx`` namespace over to `run`.

It takes the files as ``translate --checkpoint`` does and writes the same outputs (the same
pairing, value mapping, padding and sensor-depth reading, as numpy twins of the torch functions,
tests/commands/test_export.py): plain files (``--depth file``, and any model that is not a depth
model) and sensor depth (``--depth sensor``, or auto for a depth model), with ``--tta flip``
as well (`run_views`, the numpy twin of `nn.tta.run_augmented`). What needs PyTorch is
refused with a reason: keypoint JSON guides (render them to an array first), texture models' RGB
files (``--texture rgb``; ``--texture file`` runs on stored values) and ``--preview``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ..errors import BadFileError, BadOptionError
from ..files.images import probe_image, read_image, write_image
from ..onnx_runtime import (
    DepthScaling,
    OnnxGenerator,
    from_signed_unit,
    input_to_sensor_depth,
    sensor_depth_to_input,
    to_signed_unit,
)
from .translate_plan import check_pair_shapes, check_plan_apart, output_dtype, plan_pairs

DEPTH_MODES = ("auto", "sensor", "file")  # as commands.translate
TEXTURE_MODES = ("auto", "rgb", "file")
DEPTH_CHANNELS = (1, 3, 1)  # (input, guide, output) of a depth model
TEXTURE_CHANNELS = (1, 4, 3)
POSE_CHANNELS = (3, 18, 3)
TTA_MODES = ("none", "flip")  # nn.tta.TTA_VIEWS's names (a test keeps them equal); numpy twin: run_views


def add_arguments(parser) -> None:
    """The options of `translate` that the ONNX path takes (the same names and meanings)."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--onnx", type=Path, help="an ONNX file written by guided-pix2pix export")
    source.add_argument("--checkpoint", type=Path, help="(translate --checkpoint: runs with PyTorch)")
    parser.add_argument("--input", required=True, type=Path, help="input image file or folder")
    parser.add_argument(
        "--guide", required=True, type=Path, help="guide file or folder (.npy/.npz: many channels)"
    )
    parser.add_argument("--out", required=True, type=Path, help="output file, or folder for folder inputs")
    parser.add_argument("--batch-size", type=int, default=8, help="images per forward pass (default 8)")
    parser.add_argument(
        "--device", default="auto", help="auto (CUDA if onnxruntime has it, else CPU), cpu, cuda, cuda:N"
    )
    parser.add_argument("--depth", choices=DEPTH_MODES, default="auto", help="as translate --checkpoint")
    parser.add_argument(
        "--texture", choices=TEXTURE_MODES, default="auto", help="file only (rgb needs PyTorch)"
    )
    parser.add_argument("--preview", type=Path, help="not available with --onnx (needs PyTorch)")
    parser.add_argument("--tta", choices=TTA_MODES, default="none", help="as translate --checkpoint")


# ----------------------------------------------------------------------------- checks (planning: translate_plan)
def check_modes(model: OnnxGenerator, args) -> bool:
    """Whether inputs are sensor depth; refuses what needs PyTorch."""
    cfg = model.config
    channels = (cfg.input_nc, cfg.guide_nc, cfg.output_nc)
    if getattr(args, "preview", None) is not None:
        raise BadOptionError("--preview", "colour-mapped previews need PyTorch: use --checkpoint for them")
    texture = getattr(args, "texture", "auto")
    texture_model = (cfg.guide_nc, cfg.output_nc) == TEXTURE_CHANNELS[1:] and (
        model.task == "texture" or (model.task is None and channels == TEXTURE_CHANNELS)
    )  # as commands.translate.texture_mode (training.model_task.generator_task, recorded at export)
    if texture == "rgb" or (texture == "auto" and texture_model):
        raise BadOptionError(
            "--texture",
            "a texture model's RGB files are converted to and from LAB with PyTorch: use --checkpoint, "
            "or --texture file to run on stored network values",
        )
    pose_model = model.task == "pose" or (model.task is None and channels == POSE_CHANNELS)
    if getattr(args, "tta", "none") != "none" and pose_model:  # as nn.tta.check_tta
        raise BadOptionError(
            "--tta",
            f"{args.tta!r} mirrors the guide, and a pose guide's channels have sides (left/right keypoints); use none",
        )
    depth = getattr(args, "depth", "auto")
    if depth == "sensor" and cfg.input_nc != 1:
        raise BadOptionError(
            "--depth", f"sensor depth needs a model with 1 input channel, not {cfg.input_nc}"
        )
    return depth == "sensor" or (depth == "auto" and channels == DEPTH_CHANNELS)


def check_pair(model: OnnxGenerator, input_path: Path, guide_path: Path, sensor: bool) -> tuple[int, int]:
    """(H, W) of the output after checking channels and sizes from the headers
    (`commands.translate.check_pair`)."""
    cfg = model.config
    if guide_path.suffix.lower() == ".json":
        raise BadFileError(
            guide_path,
            "keypoint JSON guides are drawn with PyTorch: use --checkpoint, or give the guide as an "
            "image or .npy of heat-maps (guided-pix2pix pose render)",
        )
    (h, w, c_in), (gh, gw, c_g) = probe_image(input_path), probe_image(guide_path)
    hw = check_pair_shapes(
        input_path, guide_path, (h, w, c_in), (gh, gw, c_g), (cfg.input_nc, cfg.guide_nc), sensor
    )
    model.padded_size(*hw)  # a fixed-size export refuses other sizes before anything is written
    return hw


# ----------------------------------------------------------------------------- running
def _load(path: Path, hw: tuple[int, int]) -> tuple[np.ndarray, np.dtype]:
    arr = read_image(path)
    if arr.shape[:2] != hw:
        raise BadFileError(path, f"decoded size {arr.shape[0]}x{arr.shape[1]} differs from its header")
    return to_signed_unit(arr, path), arr.dtype


def _load_input(path: Path, hw: tuple[int, int], sensor: bool):
    return sensor_depth_to_input(read_image(path), hw, path) if sensor else _load(path, hw)


def _to_file(out: np.ndarray, how, path: Path) -> np.ndarray:
    if isinstance(how, DepthScaling):
        output_dtype(how.dtype, path, out.shape[0])
        return input_to_sensor_depth(out, how)
    return from_signed_unit(out, output_dtype(how, path, out.shape[0]))


def run_views(model: OnnxGenerator, inputs: np.ndarray, guides: np.ndarray, tta: str) -> np.ndarray:
    """`nn.tta.run_augmented` in numpy: the padded forward, averaged with the mirrored one for flip."""
    out = model.run_padded(inputs, guides)
    if tta == "flip":
        mirrored = model.run_padded(
            np.ascontiguousarray(inputs[..., ::-1]), np.ascontiguousarray(guides[..., ::-1])
        )
        out = (out + mirrored[..., ::-1]) / 2
    return out


def translate_pairs(
    model: OnnxGenerator, plan, sizes, batch_size: int, sensor: bool, tta: str = "none"
) -> list[Path]:
    """Run the model over the planned pairs in batches of equal size; write and return the outputs."""
    groups: dict[tuple[int, int], list[int]] = {}
    for i, hw in enumerate(sizes):
        groups.setdefault(hw, []).append(i)
    written = []
    for hw, indices in groups.items():
        for start in range(0, len(indices), batch_size):
            chunk = indices[start : start + batch_size]
            loaded = [(_load_input(plan[i][0], hw, sensor), _load(plan[i][1], hw)) for i in chunk]
            inputs = np.stack([x for (x, _), _ in loaded])  # (N, C_in, H, W)
            guides = np.stack([g for _, (g, _) in loaded])  # (N, C_g, H, W)
            outputs = run_views(model, inputs, guides, tta)
            for i, out, ((_, how), _) in zip(chunk, outputs, loaded):
                path = plan[i][2]
                written.append(write_image(path, _to_file(out, how, path)))
    return written


def run(args) -> int:
    if args.batch_size < 1:
        raise BadOptionError("--batch-size", f"must be >= 1, got {args.batch_size}")
    plan = plan_pairs(args)
    check_plan_apart(args, plan)  # never overwrite an input or a guide
    model = OnnxGenerator(args.onnx, args.device)
    sensor = check_modes(model, args)
    sizes = [check_pair(model, i, g, sensor) for i, g, _ in plan]  # every file checked before any is written
    written = translate_pairs(model, plan, sizes, args.batch_size, sensor, getattr(args, "tta", "none"))
    where = written[0] if len(written) == 1 else args.out
    print(f"wrote {len(written)} image(s) to {where}", file=sys.stderr)
    return 0
