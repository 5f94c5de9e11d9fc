"""Running an exported ONNX generator without PyTorch: numpy, onnxruntime and the file readers.

Nothing here imports torch (``translate --onnx`` checks it). `OnnxGenerator(path)` opens a file
written by ``guided-pix2pix export --format onnx`` (`nn.export`), reads the generator config and
the backbone's size rule from its metadata_props, and runs (N, C, H, W) float32 batches;
`OnnxGenerator.run_padded` pads them to the size rule and crops back, as `nn.padding.run_padded`
does for a PyTorch generator.

The rest are numpy twins of the torch functions that ``translate --checkpoint`` uses, kept
equal to them by tests (tests/nn/test_nn_export.py):

- `reflect_pad_to`: `nn.padding.reflect_pad_to` (reflect, repeatedly; replicate 1-pixel sides);
- `to_signed_unit` / `from_signed_unit`: `files.values` (the one file-value mapping; those
  functions compute in numpy already and only wrap the result in a tensor);
- `sensor_depth_to_input` / `input_to_sensor_depth` / `upsample_to`: `data.depth` (sensor depth:
  holes filled from the nearest known pixel, bicubic up-sampling with PyTorch's antialiased
  kernel: Keys a = -0.5, taps outside the image dropped and the weights renormalised, as PIL).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .depth_filters import filter_signed_depth
from .errors import BadFileError, BadOptionError, UserError

CONFIG_KEY = "guided_pix2pix_config"  # the metadata keys of an exported file (nn.export.METADATA_KEYS)
SIZE_RULE_KEY = "guided_pix2pix_size_rule"
TASK_KEY = "guided_pix2pix_task"
INPUT_NAMES = ("input", "guide")
OUTPUT_NAME = "output"
INTEGER_WHITE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}  # as files.values


# ----------------------------------------------------------------------------- the model
@dataclass(frozen=True)
class ExportedConfig:
    """What the runner needs of the generator config in an exported file's metadata."""

    input_nc: int
    guide_nc: int
    output_nc: int
    backbone: str
    raw: dict


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _import_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise UserError(
            "running an ONNX model needs onnxruntime: pip install 'guided-pix2pix[export]'"
        ) from exc
    return onnxruntime


def providers_for(device: str, available: list[str]) -> list[Any]:
    """onnxruntime execution providers for a --device value: auto (CUDA if onnxruntime has it,
    else CPU), cpu, cuda or cuda:N."""
    if device == "auto":
        return (["CUDAExecutionProvider"] if "CUDAExecutionProvider" in available else []) + [
            "CPUExecutionProvider"
        ]
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device == "cuda" or device.startswith("cuda:"):
        index = device.partition(":")[2] or "0"
        if not index.isdigit():
            raise BadOptionError("--device", f"unknown device {device!r}; use auto, cpu, cuda or cuda:N")
        if "CUDAExecutionProvider" not in available:
            raise BadOptionError(
                "--device", f"{device}: this onnxruntime has no CUDA provider (it has {', '.join(available)})"
            )
        return [("CUDAExecutionProvider", {"device_id": int(index)}), "CPUExecutionProvider"]
    raise BadOptionError(
        "--device", f"unknown device {device!r} for an ONNX model; use auto, cpu, cuda or cuda:N"
    )


class OnnxGenerator:
    """An exported generator: ``gen(input, guide)`` on (N, C, H, W) float32 arrays in [-1, 1].

    Raises BadFileError naming `path` for a file that is not an ONNX model, or one that was not
    written by ``guided-pix2pix export`` (no config in its metadata, other inputs)."""

    def __init__(self, path: str | Path, device: str = "cpu") -> None:
        ort = _import_onnxruntime()
        self.path = path = Path(path)
        if not path.is_file():
            raise BadFileError(path, "no such file (--onnx takes a file written by guided-pix2pix export)")
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: no warnings on the terminal
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=providers_for(device, ort.get_available_providers())
            )
        except UserError:
            raise
        except Exception as exc:  # onnxruntime raises its own types (InvalidProtobuf, Fail, ...)
            raise BadFileError(path, f"not a readable ONNX model ({_one_line(exc)})") from exc
        meta = self.session.get_modelmeta().custom_metadata_map
        self.config = _read_config(path, meta)
        self.size_rule = _read_size_rule(path, meta)
        self.task = _read_json(path, meta, TASK_KEY) if TASK_KEY in meta else None
        self.fixed_size = self._check_graph()

    def _check_graph(self) -> tuple[int, int] | None:
        """(H, W) of a fixed-size export, None for a dynamic one; checks names and channels."""
        inputs = {i.name: i.shape for i in self.session.get_inputs()}
        outputs = [o.name for o in self.session.get_outputs()]
        if set(inputs) != set(INPUT_NAMES) or outputs != [OUTPUT_NAME]:
            raise BadFileError(
                self.path,
                f"expected inputs input, guide and output output (guided-pix2pix export), found "
                f"{', '.join(inputs)} -> {', '.join(outputs)}",
            )
        cfg = self.config
        hw = set()
        for name, channels in zip(INPUT_NAMES, (cfg.input_nc, cfg.guide_nc)):
            shape = inputs[name]
            if len(shape) != 4 or shape[1] != channels:
                raise BadFileError(
                    self.path, f"graph input {name} has shape {shape}, its config says {channels} channels"
                )
            hw.add(tuple(shape[2:]))
        fixed = [tuple(s) for s in hw if all(isinstance(d, int) for d in s)]
        return (int(fixed[0][0]), int(fixed[0][1])) if fixed else None

    def __call__(self, input: np.ndarray, guide: np.ndarray) -> np.ndarray:
        spec = self.config.raw.get("input_filter")
        if spec is not None:  # the graph holds the network only: its OpenCV pre-filter runs here
            input = np.stack([filter_signed_depth(x, g, spec) for x, g in zip(input, guide)])
        feeds = {
            INPUT_NAMES[0]: np.ascontiguousarray(input, dtype=np.float32),
            INPUT_NAMES[1]: np.ascontiguousarray(guide, dtype=np.float32),
        }
        return self.session.run([OUTPUT_NAME], feeds)[0]

    def padded_size(self, h: int, w: int) -> tuple[int, int]:
        """The smallest (H', W') >= (h, w) the model takes (as `nn.padding.padded_size`); a
        fixed-size export takes only its own size, and images that pad to another are refused."""
        multiple, minimum, rule = self.size_rule

        def up(n: int) -> int:
            return -(-max(n, minimum) // multiple) * multiple

        size = up(h), up(w)
        if self.fixed_size is not None and size != self.fixed_size:
            fh, fw = self.fixed_size
            raise BadOptionError(
                "--onnx",
                f"{self.path} was exported for {fh}x{fw} only; a {h}x{w} image pads to "
                f"{size[0]}x{size[1]} (export with --dynamic for images of any size)",
            )
        return size

    def run_padded(self, input: np.ndarray, guide: np.ndarray) -> np.ndarray:
        """G(input, guide) for (N, C, H, W) batches of any H, W: pad, run, crop back."""
        h, w = input.shape[-2:]
        H, W = self.padded_size(h, w)
        out = self(reflect_pad_to(input, H, W), reflect_pad_to(guide, H, W))
        return out[..., :h, :w].astype(np.float32, copy=False)


def _read_json(path: Path, meta: dict, key: str) -> Any:
    try:
        return json.loads(meta[key])
    except KeyError:
        raise BadFileError(
            path, f"no {key} in its metadata: not a generator written by guided-pix2pix export"
        ) from None
    except ValueError as exc:
        raise BadFileError(path, f"metadata {key} is not JSON ({exc})") from exc


def _read_config(path: Path, meta: dict) -> ExportedConfig:
    raw = _read_json(path, meta, CONFIG_KEY)
    values = {}
    for name in ("input_nc", "guide_nc", "output_nc"):
        value = raw.get(name) if isinstance(raw, dict) else None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise BadFileError(
                path, f"metadata {CONFIG_KEY}: {name} must be a positive integer, got {value!r}"
            )
        values[name] = value
    return ExportedConfig(**values, backbone=str(raw.get("backbone")), raw=raw)


def _read_size_rule(path: Path, meta: dict) -> tuple[int, int, str]:
    rule = _read_json(path, meta, SIZE_RULE_KEY)
    try:
        multiple, minimum, text = int(rule["multiple"]), int(rule["minimum"]), str(rule["rule"])
    except (TypeError, KeyError, ValueError) as exc:
        raise BadFileError(
            path, f"metadata {SIZE_RULE_KEY} must hold multiple, minimum and rule ({exc})"
        ) from exc
    if multiple < 1 or minimum < 1:
        raise BadFileError(path, f"metadata {SIZE_RULE_KEY}: multiple and minimum must be >= 1")
    return multiple, minimum, text


# ----------------------------------------------------------------------------- padding
def reflect_pad_to(x: np.ndarray, height: int, width: int) -> np.ndarray:
    """Reflect-pad (N, C, h, w) at the bottom and right to (height, width), as
    `nn.padding.reflect_pad_to`: repeatedly for images smaller than the padding, replicating
    1-pixel sides."""
    pad_h, pad_w = height - x.shape[-2], width - x.shape[-1]
    while pad_h > 0 or pad_w > 0:
        cur_h, cur_w = x.shape[-2:]
        step_h, step_w = min(max(pad_h, 0), cur_h - 1), min(max(pad_w, 0), cur_w - 1)
        if step_h == 0 and step_w == 0:  # only 1-pixel sides are left to grow: replicate them
            return np.pad(x, ((0, 0), (0, 0), (0, max(pad_h, 0)), (0, max(pad_w, 0))), mode="edge")
        x = np.pad(x, ((0, 0), (0, 0), (0, step_h), (0, step_w)), mode="reflect")
        pad_h, pad_w = pad_h - step_h, pad_w - step_w
    return x


# ----------------------------------------------------------------------------- file values
def to_signed_unit(arr: np.ndarray, path: Path) -> np.ndarray:
    """(H, W, C) uint8 / uint16 / float array -> (C, H, W) float32 in [-1, 1] (`files.values`)."""
    if arr.dtype in INTEGER_WHITE:
        x = arr.astype(np.float32) / INTEGER_WHITE[arr.dtype] * 2.0 - 1.0
    else:
        x = arr.astype(np.float32)
        if not np.isfinite(x).all():
            raise BadFileError(path, f"holds {int((~np.isfinite(x)).sum())} NaN or infinite values")
        lo, hi = float(x.min()), float(x.max())
        if lo < -1.0 - 1e-5 or hi > 1.0 + 1e-5:
            raise BadFileError(
                path,
                f"float values must lie in [-1, 1] (found {lo:.4g}..{hi:.4g}); save uint8/uint16 instead",
            )
        x = np.clip(x, -1.0, 1.0)
    return np.ascontiguousarray(x.transpose(2, 0, 1))  # (H, W, C) -> (C, H, W)


def from_signed_unit(x: np.ndarray, dtype: np.dtype | type) -> np.ndarray:
    """(C, H, W) network values -> (H, W, C) array of `dtype` (`files.values.from_signed_unit`)."""
    arr = np.asarray(x, dtype=np.float32).transpose(1, 2, 0)  # (C, H, W) -> (H, W, C)
    dtype = np.dtype(dtype)
    if dtype in INTEGER_WHITE:
        white = INTEGER_WHITE[dtype]
        return np.clip(np.rint((arr + 1.0) / 2.0 * white), 0, white).astype(dtype)
    return np.ascontiguousarray(np.clip(arr, -1.0, 1.0).astype(np.float32))


# ----------------------------------------------------------------------------- sensor depth
@dataclass(frozen=True)
class DepthScaling:
    """As `data.depth.DepthScaling`: [lo, hi] in the file's units -> [-1, 1]; the file's dtype."""

    lo: float
    hi: float
    dtype: np.dtype


def _keys_cubic(x: np.ndarray, a: float = -0.5) -> np.ndarray:
    x = np.abs(x)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x < 1, near, np.where(x < 2, far, 0.0))


def _resize_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of PyTorch's antialiased bicubic resize along one axis
    (`F.interpolate(mode="bicubic", antialias=True, align_corners=False)`, as PIL)."""
    scale = n_in / n_out
    support = 2.0 * max(scale, 1.0)
    invscale = 1.0 / scale if scale >= 1.0 else 1.0
    weights = np.zeros((n_out, n_in))
    for i in range(n_out):
        center = scale * (i + 0.5)
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), n_in)
        taps = np.arange(lo, hi)
        w = _keys_cubic((taps - center + 0.5) * invscale)
        total = w.sum()
        weights[i, lo:hi] = w / total if total != 0.0 else w
    return weights


def upsample_bicubic(low: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w) -> (H, W) bicubic, as `data.depth.upsample_bicubic` (float64 weights, float32 out)."""
    (h, w), (H, W) = low.shape, size
    out = _resize_matrix(h, H) @ low.astype(np.float64) @ _resize_matrix(w, W).T
    return out.astype(np.float32)


def upsample_to(low: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w) -> (H, W) on the protocols' aligned grid when (h, w) is the low-resolution grid of
    (H, W) at an integer factor, else a plain resize (`data.depth.upsample_to`)."""
    (h, w), (H, W) = low.shape, tuple(size)
    if (h, w) == (H, W):
        return low
    s = max(1, round(W / w))
    if max(1, math.ceil(H / s)) == h and max(1, math.ceil(W / s)) == w:
        return upsample_bicubic(low, (h * s, w * s))[:H, :W]
    return upsample_bicubic(low, (H, W))


def sensor_depth_to_input(
    arr: np.ndarray, size: tuple[int, int], path: Path
) -> tuple[np.ndarray, DepthScaling]:
    """A depth map as a camera writes it -> ((1, H, W) float32 network input, its scaling), as
    `data.depth.sensor_depth_to_input`."""
    from scipy import ndimage

    values = np.asarray(arr, dtype=np.float64).reshape(arr.shape[0], arr.shape[1])
    valid = np.isfinite(values) & (values > 0)
    if not valid.any():
        raise BadFileError(path, "no known depth pixel (every value is 0 or not finite)")
    if not valid.all():  # holes take their nearest known neighbour's depth
        nearest = ndimage.distance_transform_edt(~valid, return_distances=False, return_indices=True)
        values = values[tuple(nearest)]
    lo, hi = float(values[valid].min()), float(values[valid].max())
    if not hi > lo:
        hi = lo + max(1e-3, 1e-3 * abs(lo))
    up = upsample_to(values.astype(np.float32), size)
    x = np.clip((up - np.float32(lo)) / np.float32(hi - lo), 0.0, 1.0) * 2.0 - 1.0
    return x.astype(np.float32)[None], DepthScaling(lo, hi, np.dtype(arr.dtype))


def input_to_sensor_depth(x: np.ndarray, scaling: DepthScaling) -> np.ndarray:
    """(1, H, W) network output -> (H, W, 1) depth in the input file's units and dtype
    (`data.depth.input_to_sensor_depth`)."""
    x = np.asarray(x, dtype=np.float32)
    depth = ((x + 1.0) / 2.0 * np.float32(scaling.hi - scaling.lo) + np.float32(scaling.lo)).transpose(
        1, 2, 0
    )
    if np.issubdtype(scaling.dtype, np.integer):
        top = float(np.iinfo(scaling.dtype).max)
        return np.clip(np.rint(depth), 1.0, top).astype(scaling.dtype)
    return depth.astype(np.float32)
