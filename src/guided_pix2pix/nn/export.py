"""Exporting a `Generator` to ONNX or to a `torch.export` archive (.pt2), checked against eager.

`export_generator(model, path, fmt)` traces the generator once with `torch.export.export`
(`trace_generator`) and writes the trace as

- ``"onnx"``: an ONNX file through torch.onnx's torch.export-based exporter (the default one
  since PyTorch 2.9; the TorchScript exporter also works on these networks but is deprecated and
  freezes the Python size checks of `Generator.check_inputs` into constants), with the generator
  config in its metadata_props (`METADATA_KEYS`), so that a runner knows the channels and the
  size rule without PyTorch (`guided_pix2pix.onnx_runtime`);
- ``"torch-export"``: a .pt2 archive (`torch.export.save`), the same metadata in its extra files.

Shapes: the batch is always dynamic. With ``dynamic=True`` height and width are too, within the
backbone's size rule (`body.size_rule`: H = multiple * h with h >= ceil(minimum / multiple), so
the file takes every size the eager model takes); otherwise they are fixed at `size`.

The file is written under a temporary name, run (onnxruntime on the CPU for ONNX,
`torch.export.load` for .pt2) against the eager model on the same seeded inputs in [-1, 1] at
one size (two with ``dynamic=True``), and renamed into place only if the largest absolute
difference is at most `TOLERANCE` at every size: a file at `path` has passed its check
(`ExportCheckError` otherwise).

The model is traced in "reference" execution mode (`Generator.set_execution_mode`: the official
op sequence, plain convolutions; "fast" picks CPU-specific batched matrix products that a
deployment runtime does not need), restored afterwards; both modes compute the same function.
Generators with an `input_filter` (an OpenCV filter of the input run inside `forward`, outside
PyTorch's operators) export to ONNX as their network only, with the filter in the metadata
config: the runner of `translate --onnx` (`onnx_runtime`) applies the same OpenCV call first,
and the check below compares that pair with the eager generator. torch-export refuses them.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import BadFileError, BadOptionError, UserError
from ..files.atomic import write_atomic
from ..onnx_runtime import CONFIG_KEY, INPUT_NAMES, OUTPUT_NAME, SIZE_RULE_KEY, TASK_KEY, OnnxGenerator
from .generator import Generator, GeneratorConfig

FORMATS = ("onnx", "torch-export")
SUFFIXES = {"onnx": ".onnx", "torch-export": ".pt2"}
TOLERANCE = 1e-4  # largest |eager - file| accepted, in network values ([-1, 1])
# metadata_props of an exported ONNX file (extra files of a .pt2), each a JSON text
METADATA_KEYS = {
    "config": CONFIG_KEY,  # GeneratorConfig.to_dict()
    "size_rule": SIZE_RULE_KEY,  # {"multiple", "minimum", "rule"} of body.size_rule
    "task": TASK_KEY,  # "depth", "pose", "texture" or "generic", when the caller knows
    "version": "guided_pix2pix_version",
}
ONNX_LIMIT_BYTES = 2**31 - 2**26  # one protobuf file holds 2 GiB; keep room for the graph
EXPORT_EXTRA = "pip install 'guided-pix2pix[export]' (onnx, onnxscript, onnxruntime)"


class ExportCheckError(BadFileError):
    """The exported file does not reproduce the eager generator within `TOLERANCE`."""


@dataclass(frozen=True)
class SizeCheck:
    """One run of the exported file against eager: batch x height x width, largest |difference|."""

    batch: int
    height: int
    width: int
    max_abs_error: float


@dataclass
class ExportResult:
    """What `export_generator` wrote and how the file compared with the eager model."""

    path: Path
    fmt: str
    dynamic: bool
    size: tuple[int, int]
    size_rule: tuple[int, int, str]
    checks: list[SizeCheck] = field(default_factory=list)
    tolerance: float = TOLERANCE
    opset: int | None = None

    def describe(self) -> list[str]:
        """The lines `guided-pix2pix export` prints."""
        rule = self.size_rule[2]
        h, w = self.size
        shape = f"free batch, height and width: {rule}" if self.dynamic else f"free batch, fixed size {h}x{w}"
        kind = f"ONNX opset {self.opset}" if self.fmt == "onnx" else "torch.export archive"
        size = self.path.stat().st_size / 2**20
        lines = [f"wrote {self.path} ({kind}, {shape}; {size:.1f} MiB)"]
        for c in self.checks:
            lines.append(
                f"  checked at {c.batch}x{c.height}x{c.width} (NxHxW): max |eager - file| = "
                f"{c.max_abs_error:.2e} (tolerance {self.tolerance:.0e})"
            )
        return lines


# ----------------------------------------------------------------------------- checks
def check_exportable(model: Generator, fmt: str = "onnx") -> None:
    """Refuse (BadOptionError) a generator that cannot be exported to `fmt`."""
    prior = model.config.output_prior
    if prior is not None:
        raise BadOptionError(
            "--checkpoint",
            f"this generator starts its output from the {prior} prior (nn.priors: scipy, outside "
            "PyTorch's operators), which neither export format carries yet; run it with translate",
        )
    spec = model.config.input_filter
    if spec is not None and fmt != "onnx":
        raise BadOptionError(
            "--format",
            f"this generator filters its input with OpenCV ({spec.get('name', spec)}) before its network, "
            "outside PyTorch's operators; only --format onnx carries that step (the ONNX runner of "
            "translate --onnx applies it), a torch-export program would not",
        )
    for p in model.parameters():
        if p.device.type != "cpu":
            raise BadOptionError(
                "model", f"export runs on the CPU; the generator is on {p.device} (use .cpu())"
            )
        break


def check_size(model: Generator, size: tuple[int, int], option: str = "--size") -> tuple[int, int]:
    """`size` (H, W) if the backbone takes it, else BadOptionError naming the rule."""
    multiple, minimum, rule = model.body.size_rule(model.config)
    h, w = (int(s) for s in size)
    if h % multiple or w % multiple or h < minimum or w < minimum:
        raise BadOptionError(
            option,
            f"{h}x{w} is not a size the {model.config.backbone} backbone takes: H and W must be {rule}",
        )
    return h, w


def default_size(model: Generator) -> tuple[int, int]:
    """The smallest size of at least 64 x 64 that the backbone takes."""
    multiple, minimum, _ = model.body.size_rule(model.config)
    side = max(minimum, -(-64 // multiple) * multiple)
    return side, side


def check_sizes(model: Generator, size: tuple[int, int], dynamic: bool) -> list[tuple[int, int, int]]:
    """(batch, H, W) the file is run at: `size` with a batch of 1, and with ``dynamic`` a second,
    larger and non-square size with a batch of 2."""
    multiple = model.body.size_rule(model.config)[0]
    h, w = size
    return [(1, h, w)] + ([(2, h + multiple, w + 2 * multiple)] if dynamic else [])


# ----------------------------------------------------------------------------- tracing
@contextlib.contextmanager
def _exporting(model: Generator) -> Iterator[None]:
    """Eval and "reference" mode while exporting; the model's own mode and training flag after."""
    mode, training = model.execution_mode, model.training
    model.eval().set_execution_mode("reference")
    try:
        yield
    finally:
        model.set_execution_mode(mode).train(training)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporters' progress lines, warnings and log records (e.g. 'torchvision is not
    installed') kept off the terminal; errors still raise."""
    loggers = [
        logging.getLogger(name) for name in ("torch.onnx", "torch.export", "torch._export", "onnxscript")
    ]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _examples(model: Generator, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    cfg = model.config
    h, w = size
    return torch.zeros(2, cfg.input_nc, h, w), torch.zeros(2, cfg.guide_nc, h, w)


def trace_generator(
    model: Generator, dynamic: bool = True, size: tuple[int, int] | None = None
) -> torch.export.ExportedProgram:
    """`torch.export.export` of the generator (see the module docstring): batch dynamic; with
    `dynamic` height and width symbolic multiples of the size rule, else fixed at `size`."""
    model = network_only(model)
    multiple, minimum, _ = model.body.size_rule(model.config)
    batch = torch.export.Dim("batch", min=1, max=4096)
    if dynamic:
        low = -(-minimum // multiple)  # the fewest size-rule blocks per side
        h_blocks = torch.export.Dim("height_blocks", min=low)
        w_blocks = torch.export.Dim("width_blocks", min=low)
        dims = {0: batch, 2: multiple * h_blocks, 3: multiple * w_blocks}
        # traced on fake tensors: any size works; two or more blocks per side, and H != W, so
        # that no symbol is specialised to 1 or tied to the other
        trace_size = (multiple * max(2, low), multiple * (max(2, low) + 1))
    else:
        dims = {0: batch}
        trace_size = check_size(model, size or default_size(model))
    with _exporting(model), _quiet():
        return torch.export.export(
            model, _examples(model, trace_size), dynamic_shapes={"input": dims, "guide": dims}
        )


def network_only(model: Generator) -> Generator:
    """`model` itself, or for one with an `input_filter` a copy without it (same weights, mode
    and training flag): the part a graph can hold."""
    if model.config.input_filter is None:
        return model
    config = GeneratorConfig.from_dict({**model.config.to_dict(), "input_filter": None})
    copy = Generator(config)
    copy.load_state_dict(model.state_dict())
    copy.set_execution_mode(model.execution_mode)
    return copy.train(model.training)


# ----------------------------------------------------------------------------- writing
def export_metadata(model: Generator, task: str | None = None) -> dict[str, str]:
    """The metadata an exported file carries (`METADATA_KEYS`), as JSON texts."""
    from .. import __version__

    multiple, minimum, rule = model.body.size_rule(model.config)
    meta = {
        METADATA_KEYS["config"]: json.dumps(model.config.to_dict(), sort_keys=True),
        METADATA_KEYS["size_rule"]: json.dumps({"multiple": multiple, "minimum": minimum, "rule": rule}),
        METADATA_KEYS["version"]: json.dumps(__version__),
    }
    if task is not None:
        meta[METADATA_KEYS["task"]] = json.dumps(task)
    return meta


def _to_onnx(program: torch.export.ExportedProgram, model: Generator) -> Any:
    try:
        import onnxscript  # noqa: F401  (torch.onnx's exporter needs it; say so before tracing)
    except ImportError as exc:
        raise UserError(f"ONNX export needs onnx and onnxscript: {EXPORT_EXTRA}") from exc
    with _quiet():
        onnx_program = torch.onnx.export(
            program,  # already traced: no example inputs needed
            input_names=list(INPUT_NAMES),
            output_names=[OUTPUT_NAME],
            dynamo=True,
            optimize=True,
        )
    assert onnx_program is not None  # the torch.export-based exporter returns the program
    return onnx_program


def _onnx_opset(onnx_program: Any) -> int | None:
    return onnx_program.model.opset_imports.get("")


def write_onnx(
    program: torch.export.ExportedProgram, model: Generator, path: Path, task: str | None = None
) -> tuple[Any, int | None]:
    """(ONNX program, opset) of `program`, saved to `path` with `export_metadata` (one file)."""
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    if weight_bytes > ONNX_LIMIT_BYTES:
        raise BadOptionError(
            "--format",
            f"this generator's weights take {weight_bytes / 2**30:.1f} GiB, more than one ONNX file "
            "holds (2 GiB); use --format torch-export",
        )
    onnx_program = _to_onnx(program, model)
    onnx_program.model.metadata_props.update(export_metadata(model, task))
    onnx_program.save(str(path), external_data=False)
    return onnx_program, _onnx_opset(onnx_program)


def write_torch_export(
    program: torch.export.ExportedProgram, model: Generator, path: Path, task: str | None = None
) -> None:
    """Save `program` as a .pt2 archive with `export_metadata` as extra files."""
    torch.export.save(program, str(path), extra_files=export_metadata(model, task))


# ----------------------------------------------------------------------------- checking
def _inputs(model: Generator, batch: int, h: int, w: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (input, guide) in [-1, 1], float32 NCHW."""
    rng = np.random.default_rng(seed)
    cfg = model.config
    x = rng.uniform(-1, 1, (batch, cfg.input_nc, h, w)).astype(np.float32)
    g = rng.uniform(-1, 1, (batch, cfg.guide_nc, h, w)).astype(np.float32)
    return x, g


def _eager(model: Generator, x: np.ndarray, g: np.ndarray) -> np.ndarray:
    with torch.no_grad(), _exporting(model):
        return model(torch.from_numpy(x), torch.from_numpy(g)).numpy()


def verify_file(model: Generator, path: Path, fmt: str, sizes: list[tuple[int, int, int]]) -> list[SizeCheck]:
    """Run the exported file at each (batch, H, W) of `sizes` against the eager model."""
    run: Callable[[np.ndarray, np.ndarray], np.ndarray]
    if fmt == "onnx":  # through the runner of `translate --onnx`: its metadata checks included
        run = OnnxGenerator(path, "cpu")
    else:
        with _quiet():
            module = torch.export.load(str(path)).module()

        def run(x: np.ndarray, g: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return module(torch.from_numpy(x), torch.from_numpy(g)).numpy()

    checks = []
    for seed, (batch, h, w) in enumerate(sizes):
        x, g = _inputs(model, batch, h, w, seed)
        want, got = _eager(model, x, g), np.asarray(run(x, g))
        if got.shape != want.shape:
            raise ExportCheckError(
                path, f"the exported file gives shape {got.shape} at {h}x{w}, eager {want.shape}"
            )
        error = float(np.abs(got.astype(np.float64) - want).max())
        checks.append(SizeCheck(batch, h, w, error if np.isfinite(error) else float("inf")))
    return checks


def export_generator(
    model: Generator,
    path: str | Path,
    fmt: str = "onnx",
    dynamic: bool = False,
    size: tuple[int, int] | None = None,
    task: str | None = None,
    program: torch.export.ExportedProgram | None = None,
) -> ExportResult:
    """Export `model` to `path` as `fmt` (see the module docstring) and check the file.

    size: (H, W) of a fixed-size export, and the first size checked (default `default_size`).
    task: recorded in the metadata ("depth", "pose", "texture", "generic"), when known.
    program: a trace from `trace_generator` with the same `dynamic` and `size`, to reuse.
    Returns an ExportResult; raises ExportCheckError (nothing written) when the file differs from
    eager by more than `TOLERANCE`, BadOptionError for a generator that cannot be exported."""
    if fmt not in FORMATS:
        raise BadOptionError("--format", f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    path = Path(path)
    check_exportable(model, fmt)
    size = check_size(model, size) if size is not None else default_size(model)
    if program is None:
        program = trace_generator(model, dynamic, size)
    result = ExportResult(path, fmt, dynamic, size, model.body.size_rule(model.config))

    def write_and_check(tmp: Path) -> None:
        if fmt == "onnx":
            _, result.opset = write_onnx(program, model, tmp, task)
        else:
            write_torch_export(program, model, tmp, task)
        result.checks = verify_file(model, tmp, fmt, check_sizes(model, size, dynamic))
        worst = max(result.checks, key=lambda c: c.max_abs_error)
        if not worst.max_abs_error <= TOLERANCE:
            raise ExportCheckError(
                path,
                f"the exported file differs from the eager generator by {worst.max_abs_error:.2e} at "
                f"{worst.height}x{worst.width} (tolerance {TOLERANCE:.0e}); nothing was written",
            )

    write_atomic(path, write_and_check, what="export failed")
    return result
