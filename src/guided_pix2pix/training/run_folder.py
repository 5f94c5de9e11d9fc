"""The run folder: its layout, its preparation, its metrics log, and finding its generator.

Layout of ``RUN/``::

    config.yaml                 the run config (readable YAML; a rerun must match it to resume)
    metrics.jsonl               one JSON object per logged step
    tensorboard/                scalars and image grids
    checkpoints/step_*/         atomic, checksummed checkpoints (see `training.checkpoint`)
    generator/                  the finished generator (save_pretrained)
    summary.json                the finished run's summary
    .lock                       flock'ed by the one `train` process writing the folder (its pid)

`locate_generator(path)` finds the generator behind a --checkpoint path: a `save_pretrained`
folder, ``RUN/generator``, else the newest ``RUN/checkpoints/step_*/generator``, or a shipped
model by name (``pretrained:depth_x8``, `nn.pretrained`).
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import threading
from pathlib import Path
from typing import IO

import torch

from ..errors import BadFileError, BadOptionError
from ..files.atomic import write_text_atomic
from ..nn.generator import CONFIG_NAME, WEIGHTS_NAME, Generator
from ..nn.pretrained import is_pretrained_name, resolve_pretrained
from .checkpoint import list_checkpoints, read_meta
from .config import RunConfig, dump_config, read_yaml_mapping

CHECKPOINTS = "checkpoints"
METRICS_FILE = "metrics.jsonl"
CONFIG_FILE = "config.yaml"
GENERATOR_DIR = "generator"
SUMMARY_FILE = "summary.json"
LOCK_FILE = ".lock"
SECTIONS_FIXED_FOR_RESUME = ("model", "discriminator", "data")


def run_identity(cfg: RunConfig) -> str:
    """The sections a resumed run must share with its checkpoints, as one JSON string; stored in
    every checkpoint, so a resume is checked even when the run folder's config.yaml is gone."""
    sections = cfg.to_dict()
    return json.dumps({name: sections[name] for name in SECTIONS_FIXED_FOR_RESUME}, sort_keys=True)


class RunFolderLock:
    """One writer per run folder: an exclusive `fcntl.flock` on ``RUN/.lock``, which holds the pid.

    A second `train` on the same folder is refused naming the holder. The kernel drops the lock
    when its process ends, however it ends (kill -9 included), so a stale lock file never blocks
    a rerun. Used as a context manager; taken before anything else is written to the folder."""

    def __init__(self, out_dir: Path):
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / LOCK_FILE
        self.fh: IO[str] | None = None

    def __enter__(self) -> RunFolderLock:
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            fh = open(self.path, "a+")
        except OSError as exc:
            raise BadFileError(self.out_dir, f"run folder is not writable ({exc.strerror or exc})") from exc
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:  # BlockingIOError: another process holds it
            fh.seek(0)
            holder = fh.read(32).strip() or "unknown"
            fh.close()
            raise BadOptionError(
                "--out",
                f"{self.out_dir} is being written by another train process (pid {holder}, lock "
                f"{self.path}); wait for it to end or choose another --out",
            ) from exc
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self.fh = fh
        return self

    def __exit__(self, *exc) -> None:
        if self.fh is not None:
            fcntl.flock(self.fh.fileno(), fcntl.LOCK_UN)
            self.fh.close()
            self.fh = None


def prepare_run_folder(out_dir: Path, cfg: RunConfig) -> None:
    """Create the run folder (or check a resumed one) and prove it is writable before training."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".write_test"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        raise BadFileError(out_dir, f"run folder is not writable ({exc.strerror or exc})") from exc
    config_path = out_dir / CONFIG_FILE
    if config_path.is_file():
        previous = read_yaml_mapping(config_path, "run folder's config")
        current = cfg.to_dict()
        for section in SECTIONS_FIXED_FOR_RESUME:
            if previous.get(section) != current[section]:
                raise BadOptionError(
                    "--out",
                    f"{out_dir} holds a run with a different '{section}' section; resume with the same "
                    "config or choose another --out",
                )
    else:  # no config.yaml: the newest checkpoint's record of its run must match
        _check_checkpoints_belong(out_dir, cfg)
    write_text_atomic(config_path, dump_config(cfg))


def _check_checkpoints_belong(out_dir: Path, cfg: RunConfig) -> None:
    for folder in reversed(list_checkpoints(out_dir / CHECKPOINTS)):
        try:
            recorded = read_meta(folder).get("run")
        except BadFileError:
            continue  # a damaged checkpoint: the resume skips it and says so
        if recorded is not None and recorded != run_identity(cfg):
            raise BadOptionError(
                "--out",
                f"{folder} was written by a run with a different model, discriminator or data section "
                "(and the run's config.yaml is gone); resume with the same config or choose another --out",
            )
        return


class MetricsLog:
    """metrics.jsonl (one JSON object per logged step) and TensorBoard, main process only.

    On resume, lines past the resumed step are dropped so the log reads as one run."""

    def __init__(self, out_dir: Path, resume_step: int, enabled: bool):
        self.enabled = enabled
        self.path = out_dir / METRICS_FILE
        self.writer = None
        self.tensorboard_dir = out_dir / "tensorboard"
        self._previous_hook = None
        if not enabled:
            return
        if self.path.exists():
            kept = []
            for number, line in enumerate(self.path.read_text(errors="replace").splitlines(), 1):
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    break  # a line cut by a kill: drop it and everything after
                step = record.get("step", 0) if isinstance(record, dict) else None
                if isinstance(step, bool) or not isinstance(step, int):
                    raise BadFileError(
                        self.path,
                        f"line {number} is not a metrics record (a JSON object with an integer step); "
                        "fix or remove that line",
                    )
                if step <= resume_step:
                    kept.append(line)
            write_text_atomic(self.path, "".join(f"{line}\n" for line in kept))
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard is optional at run time
            return
        # TensorBoard writes its event file from a thread of its own: a failed write there (a
        # full disk) would print that thread's traceback. The hook keeps it quiet and turns
        # TensorBoard off with one line; metrics.jsonl and the checkpoints go on as before.
        self._previous_hook = threading.excepthook
        threading.excepthook = self._thread_failed
        try:
            self.writer = SummaryWriter(str(self.tensorboard_dir), purge_step=resume_step + 1)
        except OSError as exc:
            self._give_up_tensorboard(exc)

    def _thread_failed(self, hook_args) -> None:
        walk = hook_args.exc_traceback
        while walk is not None:  # is the failing thread TensorBoard's writer?
            if "tensorboard" in walk.tb_frame.f_code.co_filename:
                self._give_up_tensorboard(hook_args.exc_value)
                return
            walk = walk.tb_next
        (self._previous_hook or threading.__excepthook__)(hook_args)

    def _give_up_tensorboard(self, exc: BaseException) -> None:
        if self.writer is None and self._previous_hook is None:
            return
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        print(
            f"train: TensorBoard write failed in {self.tensorboard_dir} ({reason}); TensorBoard is off "
            f"for the rest of the run, scalars go on in {self.path.name}",
            file=sys.stderr,
        )
        self.writer = None
        self._restore_hook()

    def _restore_hook(self) -> None:
        if self._previous_hook is not None:
            threading.excepthook = self._previous_hook
            self._previous_hook = None

    def _to_tensorboard(self, write) -> None:
        if self.writer is None:
            return
        try:
            write(self.writer)
        except Exception as exc:  # noqa: BLE001 - TensorBoard is optional: any failure turns it off
            self._give_up_tensorboard(exc)

    def scalars(self, step: int, values: dict) -> None:
        if not self.enabled:
            return
        record = {"step": step, **values}
        try:
            with open(self.path, "a") as fh:
                fh.write(json.dumps(record) + "\n")
        except OSError as exc:
            raise BadFileError(self.path, f"write failed ({exc.strerror or exc})") from exc
        numbers = {k: v for k, v in values.items() if isinstance(v, (int, float))}
        self._to_tensorboard(lambda w: [w.add_scalar(k, v, step) for k, v in numbers.items()])

    def image(self, step: int, name: str, grid: torch.Tensor) -> None:
        if self.enabled:
            self._to_tensorboard(lambda w: w.add_image(name, grid, step))

    def close(self) -> None:
        self._to_tensorboard(lambda w: w.close())
        self._restore_hook()


# ----------------------------------------------------------------------------- finding the generator
def _is_generator_dir(path: Path) -> bool:
    return (path / CONFIG_NAME).is_file() and (path / WEIGHTS_NAME).is_file()


def locate_generator(path: str | Path) -> Path:
    """The generator folder behind `path`: itself, ``path/generator``, or the newest checkpoint's.

    Raises `BadFileError` naming `path` when none of the three holds config.json and
    model.safetensors.
    """
    if is_pretrained_name(path):
        return resolve_pretrained(path)
    path = Path(path)
    if not path.is_dir():
        raise BadFileError(
            path, "no such folder (--checkpoint takes a generator folder, a run folder or pretrained:NAME)"
        )
    if _is_generator_dir(path):
        return path
    if _is_generator_dir(path / GENERATOR_DIR):
        return path / GENERATOR_DIR
    for folder in reversed(list_checkpoints(path / CHECKPOINTS)):
        if _is_generator_dir(folder / GENERATOR_DIR):
            return folder / GENERATOR_DIR
    raise BadFileError(
        path,
        f"no generator here: expected {CONFIG_NAME} + {WEIGHTS_NAME}, a generator/ folder, "
        f"or {CHECKPOINTS}/step_*/generator/",
    )


def run_folder_of(generator_dir: Path) -> Path | None:
    """The run folder a located generator belongs to (holding config.yaml), if any."""
    for candidate in (generator_dir.parent, generator_dir.parent.parent.parent):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    return None


def load_generator(path: str | Path, device: torch.device | str) -> tuple[Generator, Path]:
    """(generator in eval mode on `device`, the folder it came from) for a --checkpoint path."""
    folder = locate_generator(path)
    model = Generator.from_pretrained(folder).to(device).eval()
    return model, folder
