"""Ways to run a trained generator forward (inference: eval mode, no gradient), and the one
`translate` takes by default.

Every path computes the function of the eager float32 generator; `training.inference_bench`
(``guided-pix2pix bench --inference``) times each against the official forward (the
"reference" execution mode) and checks its output against it (`TOLERANCE`).

`INFERENCE_PATHS` maps a name to a builder ``(generator, input, guide, threads) -> Runner``;
the builder gets its own copy of the generator (in eval mode) and may change it:

- ``eager_fast``: the generator in its "fast" execution mode (`Generator.set_execution_mode`),
  as `translate` ran it before `prepacked`;
- ``channels_last``: fast mode with the model and its inputs in the channels_last memory format;
- ``prepacked``: fast mode with every convolution's weights reordered once into oneDNN's blocked
  layout (`prepack_convolutions`) instead of on every call (CPU only; see `PrepackedConv`);
- ``compile``: `torch.compile` of the fast-mode generator (inductor; compiling on the first
  call takes tens of seconds on a small CPU); ``compile_frozen`` the same with inductor's
  ``freezing`` (parameters become constants: convolution weights prepacked, folded; no grad);
- ``onnx``: exported with `nn.export.export_generator` (fixed size, checked against eager) to a
  temporary file and run on onnxruntime through `onnx_runtime.OnnxGenerator`, with as many
  onnxruntime threads as torch has (CPU only; needs onnxruntime; refuses output priors).

`default_path(device)` is what `translate` uses: ``prepacked`` on the CPU, where it measured
fastest (docs/benchmarks.md, "Inference (issue 14)"), ``eager_fast`` elsewhere;
`prepare_for_inference(model, device)` applies it to a model in place.
"""

from __future__ import annotations

import copy
import functools
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import BadOptionError
from .generator import Generator

TOLERANCE = 1e-4  # largest |path - eager fp32 reference| accepted, in network values ([-1, 1])


# ----------------------------------------------------------------------------- prepacked convolutions
@functools.cache
def _mkldnn_ops_available() -> bool:
    """Whether this build has oneDNN and the inductor ops `PrepackedConv` calls (checked once)."""
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        ops = torch.ops.mkldnn
        return all(
            hasattr(ops, name)
            for name in (
                "_convolution_pointwise",
                "_convolution_transpose_pointwise",
                "_reorder_convolution_weight",
                "_reorder_convolution_transpose_weight",
            )
        )
    except (AttributeError, RuntimeError):
        return False


class PrepackedConv(nn.Module):
    """Mixin of `PrepackedConv2d` / `PrepackedConvTranspose2d`: the convolution with its weight
    reordered into oneDNN's blocked layout once per input shape, not on every call.

    PyTorch's oneDNN convolution reorders a plain (O, I, kH, kW) weight on every call; for the
    wide layers at small spatial sizes (the inner U-Net levels: 8 M weights and 2 x 2 pixels)
    that reorder costs more than the convolution. Here the weight is packed with inductor's
    own ops (`torch.ops.mkldnn._reorder_convolution_weight` and the transposed one, which
    `torch.compile` uses when it freezes weights) and the convolution runs through
    `torch.ops.mkldnn._convolution_pointwise`; the output is made contiguous (NCHW) as eager's.

    The packed weight is made on the *second* call with a given input shape (the first runs
    eagerly), so a single forward costs what it did before. Everything else runs the plain
    module: gradients enabled, non-CPU or non-float32 tensors, an `output_size` argument, a
    weight changed since it was packed (its version counter), or ops this build lacks.
    Parameters and state_dict are the plain module's (`prepack_convolutions` only swaps the class).
    """

    _packed: tuple[tuple, torch.Tensor] | None = None  # (key, packed weight) of the last shape
    _seen: tuple | None = None  # key of the last eager call

    def _pack_key(self, x: torch.Tensor) -> tuple:
        w: torch.Tensor = self.weight  # type: ignore[assignment]
        return (tuple(x.shape), w.data_ptr(), w._version)

    def _can_pack(self, x: torch.Tensor) -> bool:
        w: torch.Tensor = self.weight  # type: ignore[assignment]
        return (
            not torch.is_grad_enabled()
            and x.dim() == 4
            and x.device.type == "cpu"
            and x.dtype == torch.float32
            and w.dtype == torch.float32
            and w.device.type == "cpu"
            and _mkldnn_ops_available()
        )

    def _packed_weight(self, x: torch.Tensor) -> torch.Tensor | None:
        """The packed weight for x's shape, packing it on the second call with that shape."""
        key = self._pack_key(x)
        packed = self._packed
        if packed is not None and packed[0] == key:
            return packed[1]
        if self._seen != key:  # first call with this shape: eager
            self._seen = key
            return None
        self._packed = (key, self._pack(x))
        return self._packed[1]

    def _pack(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def __getstate__(self) -> dict[str, Any]:
        """Copies and pickles leave the packed weight behind (oneDNN tensors have no storage)."""
        state = dict(self.__dict__)
        state["_packed"] = None
        state["_seen"] = None
        return state

    def unpack(self) -> None:
        """Drop the packed weight (it is made again on the next calls)."""
        self._packed = None
        self._seen = None


class PrepackedConv2d(PrepackedConv, nn.Conv2d):
    """`nn.Conv2d` with a packed weight for no-grad CPU calls (see `PrepackedConv`)."""

    def _pack(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.mkldnn._reorder_convolution_weight(
            self.weight.detach(),
            list(self.padding),
            list(self.stride),
            list(self.dilation),
            self.groups,
            list(x.shape),
        )

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        packed = self._packed_weight(input) if self._can_pack(input) else None
        if packed is None:
            return super().forward(input)
        bias = None if self.bias is None else self.bias.detach()
        out = torch.ops.mkldnn._convolution_pointwise(
            input,
            packed,
            bias,
            list(self.padding),
            list(self.stride),
            list(self.dilation),
            self.groups,
            "none",
            [],
            "",
        )
        return out.contiguous()


class PrepackedConvTranspose2d(PrepackedConv, nn.ConvTranspose2d):
    """`nn.ConvTranspose2d` with a packed weight for no-grad CPU calls (see `PrepackedConv`)."""

    def _pack(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.mkldnn._reorder_convolution_transpose_weight(
            self.weight.detach(),
            list(self.padding),
            list(self.output_padding),
            list(self.stride),
            list(self.dilation),
            self.groups,
            list(x.shape),
        )

    def forward(self, input: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        packed = self._packed_weight(input) if output_size is None and self._can_pack(input) else None
        if packed is None:
            return super().forward(input, output_size)
        bias = None if self.bias is None else self.bias.detach()
        out = torch.ops.mkldnn._convolution_transpose_pointwise(
            input,
            packed,
            bias,
            list(self.padding),
            list(self.output_padding),
            list(self.stride),
            list(self.dilation),
            self.groups,
            "none",
            [],
            "",
        )
        return out.contiguous()


_PREPACKED: dict[type, type] = {nn.Conv2d: PrepackedConv2d, nn.ConvTranspose2d: PrepackedConvTranspose2d}


def prepack_convolutions(model: nn.Module) -> int:
    """Turn every plain 2-D convolution of `model` (exactly nn.Conv2d / nn.ConvTranspose2d,
    zero padding) into its `PrepackedConv` class, in place; returns how many. The parameters,
    state_dict and results stay the same; a no-op where oneDNN's ops are missing."""
    if not _mkldnn_ops_available():
        return 0
    count = 0
    for module in model.modules():
        cls = _PREPACKED.get(type(module))
        if cls is not None and getattr(module, "padding_mode", "zeros") == "zeros":
            module.__class__ = cls
            count += 1
    return count


def packed_weight_bytes(model: nn.Module) -> int:
    """Bytes of the packed weight copies `model` holds now (float32, beside its parameters)."""
    total = 0
    for m in model.modules():
        if isinstance(m, (PrepackedConv2d, PrepackedConvTranspose2d)) and m._packed is not None:
            total += 4 * m.weight.numel()
    return total


# ----------------------------------------------------------------------------- paths
@dataclass
class Runner:
    """A built inference path: ``run(input, guide)`` -> float32 NCHW tensor on the input's device."""

    run: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    setup: str  # what building it and its first calls do (reported next to setup_s)
    info: dict[str, Any] = field(default_factory=dict)
    cleanup: Callable[[], None] | None = None
    report: Callable[[], dict[str, Any]] | None = None  # more keys, asked after the runs


Builder = Callable[[Generator, torch.Tensor, torch.Tensor, int], Runner]


def _eager_fast(model: Generator, x: torch.Tensor, g: torch.Tensor, threads: int) -> Runner:
    model.set_execution_mode("fast").eval()
    return Runner(model, "none")


def _channels_last(model: Generator, x: torch.Tensor, g: torch.Tensor, threads: int) -> Runner:
    cl = torch.channels_last
    model.set_execution_mode("fast").eval()
    model.to(memory_format=cl)  # type: ignore[call-overload]  # the stub lacks memory_format

    def run(input: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
        out = model(input.contiguous(memory_format=cl), guide.contiguous(memory_format=cl))
        return out.contiguous()

    return Runner(run, "model converted to channels_last")


def _prepacked(model: Generator, x: torch.Tensor, g: torch.Tensor, threads: int) -> Runner:
    if x.device.type != "cpu":
        raise BadOptionError("--inference-path", "prepacked runs on the CPU (oneDNN weight layout)")
    model.set_execution_mode("fast").eval()
    count = prepack_convolutions(model)
    return Runner(
        model,
        "convolution weights packed on the second call of each input shape",
        {"prepacked_convolutions": count},
        report=lambda: {"packed_weights_mib": round(packed_weight_bytes(model) / 2**20, 1)},
    )


def _compile(model: Generator, x: torch.Tensor, g: torch.Tensor, threads: int) -> Runner:
    model.set_execution_mode("fast").eval()
    compiled = torch.compile(model)
    return Runner(compiled, "torch.compile (inductor) on the first call")


def _compile_frozen(model: Generator, x: torch.Tensor, g: torch.Tensor, threads: int) -> Runner:
    import torch._inductor.config as inductor_config

    model.set_execution_mode("fast").eval()
    compiled = torch.compile(model)

    def run(input: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
        # torch.compile(options={"freezing": True}) does not reach the freezing pass (measured:
        # the same speed as plain compile); the config patch around the compiling call does
        with inductor_config.patch(freezing=True):
            return compiled(input, guide)

    return Runner(run, "torch.compile (inductor, weights frozen and prepacked) on the first call")


def _onnx(model: Generator, x: torch.Tensor, g: torch.Tensor, threads: int) -> Runner:
    if x.device.type != "cpu":
        raise BadOptionError("--inference-path", "the onnx path runs onnxruntime on the CPU")
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise BadOptionError(
            "--inference-path", f"onnx needs onnxruntime (pip install onnxruntime): {exc}"
        ) from exc
    from ..onnx_runtime import OnnxGenerator
    from .export import export_generator

    folder = tempfile.TemporaryDirectory(prefix="guided_pix2pix_onnx_")
    path = Path(folder.name) / "generator.onnx"
    try:
        export_generator(model, path, "onnx", dynamic=False, size=(int(x.shape[-2]), int(x.shape[-1])))
        runner = OnnxGenerator(path, "cpu")
        # the same number of threads as torch (onnxruntime's default is one per physical core)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        runner.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except BaseException:
        folder.cleanup()
        raise

    def run(input: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
        out = runner(input.numpy(), guide.numpy())
        return torch.from_numpy(np.asarray(out, dtype=np.float32))

    return Runner(
        run,
        "export + check against eager + onnxruntime session",
        {"onnxruntime": ort.__version__, "onnxruntime_threads": threads},
        folder.cleanup,
    )


INFERENCE_PATHS: dict[str, Builder] = {
    "eager_fast": _eager_fast,
    "channels_last": _channels_last,
    "prepacked": _prepacked,
    "compile": _compile,
    "compile_frozen": _compile_frozen,
    "onnx": _onnx,
}
AUTO = "auto"  # the path translate takes on the device: default_path(device)


def default_path(device: torch.device | str) -> str:
    """The inference path `translate` takes on `device` (see the module docstring)."""
    kind = torch.device(device).type
    return "prepacked" if kind == "cpu" and _mkldnn_ops_available() else "eager_fast"


def resolve_path(name: str, device: torch.device | str) -> str:
    """`name`, or for "auto" the default path on `device`; BadOptionError for unknown names."""
    if name == AUTO:
        return default_path(device)
    if name not in INFERENCE_PATHS:
        choices = ", ".join([AUTO, *INFERENCE_PATHS])
        raise BadOptionError("--inference-path", f"unknown inference path {name!r}; choose from {choices}")
    return name


def build_path(
    name: str, model: Generator, input: torch.Tensor, guide: torch.Tensor, threads: int | None = None
) -> Runner:
    """Build path `name` ("auto" allowed) on a deep copy of `model` (the model is not changed)."""
    resolved = resolve_path(name, input.device)
    copy_ = copy.deepcopy(model).eval()
    return INFERENCE_PATHS[resolved](copy_, input, guide, threads or torch.get_num_threads())


def prepare_for_inference(model: Generator, device: torch.device | str) -> str:
    """Put `model` (eval mode, in place) on `default_path(device)`; returns the path's name.

    Both default paths keep the module tree, parameters and everything the generator does
    around its network (input filters, output priors), so any generator can take them."""
    name = default_path(device)
    model.eval()
    if name == "prepacked":
        prepack_convolutions(model)
    return name


def max_abs_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """Largest |a - b| in float64 (inf for NaN or shape mismatch)."""
    if a.shape != b.shape:
        return float("inf")
    error = float((a.detach().double() - b.detach().double()).abs().max())
    return error if error == error else float("inf")


__all__ = [
    "AUTO",
    "INFERENCE_PATHS",
    "TOLERANCE",
    "PrepackedConv2d",
    "PrepackedConvTranspose2d",
    "Runner",
    "build_path",
    "default_path",
    "max_abs_error",
    "packed_weight_bytes",
    "prepack_convolutions",
    "prepare_for_inference",
    "resolve_path",
]
