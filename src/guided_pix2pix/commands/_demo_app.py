"""The web demo behind `guided-pix2pix demo`: a Gradio Blocks page with one tab per task.

Each tab computes exactly what `translate` computes: the files a person uploads (and the files
the tab writes from what was drawn or chosen: a sketch, a patch guide, a keypoint file) are
handed to translate's own functions (`check_pair`, `translate_pairs` with the modes that
`sensor_depth_mode` / `texture_mode` choose, `depth_preview`), so ``translate`` on the same
files writes the same output. The run functions (`run_depth`, `run_texture`, `run_pose`) take
and return files and are used by the Gradio handlers, which only convert values and turn a
`UserError` into a `gr.Error` (one line in the page, no traceback).

- depth: a photo and a low-resolution depth map (16-bit PNG in millimetres, 0 = unknown, or
  float metres; or the bundled Middlebury "Motorcycle" pair at x4 / x8 / x16, protocol A);
  bicubic against the model in an image slider, both colour-mapped on the same scale (the
  input's known range, viridis: near dark, far yellow), the RMSE of both when a ground truth is
  given (its pixels > 0), and the 16-bit output to download.
- pose: a person photo; the source pose detected (mediapipe, the ``pose`` extra) or read from
  a keypoint file; the target pose a built-in one (fitted to the source person's height and
  place), detected in a second photo, or a keypoint file; the target guide drawn as a skeleton,
  then the output.
- texture: a sketch (uploaded or drawn) and a texture picture tiled into a square patch at a
  chosen place (`data.lab_files.patch_guide_image`); the guide, then the output in RGB.

A tab whose task has no model says how to start the demo with one.

Under load (`tests/commands/test_demo_load.py`: 10 concurrent clients, 50 requests):

- **One forward at a time.** The three run events share one concurrency group
  (``concurrency_id="model"``) limited to `CONCURRENCY` = 1 (``--concurrency``); the others wait in
  Gradio's queue, at most `QUEUE_SIZE` = 64 waiting (``--queue-size``; one more is told "queue
  full"). On a CPU, torch already spreads one forward over every core (intra-op threads): two
  forwards at once only split the cores, hold two sets of activations and make every answer
  later, none sooner. On a GPU a limit of 2 lets one request's file reading and writing overlap
  another's forward.
- **Nothing kept per request.** Each request computes in its own folder under the demo's
  temporary root; the handlers are generators that delete that folder in a ``finally`` after their
  last update. Gradio copies every file path a handler returns into its own cache
  (``processing_utils.save_file_to_cache``, in the postprocess step, which for a generator runs
  before the generator is resumed), so the page and API clients are served those copies; the
  demo's folder is gone once the answer is sent, and on an error too. Gradio's cache (uploads and
  those copies) is swept by ``delete_cache`` = `DELETE_CACHE` (every hour,
  files older than an hour) and removed at exit; SIGTERM stops the server as Ctrl-C does, so the
  temporary root is removed then too.
- **Memory back after each request.** glibc keeps what a request freed in the heap of the
  thread that served it; the server limits itself to `MALLOC_ARENAS` = 2 heaps (``mallopt``,
  unless ``MALLOC_ARENA_MAX`` is set) and trims the heap after every request (``malloc_trim``),
  so resident memory stays near what the first requests left (glibc only; elsewhere nothing).
- **Bounded uploads.** ``max_file_size`` = `MAX_UPLOAD_MB` MB per file (``--max-upload-mb``), larger
  uploads are refused by Gradio before they are stored; the readers then bound what a file may
  declare (`files.images.MAX_PIXELS`), and translate bounds the forward's memory.
- **One line for a bad upload.** A picture field given a file that is not an image (a text file
  renamed ``.png``) is one line naming the file, from the field's own decoding (`_checked`), not
  Gradio's multi-line preprocess error; server paths are cut from every message (`_one_line`).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..data.depth import input_to_sensor_depth, sensor_depth_to_input
from ..data.keypoints import BUILTIN_POSES, Keypoints, draw_skeleton, read_keypoints, write_keypoints
from ..data.lab_files import guide_picture, patch_guide_image
from ..errors import BadFileError, BadOptionError, UserError
from ..files.images import read_image, write_image
from ..nn.generator import Generator
from ..nn.pretrained import PREFIX
from ..training.model_task import generator_task
from ..training.run_folder import load_generator
from .translate import check_pair, depth_preview, sensor_depth_mode, texture_mode, translate_pairs

TASKS = ("depth", "pose", "texture")
DEFAULT_CHECKPOINTS = {"depth": f"{PREFIX}depth_x8"}
EXAMPLE_SCALES = (4, 8, 16)
IMAGE_HEIGHT = 300  # px: the pictures the page shows scale to this height
CONCURRENCY = 1  # model requests computed at once (module docstring: "Under load")
QUEUE_SIZE = 64  # requests waiting for their turn, beyond which one is refused as "queue full"
MAX_UPLOAD_MB = 50  # per uploaded file
DELETE_CACHE = (3600, 3600)  # s: Gradio's cache swept this often, of files older than this


@dataclass
class DemoModel:
    """A loaded generator, the --checkpoint value it came from and its folder."""

    task: str
    source: str
    model: Generator
    folder: Path


def parse_checkpoints(values: list[str]) -> dict[str, str]:
    """--checkpoint values, ``TASK=PATH`` or ``PATH`` (task found when loading), -> {key: path}
    where key is a task or ``?N`` for a path whose task is not given."""
    out: dict[str, str] = {}
    for n, value in enumerate(values):
        task, sep, path = value.partition("=")
        if sep and task in TASKS:
            if task in out:
                raise BadOptionError("--checkpoint", f"two checkpoints for the {task} tab")
            out[task] = path
        elif sep and "/" not in task and not Path(value).exists():
            raise BadOptionError(
                "--checkpoint", f"unknown task {task!r} in {value!r}; use {', '.join(TASKS)}=PATH"
            )
        else:
            out[f"?{n}"] = value
    return out


def load_models(values: list[str], device) -> dict[str, DemoModel]:
    """One model per task from the --checkpoint values (see `parse_checkpoints`); the depth tab
    defaults to `DEFAULT_CHECKPOINTS`. A model whose task is not one of the tabs' is refused."""
    specs = parse_checkpoints(values)
    models: dict[str, DemoModel] = {}
    for key, source in specs.items():
        model, folder = load_generator(source, device)
        task = key if key in TASKS else generator_task(model, folder, source)
        if task not in TASKS:
            cfg = model.config
            raise BadOptionError(
                "--checkpoint",
                f"{source}: cannot tell the task of a {cfg.input_nc}/{cfg.guide_nc}/{cfg.output_nc}-channel "
                f"model; name it: {', '.join(TASKS)}=PATH",
            )
        if task in models:
            raise BadOptionError(
                "--checkpoint", f"two checkpoints for the {task} tab ({models[task].source}, {source})"
            )
        _check_task_channels(task, model, source)
        models[task] = DemoModel(task, str(source), model, folder)
    for task, source in DEFAULT_CHECKPOINTS.items():
        if task not in models:
            model, folder = load_generator(source, device)
            models[task] = DemoModel(task, source, model, folder)
    return models


_CHANNELS = {"depth": (1, 3, 1), "pose": (3, 18, 3), "texture": (1, 4, 3)}


def _check_task_channels(task: str, model, source) -> None:
    cfg = model.config
    got = (cfg.input_nc, cfg.guide_nc, cfg.output_nc)
    if got != _CHANNELS[task]:
        want = "/".join(map(str, _CHANNELS[task]))
        raise BadOptionError(
            "--checkpoint",
            f"{source}: the {task} tab needs a {want}-channel model (input/guide/output), this one is "
            f"{'/'.join(map(str, got))}",
        )


def _device_of(model) -> torch.device:
    return next(model.parameters()).device


def _need(path, what: str) -> Path:
    if path is None or (isinstance(path, str) and not path):
        raise UserError(f"give the {what}")
    return Path(path)


def _run(model, input_path: Path, guide_path: Path, out: Path, *, sensor=False, lab=False, preview=None):
    """translate on one pair of files, with translate's checks and writers; returns the output."""
    hw = check_pair(model, input_path, guide_path, sensor, lab)
    translate_pairs(
        model,
        [(input_path, guide_path, out)],
        [hw],
        1,
        _device_of(model),
        sensor=sensor,
        lab=lab,
        previews=None if preview is None else [preview],
    )
    return out, hw


# ----------------------------------------------------------------------------- depth
@dataclass
class DepthResult:
    output: Path  # the model's depth map, as translate writes it (16-bit PNG for a 16-bit input)
    preview: Path  # the output colour-mapped (translate --preview)
    bicubic_preview: Path  # the network's input (bicubic up-sampling), on the same colour scale
    rmse: dict[str, float] | None  # {"bicubic": ..., "model": ...} against the ground truth
    units: str


def rmse_against(truth_path: Path, prediction: np.ndarray) -> float:
    """RMSE of an (H, W[, 1]) prediction against a ground-truth depth file over its known
    pixels (finite and > 0), in the file's units."""
    truth = read_image(truth_path).astype(np.float64)[:, :, 0]
    pred = np.asarray(prediction, np.float64).reshape(prediction.shape[0], prediction.shape[1])
    if truth.shape != pred.shape:
        raise BadFileError(
            truth_path,
            f"ground truth of {truth.shape[0]}x{truth.shape[1]} differs from the photo's {pred.shape[0]}x{pred.shape[1]}",
        )
    known = np.isfinite(truth) & (truth > 0)
    if not known.any():
        raise BadFileError(truth_path, "no known depth pixel in the ground truth")
    return float(np.sqrt(np.mean((pred[known] - truth[known]) ** 2)))


def run_depth(entry: DemoModel, photo, depth, truth, work: Path) -> DepthResult:
    photo, depth = _need(photo, "photo"), _need(depth, "low-resolution depth map")
    model = entry.model
    sensor = sensor_depth_mode(model, "auto")
    out = work / f"depth{depth.suffix.lower()}"
    preview = work / "depth_preview.png"
    _, hw = _run(model, depth, photo, out, sensor=sensor, preview=preview)
    arr = read_image(depth)
    x, scaling = sensor_depth_to_input(arr, hw, depth)  # what the network was given: bicubic
    bicubic_preview = write_image(work / "bicubic_preview.png", depth_preview(x))
    units = "mm" if np.issubdtype(arr.dtype, np.integer) else "m"
    rmse = None
    if truth is not None and str(truth):
        rmse = {
            "bicubic": rmse_against(Path(truth), input_to_sensor_depth(x, scaling)),
            "model": rmse_against(Path(truth), read_image(out)),
        }
    return DepthResult(out, preview, bicubic_preview, rmse, units)


def middlebury_example(folder: Path, scale: int) -> tuple[Path, Path, Path]:
    """(photo.png, low-resolution depth (16-bit mm), ground truth (16-bit mm, 0 = unknown)) of
    the Middlebury "Motorcycle" pair (scikit-image), down-sampled by `scale` with protocol A."""
    from ..data.depth import downsample_interval
    from ..data.middlebury import motorcycle_rgbd

    rgb, depth_m, valid = motorcycle_rgbd()
    mm = torch.from_numpy(depth_m * 1000.0)[None, None]  # (H, W) -> (1, 1, H, W)
    low = downsample_interval(mm, scale)[0, 0].numpy()
    folder.mkdir(parents=True, exist_ok=True)
    photo = write_image(folder / "motorcycle.png", rgb)
    low_path = write_image(folder / f"motorcycle_depth_x{scale}.png", np.rint(low).astype(np.uint16))
    truth = np.where(valid, np.rint(depth_m * 1000.0), 0).astype(np.uint16)
    truth_path = write_image(folder / "motorcycle_depth_truth.png", truth)
    return photo, low_path, truth_path


# ----------------------------------------------------------------------------- texture
@dataclass
class TextureResult:
    sketch: Path  # the sketch as handed to translate (RGB PNG)
    guide: Path  # the RGBA patch guide (translate --guide)
    guide_picture: Path  # the sketch with the patch on it
    output: Path  # the RGB output


def _as_rgb_u8(image, what: str) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4) or arr.dtype != np.uint8:
        raise UserError(f"the {what} must be an 8-bit RGB picture (got shape {arr.shape}, {arr.dtype})")
    if arr.shape[2] == 4:  # over white, as a drawing on a transparent canvas is seen
        a = arr[:, :, 3:].astype(np.float64) / 255.0
        arr = np.rint(arr[:, :, :3] * a + 255.0 * (1 - a)).astype(np.uint8)
    return np.ascontiguousarray(arr)


def run_texture(
    entry: DemoModel, sketch, texture, row_pct: float, col_pct: float, side: int, work: Path
) -> TextureResult:
    if sketch is None:
        raise UserError("give a sketch: upload one or draw it")
    if texture is None:
        raise UserError("give a texture picture")
    sketch_rgb, texture_rgb = _as_rgb_u8(sketch, "sketch"), _as_rgb_u8(texture, "texture")
    H, W = sketch_rgb.shape[:2]
    centre = (min(H - 1, int(round(row_pct / 100 * H))), min(W - 1, int(round(col_pct / 100 * W))))
    guide = patch_guide_image(texture_rgb, (H, W), centre, int(side))
    sketch_path = write_image(work / "sketch.png", sketch_rgb)
    guide_path = write_image(work / "guide.png", guide)
    picture = write_image(work / "guide_picture.png", guide_picture(sketch_rgb, guide))
    lab = texture_mode(entry.model, "rgb")
    out, _ = _run(entry.model, sketch_path, guide_path, work / "texture.png", lab=lab)
    return TextureResult(sketch_path, guide_path, picture, out)


# ----------------------------------------------------------------------------- pose
TARGET_FROM_PHOTO = "from a second photo"
TARGET_FROM_FILE = "from a keypoint file"


def fit_pose(target: Keypoints, size: tuple[int, int], source: Keypoints | None = None) -> Keypoints:
    """A built-in (unit-image) pose in pixels of an (H, W) photo without stretching it: scaled
    by H on both axes and centred; with a source pose, scaled to the source's height (its present
    points' vertical extent) and moved so that the two bounding boxes share their centre."""
    H, W = size
    xy = (target.xy - [0.5, 0.0]) * H + [W / 2, 0.0]  # unit image -> pixels, centred
    if source is not None:
        src = source.scaled_to((H, W)).xy[source.present]
        tgt = xy[target.present]
        src_h, tgt_h = np.ptp(src[:, 1]) if len(src) else 0.0, np.ptp(tgt[:, 1])
        if len(src) >= 2 and src_h > 0 and tgt_h > 0:
            centre_src = (src.min(0) + src.max(0)) / 2
            centre_tgt = (tgt.min(0) + tgt.max(0)) / 2
            xy = (xy - centre_tgt) * (src_h / tgt_h) + centre_src
    return Keypoints(xy, target.confidence, (H, W))


@dataclass
class PoseResult:
    source: Keypoints | None
    target: Path  # the target pose as a keypoint file (translate --guide)
    source_picture: Path | None  # the photo with the source skeleton drawn on it
    target_picture: Path  # the target skeleton
    output: Path | None = None


def _detect(path: Path) -> Keypoints:
    from ..data.pose_detect import detect_keypoints

    return detect_keypoints(read_image(path), name=path.name)


def _overlay(photo: np.ndarray, skeleton: np.ndarray) -> np.ndarray:
    rgb = photo[:, :, :3] if photo.shape[2] >= 3 else np.repeat(photo[:, :, :1], 3, 2)
    drawn = skeleton.max(2, keepdims=True) > 0
    return np.where(drawn, skeleton, (rgb.astype(np.float64) * 0.6).astype(np.uint8))


def pose_guide(photo, source_file, target_choice: str, target_photo, target_file, work: Path) -> PoseResult:
    """The source pose (file, else detected when a built-in target needs it, else none), the
    target pose as a keypoint file for the photo's size, and both drawn."""
    photo = _need(photo, "person photo")
    arr = read_image(photo)
    if arr.dtype != np.uint8 or arr.shape[2] not in (1, 3):
        raise BadFileError(photo.name, "the person photo must be an 8-bit RGB image")
    H, W = arr.shape[:2]
    source = None
    if source_file is not None and str(source_file):
        source = read_keypoints(source_file).scaled_to((H, W))
    elif target_choice in BUILTIN_POSES:
        source = _detect(photo)
    if target_choice in BUILTIN_POSES:
        target = fit_pose(BUILTIN_POSES[target_choice], (H, W), source)
    elif target_choice == TARGET_FROM_PHOTO:
        target = _detect(_need(target_photo, "photo of the target pose")).scaled_to((H, W))
    elif target_choice == TARGET_FROM_FILE:
        target = read_keypoints(_need(target_file, "target keypoint file")).scaled_to((H, W))
    else:
        raise UserError(f"unknown target pose {target_choice!r}")
    target_path = write_keypoints(work / "target_pose.json", target)
    target_picture = write_image(work / "target_pose.png", draw_skeleton(target, (H, W)))
    source_picture = None
    if source is not None:
        source_picture = write_image(work / "source_pose.png", _overlay(arr, draw_skeleton(source, (H, W))))
    return PoseResult(source, target_path, source_picture, target_picture)


def run_pose(entry: DemoModel, photo, guide: PoseResult, work: Path) -> PoseResult:
    photo = _need(photo, "person photo")
    out, _ = _run(entry.model, photo, guide.target, work / "pose.png")
    guide.output = out
    return guide


# ----------------------------------------------------------------------------- the page
_ABSOLUTE_PATH = re.compile(r"(?<![\w./:])/(?:[^\s'\"/]+/)+([^\s'\"/]+)")


def _one_line(exc: BaseException) -> str:
    """The error's first line; a file is named by its own name, not the server's upload path
    (also inside the problem text: PIL names the whole path)."""
    text = f"{Path(exc.path).name}: {exc.problem}" if isinstance(exc, BadFileError) else str(exc).strip()
    text = _ABSOLUTE_PATH.sub(r"\1", text)
    return text.splitlines()[0] if text else type(exc).__name__


@contextlib.contextmanager
def _in_the_page():
    """A user error (or anything else) raised inside becomes one line in the page (gr.Error);
    an unexpected error's traceback goes to the server's stderr only."""
    import gradio as gr

    try:
        yield
    except gr.Error:
        raise
    except UserError as exc:
        raise gr.Error(_one_line(exc), print_exception=False) from None
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        message = f"unexpected error ({type(exc).__name__}: {_one_line(exc)})"
        raise gr.Error(message, print_exception=False) from None


def _friendly(fn: Callable) -> Callable:
    """A handler whose errors are shown in the page (`_in_the_page`)."""

    @functools.wraps(fn)
    def wrapper(*args):
        with _in_the_page():
            return fn(*args)

    return wrapper


def _per_request(fn: Callable, work_root: Path) -> Callable:
    """A handler ``fn(*inputs, work)`` (returning its outputs, or yielding several updates: the
    guide first, then the output) run in a fresh folder under `work_root` that is deleted after
    its last update: a generator, so that Gradio has copied the returned files into its cache
    (postprocess) before the ``finally`` runs. Errors are shown in the page (`_in_the_page`).
    Not `functools.wraps`: Gradio reads the handler's signature, which must not show ``work``."""

    def wrapper(*args):
        work = Path(tempfile.mkdtemp(dir=work_root))
        try:
            with _in_the_page():
                result = fn(*args, work)
                if inspect.isgenerator(result):
                    yield from result
                else:
                    yield result
        finally:
            shutil.rmtree(work, ignore_errors=True)
            _trim_heap()

    wrapper.__name__ = wrapper.__qualname__ = fn.__name__
    return wrapper


@functools.cache
def _libc():
    """glibc, or None (another C library: musl, macOS, Windows)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 - glibc only
        libc.mallopt  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)
MALLOC_ARENAS = 2  # heaps the server's threads share (glibc's default: 8 per core)


def _limit_heaps() -> None:
    """At most `MALLOC_ARENAS` glibc heaps: each of Gradio's worker threads would otherwise keep
    a heap of its own, grown by the requests it happened to serve (the load test measured
    +17 % resident memory over 50 requests without this and the trim, +8 % with them)."""
    libc = _libc()
    if libc is not None and "MALLOC_ARENA_MAX" not in os.environ:
        libc.mallopt(M_ARENA_MAX, MALLOC_ARENAS)


def _trim_heap() -> None:
    """Hand the memory a request freed back to the system (glibc keeps freed heap pages, and
    after a request's large arrays its heap stays that large)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def _checked(component):
    """A Gradio picture component (`gr.Image`, `gr.ImageEditor`) whose upload, when it cannot be
    decoded, is one line naming the file (a `gr.Error`) instead of Gradio's multi-line "Could not
    preprocess input component" with the server path and a traceback in the log. (Its own
    ``preprocess`` wrapped on the instance: a subclass would make Gradio's component metaclass
    write a ``.pyi`` stub next to this module.)"""
    import gradio as gr

    decode = component.preprocess

    def preprocess(payload):
        try:
            return decode(payload)
        except gr.Error:
            raise
        except Exception as exc:
            first = str(exc).splitlines()[0] if str(exc) else ""
            problem = _ABSOLUTE_PATH.sub(r"\1", first)
            raise gr.Error(
                f"{_upload_name(payload)}: not a picture this page can read ({type(exc).__name__}: {problem})",
                print_exception=False,
            ) from None

    component.preprocess = preprocess
    return component


def _upload_name(payload) -> str:
    """The name the person gave an uploaded file (an image payload, or an editor's layers)."""
    for candidate in (payload, getattr(payload, "composite", None), getattr(payload, "background", None)):
        name = getattr(candidate, "orig_name", None) or getattr(candidate, "path", None)
        if name:
            return Path(str(name)).name
    return "the upload"


def _no_model(gr, task: str) -> None:
    gr.Markdown(
        f"**No {task} model is loaded.** Start the demo with one: "
        f"`guided-pix2pix demo --checkpoint {task}=RUN_OR_GENERATOR_FOLDER`."
    )


def _describe(entry: DemoModel) -> str:
    cfg = entry.model.config
    return f"Model: `{entry.source}` ({cfg.backbone}, {cfg.conditioning}, ngf {cfg.ngf}; {_device_of(entry.model)})."


def build_app(models: dict[str, DemoModel], work_root: Path):
    """The Gradio Blocks page for `models` (task -> DemoModel); temporary files under `work_root`."""
    import gradio as gr

    with gr.Blocks(title="guided-pix2pix demo", analytics_enabled=False, delete_cache=DELETE_CACHE) as app:
        gr.Markdown(
            "# guided-pix2pix\nGuided image-to-image translation with bi-directional feature "
            "transformation (bFT). Each tab computes what `guided-pix2pix translate` computes on the same files."
        )
        with gr.Tab("Depth up-sampling", id="depth"):
            _depth_tab(gr, models.get("depth"), work_root)
        with gr.Tab("Pose transfer", id="pose"):
            _pose_tab(gr, models.get("pose"), work_root)
        with gr.Tab("Texture transfer", id="texture"):
            _texture_tab(gr, models.get("texture"), work_root)
    return app


def _depth_tab(gr, entry: DemoModel | None, work_root: Path) -> None:
    if entry is None:
        _no_model(gr, "depth")
        return
    gr.Markdown(
        f"{_describe(entry)} Upload a photo and its low-resolution depth map (16-bit PNG in "
        "millimetres with 0 = unknown, or float metres as .npy/.tif), optionally the full-resolution "
        "ground truth, or load the Middlebury example. Colours: near dark, far yellow, over the input's range."
    )
    with gr.Row():
        photo = _checked(
            gr.Image(
                label="photo (RGB)",
                type="filepath",
                image_mode=None,
                height=IMAGE_HEIGHT,
                elem_id="depth-photo",
            )
        )
        with gr.Column():
            depth = gr.File(label="low-resolution depth map", elem_id="depth-input")
            truth = gr.File(label="ground truth (optional)", elem_id="depth-truth")
    with gr.Row():
        scale = gr.Dropdown(list(EXAMPLE_SCALES), value=8, label="example scale", scale=1)
        example = gr.Button("Load the Middlebury example", scale=2, elem_id="depth-example")
        run = gr.Button("Up-sample", variant="primary", scale=2, elem_id="depth-run")
    slider = gr.ImageSlider(
        label="bicubic | model", type="filepath", height=2 * IMAGE_HEIGHT, elem_id="depth-slider"
    )
    with gr.Row():
        scores = gr.Markdown(elem_id="depth-scores")
        download = gr.File(label="model output (as translate writes it)", elem_id="depth-output")

    def load_example(s):
        photo_p, low_p, truth_p = middlebury_example(work_root / "middlebury", int(s))
        return str(photo_p), str(low_p), str(truth_p)

    def upsample(photo_v, depth_v, truth_v, work):
        result = run_depth(entry, photo_v, depth_v, truth_v, work)
        text = ""
        if result.rmse is not None:
            r = result.rmse
            text = (
                f"RMSE against the ground truth ({result.units}, its known pixels): "
                f"bicubic **{r['bicubic']:.2f}**, model **{r['model']:.2f}**"
            )
        return (str(result.bicubic_preview), str(result.preview)), text, str(result.output)

    example.click(_friendly(load_example), [scale], [photo, depth, truth], api_name="depth_example")
    run.click(
        _per_request(upsample, work_root),
        [photo, depth, truth],
        [slider, scores, download],
        api_name="depth",
        concurrency_id="model",
    )


def _texture_tab(gr, entry: DemoModel | None, work_root: Path) -> None:
    if entry is None:
        _no_model(gr, "texture")
        return
    gr.Markdown(
        f"{_describe(entry)} Upload or draw a sketch (black lines on white), upload a texture "
        "picture, and place the square patch it is tiled into."
    )
    with gr.Row():
        sketch = _checked(
            gr.ImageEditor(  # a drawing on the empty canvas is flattened on white
                label="sketch",
                canvas_size=(256, 256),
                height=IMAGE_HEIGHT + 100,
                type="numpy",
                image_mode="RGB",
                sources=("upload", "clipboard"),
                brush=gr.Brush(
                    colors=["#000000"], default_color="#000000", default_size=2, color_mode="fixed"
                ),
                elem_id="texture-sketch",
            )
        )
        texture = _checked(
            gr.Image(
                label="texture", type="numpy", image_mode="RGB", height=IMAGE_HEIGHT, elem_id="texture-patch"
            )
        )
    with gr.Row():
        row = gr.Slider(0, 100, value=50, step=1, label="patch centre: row (% of height)")
        col = gr.Slider(0, 100, value=50, step=1, label="patch centre: column (% of width)")
        side = gr.Slider(2, 256, value=30, step=1, label="patch side (px)")
    run = gr.Button("Transfer the texture", variant="primary", elem_id="texture-run")
    with gr.Row():
        guide = gr.Image(
            label="guide", type="filepath", interactive=False, height=IMAGE_HEIGHT, elem_id="texture-guide"
        )
        output = gr.Image(
            label="output", type="filepath", interactive=False, height=IMAGE_HEIGHT, elem_id="texture-output"
        )
    guide_file = gr.File(label="guide file (RGBA: translate --guide)", elem_id="texture-guide-file")

    def transfer(sketch_v, texture_v, r, c, s, work):
        composite = None if sketch_v is None else sketch_v.get("composite")
        result = run_texture(entry, composite, texture_v, r, c, s, work)
        yield str(result.guide_picture), None, str(result.guide)
        yield str(result.guide_picture), str(result.output), str(result.guide)

    run.click(
        _per_request(transfer, work_root),
        [sketch, texture, row, col, side],
        [guide, output, guide_file],
        api_name="texture",
        concurrency_id="model",
    )


def _pose_tab(gr, entry: DemoModel | None, work_root: Path) -> None:
    if entry is None:
        _no_model(gr, "pose")
        return
    gr.Markdown(
        f"{_describe(entry)} Upload a person photo. The source pose is read from a keypoint file "
        "(OpenPose or `guided-pix2pix pose detect` JSON) or detected in the photo (needs the `pose` "
        "extra); the target pose is a built-in one fitted to the person, detected in a second photo, "
        "or a keypoint file."
    )
    with gr.Row():
        photo = _checked(
            gr.Image(
                label="person photo",
                type="filepath",
                image_mode=None,
                height=IMAGE_HEIGHT,
                elem_id="pose-photo",
            )
        )
        with gr.Column():
            source_file = gr.File(label="source keypoints (optional; else detected)", elem_id="pose-source")
            choice = gr.Radio(
                [*BUILTIN_POSES, TARGET_FROM_PHOTO, TARGET_FROM_FILE],
                value=next(iter(BUILTIN_POSES)),
                label="target pose",
                elem_id="pose-choice",
            )
            target_photo = _checked(
                gr.Image(
                    label="target pose photo",
                    type="filepath",
                    image_mode=None,
                    height=IMAGE_HEIGHT,
                    visible=False,
                    elem_id="pose-target-photo",
                )
            )
            target_file = gr.File(label="target keypoints", visible=False, elem_id="pose-target-file")
    run = gr.Button("Transfer the pose", variant="primary", elem_id="pose-run")
    with gr.Row():
        source_picture = gr.Image(
            label="source pose",
            type="filepath",
            interactive=False,
            height=IMAGE_HEIGHT,
            elem_id="pose-source-picture",
        )
        target_picture = gr.Image(
            label="target pose (guide)",
            type="filepath",
            interactive=False,
            height=IMAGE_HEIGHT,
            elem_id="pose-guide",
        )
        output = gr.Image(
            label="output", type="filepath", interactive=False, height=IMAGE_HEIGHT, elem_id="pose-output"
        )
    target_json = gr.File(label="target keypoints (translate --guide)", elem_id="pose-target-json")

    def transfer(photo_v, source_v, choice_v, target_photo_v, target_file_v, work):
        guide = pose_guide(photo_v, source_v, choice_v, target_photo_v, target_file_v, work)
        src = None if guide.source_picture is None else str(guide.source_picture)
        yield src, str(guide.target_picture), None, str(guide.target)
        run_pose(entry, photo_v, guide, work)
        yield src, str(guide.target_picture), str(guide.output), str(guide.target)

    def show_target_inputs(choice_v):
        return gr.update(visible=choice_v == TARGET_FROM_PHOTO), gr.update(
            visible=choice_v == TARGET_FROM_FILE
        )

    choice.change(show_target_inputs, [choice], [target_photo, target_file], api_name="pose_target_inputs")
    run.click(
        _per_request(transfer, work_root),
        [photo, source_file, choice, target_photo, target_file],
        [source_picture, target_picture, output, target_json],
        api_name="pose",
        concurrency_id="model",
    )


def launch(
    models: dict[str, DemoModel],
    host: str,
    port: int,
    *,
    concurrency: int = CONCURRENCY,
    queue_size: int = QUEUE_SIZE,
    max_upload_mb: int = MAX_UPLOAD_MB,
) -> None:
    """Serve the page until interrupted (Ctrl-C or SIGTERM: the server closes, Gradio's cache and
    the demo's temporary root are removed). `concurrency` model requests at once, `queue_size`
    waiting, uploads up to `max_upload_mb` MB each (module docstring: "Under load")."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    _limit_heaps()
    with tempfile.TemporaryDirectory(prefix="guided-pix2pix-demo-") as root, _sigterm_as_interrupt():
        app = build_app(models, Path(root))
        app.queue(default_concurrency_limit=concurrency, max_size=queue_size).launch(
            server_name=host,
            server_port=port,
            allowed_paths=[root],
            ssr_mode=False,
            show_error=True,
            quiet=False,
            max_file_size=f"{max_upload_mb}mb",
        )


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM raises KeyboardInterrupt in the main thread, which Gradio's `block_thread` answers
    by closing the server (Python's default for SIGTERM ends the process with no clean-up)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
