"""`guided-pix2pix translate`: run a trained generator on one pair of files or two folders.

Files: ``--input a.png --guide g.npy --out out.png`` writes one image (format from the suffix
of ``--out``; if ``--out`` is a folder, ``OUT/<input stem><input suffix>``). Folders: inputs
and guides are matched by file stem (``0001.png`` <-> ``0001.npy``); every stem needs a
partner, and the outputs go to folder ``--out`` as ``<input stem><input suffix>``.
A pose guide may be a keypoint JSON file (ours or OpenPose's, `data.keypoints`): for a
model with 18 guide channels it is drawn as 18 heat-maps at its input's size.

Values are mapped as `FolderDataset` maps them for training (`files.values`: uint8 / 255 and
uint16 / 65535 to [-1, 1]; float arrays used as stored, in [-1, 1]), and each output is written
back in its input's dtype: 16-bit PNG for a 16-bit (depth) input, 8-bit for 8-bit, float32 for
float. Images of any size are reflect-padded to the backbone's size rule and cropped back;
folders are processed in batches of equal-size images on the best device available, through
the device's default inference path (`nn.inference.prepare_for_inference`: on the CPU the
convolution weights are packed for oneDNN once per image size instead of on every call).
``--tta flip`` averages each output with the output of the mirrored input and guide (`nn.tta`;
twice the time; see docs/results.md for what it gives the shipped depth models; refused for
pose models, whose guides have sides).

Depth models (1 input, 3 guide, 1 output channels; or ``--depth sensor``) read the input as a
depth camera writes it (`data.depth.sensor_depth_to_input`): 16-bit millimetres with 0 =
unknown, or float metres; an input smaller than its guide (80 x 60 next to a 640 x 480 photo)
is up-sampled to the guide's size (bicubic, as the protocols); unknown pixels are filled from
their nearest known neighbour; the map is normalised by its *own* known range (there is no
target at inference); the output is dense depth in the input's units and format. ``--preview P``
also writes each depth output colour-mapped (viridis, near dark -> far yellow, spanning the
input's known range) as an 8-bit RGB PNG: file P (or P/<input stem>.png; folders: P/<stem>.png).

Texture models (trained on a texture dataset, or 1 input, 4 guide, 3 output channels; or
``--texture rgb``) work in TextureGAN-scaled LAB; their files are RGB (`data.lab_files`): the
input is a grey or RGB sketch (its L channel is fed), the guide an RGBA image of the sketch's
size whose opaque pixels are the texture patch, and the output is written as 8-bit sRGB.
Float arrays are network values as stored, as for any model.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from ..data.depth import DepthScaling, input_to_sensor_depth, sensor_depth_to_input
from ..data.keypoints import N_KEYPOINTS, is_keypoint_file, read_keypoints, read_pose_guide
from ..data.lab_files import output_to_rgb, probe_texture_file, read_texture_guide, read_texture_input
from ..data.visualize import depth_colours
from ..errors import BadFileError, BadOptionError
from ..files.images import probe_image, read_image, write_image
from ..files.outputs import check_outputs_apart
from ..files.values import from_signed_unit, to_signed_unit
from ..nn.devices import resolve_device
from ..nn.inference import prepare_for_inference
from ..nn.tta import TTA_VIEWS, check_tta, run_augmented
from ..training.model_task import generator_task
from ..training.run_folder import load_generator
from .translate_plan import check_pair_shapes, check_plan_apart, output_dtype, plan_pairs


def add_arguments(parser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--checkpoint", type=Path, help="generator folder (save_pretrained), run folder or pretrained:NAME"
    )
    source.add_argument(
        "--onnx",
        type=Path,
        help="an ONNX file written by `guided-pix2pix export`, run on onnxruntime without PyTorch "
        "(plain files and sensor depth; see commands.translate_onnx)",
    )
    parser.add_argument("--input", required=True, type=Path, help="input image file or folder")
    parser.add_argument(
        "--guide",
        required=True,
        type=Path,
        help="guide file or folder (.npy/.npz: many channels; .json: pose keypoints)",
    )
    parser.add_argument("--out", required=True, type=Path, help="output file, or folder for folder inputs")
    parser.add_argument("--batch-size", type=int, default=8, help="images per forward pass (default 8)")
    parser.add_argument("--device", default="auto", help="auto (best available), cpu, cuda, cuda:N, mps")
    parser.add_argument(
        "--depth",
        choices=DEPTH_MODES,
        default="auto",
        help="sensor: the input is a depth map as a camera writes it (16-bit mm with 0 = unknown, "
        "or float metres), possibly smaller than its guide; file: values as the folder datasets "
        "store them; auto (default): sensor for depth models (1 input, 3 guide, 1 output channels)",
    )
    parser.add_argument(
        "--texture",
        choices=TEXTURE_MODES,
        default="auto",
        help="rgb: the model works in scaled LAB and its files are RGB (a grey/RGB sketch, an RGBA "
        "guide whose opaque pixels are the patch, RGB outputs); file: values as stored; auto "
        "(default): rgb for texture models (trained on a texture dataset, or 1/4/3 channels)",
    )
    parser.add_argument(
        "--tta",
        choices=tuple(TTA_VIEWS),
        default="none",
        help="test-time augmentation: flip averages each output with the mirrored input's "
        "(twice the time; not for pose models; docs/results.md)",
    )
    parser.add_argument(
        "--preview",
        type=Path,
        help="depth models: also write each output colour-mapped (viridis) as an RGB PNG: this file, "
        "or this folder as <stem>.png",
    )


# ----------------------------------------------------------------------------- pairing
def plan_previews(args, plan, depth_model: bool) -> list[Path] | None:
    """The --preview PNG of every planned pair (None without --preview), checked apart from the
    inputs, guides and outputs; refused for models that do not write depth."""
    if args.preview is None:
        return None
    if not depth_model:
        raise BadOptionError("--preview", "colour-mapped previews are for depth models (1 output channel)")
    single = not args.input.is_dir() and args.preview.suffix and not args.preview.is_dir()
    if single and args.preview.suffix.lower() != ".png":
        raise BadOptionError("--preview", f"a preview is written as .png, not {args.preview.suffix}")
    previews = [args.preview] if single else [args.preview / f"{out.stem}.png" for _, _, out in plan]
    check_outputs_apart(
        args.preview,
        previews,
        folders=[("--input", args.input), ("--guide", args.guide)],
        files=[p for i, g, out in plan for p in (i, g, out)],
        files_are="the input, guide or output files",
        option="--preview",
    )
    return previews


# ----------------------------------------------------------------------------- checks
DEPTH_MODES = ("auto", "sensor", "file")


def sensor_depth_mode(model, option: str) -> bool:
    """Whether inputs are read as sensor depth (`data.depth.sensor_depth_to_input`)."""
    cfg = model.config
    is_depth_model = (cfg.input_nc, cfg.guide_nc, cfg.output_nc) == (1, 3, 1)
    if option == "sensor" and cfg.input_nc != 1:
        raise BadOptionError(
            "--depth", f"sensor depth needs a model with 1 input channel, not {cfg.input_nc}"
        )
    return option == "sensor" or (option == "auto" and is_depth_model)


TEXTURE_MODES = ("auto", "rgb", "file")


def texture_mode(model, option: str, folder: Path | None = None, checkpoint=None) -> bool:
    """Whether the model's files are RGB around a scaled-LAB network (`data.lab_files`): option
    "rgb", or "auto" for a texture model (`training.model_task.generator_task`)."""
    cfg = model.config
    if option == "rgb" and (cfg.guide_nc, cfg.output_nc) != (4, 3):
        raise BadOptionError(
            "--texture",
            f"rgb files need a texture model (4 guide, 3 output channels), not {cfg.guide_nc} and {cfg.output_nc}",
        )
    if option == "auto":
        return (cfg.guide_nc, cfg.output_nc) == (4, 3) and generator_task(
            model, folder, checkpoint
        ) == "texture"
    return option == "rgb"


def probe_guide(path: Path, input_hw: tuple[int, int], guide_nc: int) -> tuple[int, int, int]:
    """(H, W, C) of a guide file from its header; a keypoint JSON (`data.keypoints`) is read and
    checked whole and becomes 18 heat-maps at its input's size, for pose models (18 guide channels)."""
    if not is_keypoint_file(path):
        return probe_image(path)
    read_keypoints(path)
    if guide_nc != N_KEYPOINTS:
        problem = f"a keypoint file is a pose guide of {N_KEYPOINTS} heat-maps; the model expects {guide_nc} guide channels"
        raise BadFileError(path, problem)
    return input_hw[0], input_hw[1], N_KEYPOINTS


def check_pair(
    model, input_path: Path, guide_path: Path, sensor: bool = False, lab: bool = False
) -> tuple[int, int]:
    """(H, W) of the output (the guide's size) after checking channels and sizes from the file
    headers. Sensor depth may be smaller than its guide (it is up-sampled); otherwise the sizes match.
    lab: texture files (see `texture_mode`): channels as the network will see them."""
    cfg = model.config
    h, w, c_in = probe_image(input_path)
    gh, gw, c_g = probe_guide(guide_path, (h, w), cfg.guide_nc)
    if lab:  # an RGB sketch feeds 1 channel, an RGBA patch image 4 (data.lab_files)
        (h, w, c_in), (gh, gw, c_g) = (
            probe_texture_file(input_path, "input"),
            probe_texture_file(guide_path, "guide"),
        )
    return check_pair_shapes(
        input_path, guide_path, (h, w, c_in), (gh, gw, c_g), (cfg.input_nc, cfg.guide_nc), sensor
    )


# ----------------------------------------------------------------------------- running
def _load(path: Path, expected_hw: tuple[int, int]) -> tuple[torch.Tensor, np.dtype]:
    arr = read_image(path)
    if arr.shape[:2] != expected_hw:
        raise BadFileError(path, f"decoded size {arr.shape[0]}x{arr.shape[1]} differs from its header")
    return to_signed_unit(arr, path), arr.dtype


RGB_FROM_LAB = object()  # how to write a texture model's output: scaled LAB -> 8-bit sRGB


def _sized(x: torch.Tensor, path: Path, expected_hw: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) != expected_hw:
        raise BadFileError(path, f"decoded size {x.shape[-2]}x{x.shape[-1]} differs from its header")
    return x


def _load_input(path: Path, hw: tuple[int, int], sensor: bool, lab: bool = False):
    """(network input (C, H, W), how to write the output: a DepthScaling, RGB_FROM_LAB or the
    file's dtype)."""
    if lab:
        return _sized(read_texture_input(path), path, hw), RGB_FROM_LAB
    if not sensor:
        return _load(path, hw)
    return sensor_depth_to_input(read_image(path), hw, path)


def _load_guide(path: Path, hw: tuple[int, int], lab: bool = False):
    if lab:
        return _sized(read_texture_guide(path), path, hw), None
    if is_keypoint_file(path):  # keypoint JSON: 18 heat-maps drawn at the input's size
        return to_signed_unit(read_pose_guide(path, hw), path), None
    return _load(path, hw)


def _to_file(out: torch.Tensor, how, path: Path) -> np.ndarray:
    if how is RGB_FROM_LAB:
        if path.suffix.lower() not in (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".npy"):
            raise BadFileError(path, "a texture output is an RGB image: write it as .png, .jpg, .tif or .npy")
        return output_to_rgb(out)
    if isinstance(how, DepthScaling):
        output_dtype(how.dtype, path, out.shape[0])
        return input_to_sensor_depth(out, how)
    return from_signed_unit(out, output_dtype(how, path, out.shape[0]))


def depth_preview(out: torch.Tensor) -> np.ndarray:
    """(1, H, W) depth output in [-1, 1] -> (H, W, 3) uint8 viridis picture (`--preview`)."""
    rgb = depth_colours(out.detach().float().cpu()[None])[0]  # (3, H, W) in [0, 1]
    return np.clip(np.rint(rgb.numpy().transpose(1, 2, 0) * 255.0), 0, 255).astype(np.uint8)


def translate_pairs(
    model,
    plan,
    sizes,
    batch_size: int,
    device,
    log=None,
    sensor: bool = False,
    lab: bool = False,
    previews: list[Path] | None = None,
    tta: str = "none",
) -> list[Path]:
    """Run `model` over the planned pairs in batches of equal output size; write and return the
    outputs. sensor: inputs are depth maps as a camera writes them (see `sensor_depth_mode`);
    lab: texture files, RGB around the scaled-LAB network (`texture_mode`); previews: a PNG path
    per pair for the output colour-mapped (`depth_preview`), or None; tta: `nn.tta.TTA_VIEWS` mode."""
    groups: dict[tuple[int, int], list[int]] = {}
    for i, hw in enumerate(sizes):
        groups.setdefault(hw, []).append(i)
    written = []
    for hw, indices in groups.items():
        for start in range(0, len(indices), batch_size):
            chunk = indices[start : start + batch_size]
            loaded = [
                (_load_input(plan[i][0], hw, sensor, lab), _load_guide(plan[i][1], hw, lab)) for i in chunk
            ]
            inputs = torch.stack([x for (x, _), _ in loaded]).to(device)  # (N, C_in, H, W)
            guides = torch.stack([g for _, (g, _) in loaded]).to(device)  # (N, C_g, H, W)
            outputs = run_augmented(model, inputs, guides, tta)
            for i, out, ((_, how), _) in zip(chunk, outputs, loaded):
                path = plan[i][2]
                written.append(write_image(path, _to_file(out, how, path)))
                if previews is not None:
                    write_image(previews[i], depth_preview(out))
                if log:
                    log(f"{plan[i][0]} -> {path}")
    return written


def run(args) -> int:
    if getattr(args, "onnx", None) is not None:  # the CLI builds this path from translate_onnx itself
        from .translate_onnx import run as run_onnx

        return run_onnx(args)
    if args.batch_size < 1:
        raise BadOptionError("--batch-size", f"must be >= 1, got {args.batch_size}")
    device = resolve_device(args.device)
    plan = plan_pairs(args)
    check_plan_apart(args, plan)  # never overwrite an input or a guide
    model, folder = load_generator(args.checkpoint, device)
    prepare_for_inference(model, device)  # the device's fastest path, same outputs (to 1e-4)
    sensor = sensor_depth_mode(model, args.depth)
    lab = texture_mode(model, args.texture, folder, args.checkpoint)
    tta = check_tta(args.tta, generator_task(model, folder, args.checkpoint))
    previews = plan_previews(args, plan, model.config.output_nc == 1)
    sizes = [
        check_pair(model, i, g, sensor, lab) for i, g, _ in plan
    ]  # every file checked before any is written
    written = translate_pairs(
        model, plan, sizes, args.batch_size, device, sensor=sensor, lab=lab, previews=previews, tta=tta
    )
    where = written[0] if len(written) == 1 else args.out
    print(f"wrote {len(written)} image(s) to {where}", file=sys.stderr)
    return 0
