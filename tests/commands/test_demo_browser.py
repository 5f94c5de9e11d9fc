"""`guided-pix2pix demo` in a real browser: the app runs as a subprocess on a free port, headless
Chromium (Selenium) uploads files, presses the buttons, and the images the page shows are
downloaded and compared with `translate` on the same files.

One server and one browser serve all the tabs (one test: starting them is most of its time).
Skipped only where no Chromium is installed (`browser_helpers.chromium`)."""

from __future__ import annotations

import importlib.util
import io
import os
import re
import subprocess
import sys
import time
import urllib.error

import numpy as np
import pytest
from browser_helpers import chromium, fetch, fetch_image, free_port, tiny_demo_models
from PIL import Image

from guided_pix2pix.cli import main
from guided_pix2pix.data.keypoints import BUILTIN_POSES, Keypoints, write_keypoints
from guided_pix2pix.files.images import read_image, write_image

if importlib.util.find_spec("gradio") is None:  # requirements.txt pins it; without the extra: skip
    pytest.skip("the demo extra (gradio) is not installed", allow_module_level=True)

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

TIMEOUT = 60  # s for any one thing the page does


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """(URL, server log path, models) of a running demo with tiny models for every tab."""
    root = tmp_path_factory.mktemp("demo")
    models = tiny_demo_models(root)
    port = free_port()
    log = root / "server.log"
    argv = [sys.executable, "-m", "guided_pix2pix.cli", "demo", "--port", str(port), "--device", "cpu"]
    argv += [arg for task, path in models.items() for arg in ("--checkpoint", f"{task}={path}")]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    with open(log, "wb") as fh:
        proc = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                fetch(url)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the demo did not start (exit {proc.poll()}):\n{log.read_text()[-3000:]}")
                time.sleep(0.3)
        yield url, log, models
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser():
    driver = chromium(1280, 1000)
    yield driver
    driver.quit()


# ----------------------------------------------------------------------------- page helpers
def _wait(driver, condition, what: str):
    return WebDriverWait(driver, TIMEOUT).until(condition, message=f"timed out waiting for {what}")


def _css(driver, selector: str):
    return driver.find_elements(By.CSS_SELECTOR, selector)


def _open_tab(driver, url: str, name: str, ready_id: str) -> None:
    driver.get(url)
    _wait(driver, lambda d: _css(d, "button[role=tab]"), "the tabs")
    for tab in _css(driver, "button[role=tab]"):
        if tab.text.startswith(name):
            tab.click()
    _wait(driver, lambda d: _css(d, f"#{ready_id} input[type=file]"), f"the {name} tab")


def _upload(driver, elem_id: str, path) -> None:
    """Hand a file to the upload field of component `elem_id` (re-found while Gradio re-renders)."""
    for _ in range(40):
        try:
            driver.find_element(By.CSS_SELECTOR, f"#{elem_id} input[type=file]").send_keys(str(path))
            return
        except (StaleElementReferenceException, NoSuchElementException):
            time.sleep(0.25)
    raise AssertionError(f"no upload field in #{elem_id}")


def _text(driver, selector: str) -> str:
    try:
        return " ".join(e.text for e in _css(driver, selector))
    except StaleElementReferenceException:
        return ""


def _uploaded(driver, elem_id: str, name: str) -> None:
    """Wait until file component `elem_id` lists `name` (shown as stem and suffix on two lines)."""
    _wait(driver, lambda d: name in _text(d, f"#{elem_id}").replace("\n", ""), f"{name} in #{elem_id}")


def _shown(driver, elem_id: str, name: str) -> None:
    """Wait until component `elem_id` shows an image whose address ends with `name`."""
    _wait(
        driver,
        lambda d: any((img.get_attribute("src") or "").endswith(name) for img in _css(d, f"#{elem_id} img")),
        f"{name} shown in #{elem_id}",
    )


def _click(driver, elem_id: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f"#{elem_id}").click()


def _src(driver, elem_id: str, name: str) -> str:
    srcs = [img.get_attribute("src") for img in _css(driver, f"#{elem_id} img")]
    return next(s for s in srcs if s and s.endswith(name))


def _link(driver, elem_id: str, name: str) -> str:
    _wait(
        driver,
        lambda d: any((a.get_attribute("href") or "").endswith(name) for a in _css(d, f"#{elem_id} a")),
        f"a link to {name} in #{elem_id}",
    )
    return next(
        a.get_attribute("href")
        for a in _css(driver, f"#{elem_id} a")
        if a.get_attribute("href").endswith(name)
    )


def _translate(*argv) -> None:
    assert main(["translate", "--device", "cpu", *map(str, argv)]) == 0


# ----------------------------------------------------------------------------- the tabs
def _depth_tab(driver, url, models, tmp_path) -> None:
    rng = np.random.default_rng(0)
    photo, low, truth = tmp_path / "photo.png", tmp_path / "low.png", tmp_path / "truth.png"
    write_image(photo, rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    depth = rng.integers(800, 3000, (6, 8)).astype(np.uint16)
    depth[2, 3] = 0  # unknown, as depth cameras write it
    write_image(low, depth)
    gt = rng.integers(800, 3000, (48, 64)).astype(np.uint16)
    gt[:5] = 0
    write_image(truth, gt)
    _open_tab(driver, url, "Depth", "depth-input")
    _upload(driver, "depth-photo", photo)
    _shown(driver, "depth-photo", "photo.png")
    _upload(driver, "depth-input", low)
    _uploaded(driver, "depth-input", "low.png")
    _upload(driver, "depth-truth", truth)
    _uploaded(driver, "depth-truth", "truth.png")
    _click(driver, "depth-run")
    _shown(driver, "depth-slider", "depth_preview.png")
    bicubic = fetch_image(_src(driver, "depth-slider", "bicubic_preview.png"))
    shown = fetch_image(_src(driver, "depth-slider", "depth_preview.png"))
    written = fetch_image(_link(driver, "depth-output", "depth.png"))

    _translate("--checkpoint", models["depth"], "--input", low, "--guide", photo, "--out", tmp_path / "t.png",
               "--preview", tmp_path / "t_preview.png")  # fmt: skip
    expected = read_image(tmp_path / "t.png")[:, :, 0]
    assert written.dtype == np.uint16 and written.shape == (48, 64)
    assert np.array_equal(written, expected), "the demo's depth differs from translate's"
    assert shown.shape == bicubic.shape == (48, 64, 3)
    assert np.array_equal(shown, read_image(tmp_path / "t_preview.png")), (
        "the preview differs from translate's"
    )
    assert not np.array_equal(shown, bicubic)
    known = gt > 0
    rmse = np.sqrt(np.mean((expected[known].astype(float) - gt[known]) ** 2))
    scores = _text(driver, "#depth-scores")
    assert f"model {rmse:.2f}" in scores and "bicubic" in scores, scores


def _texture_tab(driver, url, models, tmp_path) -> None:
    rng = np.random.default_rng(1)
    sketch = np.full((40, 56, 3), 255, np.uint8)
    sketch[5:35, 8] = sketch[5:35, 47] = sketch[5, 8:48] = sketch[34, 8:48] = 0  # a box outline
    write_image(tmp_path / "sketch.png", sketch)
    write_image(tmp_path / "texture.png", rng.integers(0, 256, (12, 12, 3), dtype=np.uint8))
    _open_tab(driver, url, "Texture", "texture-patch")
    _upload(driver, "texture-sketch", tmp_path / "sketch.png")
    _wait(driver, lambda d: "Upload an image" not in _text(d, "#texture-sketch"), "the sketch on the canvas")
    _upload(driver, "texture-patch", tmp_path / "texture.png")
    _shown(driver, "texture-patch", "texture.png")
    _click(driver, "texture-run")
    _shown(driver, "texture-output", "texture.png")
    output_src = _src(driver, "texture-output", "texture.png")
    with Image.open(io.BytesIO(fetch(output_src))) as im:
        assert im.mode == "RGB" and im.size == (56, 40)
    shown = fetch_image(output_src)
    guide = fetch_image(_link(driver, "texture-guide-file", "guide.png"))
    # the patch: side 30 around the centre (row 20, column 28), as texturegan.place_patch cuts it
    assert guide.shape == (40, 56, 4)
    inside = np.zeros((40, 56), bool)
    inside[5:35, 13:43] = True
    assert np.array_equal(guide[:, :, 3] == 255, inside)
    write_image(tmp_path / "guide.png", guide)
    _translate("--checkpoint", models["texture"], "--input", tmp_path / "sketch.png", "--guide",
               tmp_path / "guide.png", "--out", tmp_path / "t_texture.png")  # fmt: skip
    assert np.array_equal(shown, read_image(tmp_path / "t_texture.png")), (
        "the demo's output differs from translate's"
    )


def _pose_tab(driver, url, models, tmp_path) -> None:
    from skimage import data

    photo = tmp_path / "person.png"
    Image.fromarray(data.astronaut()).resize((48, 64)).save(photo)
    standing = BUILTIN_POSES["standing"]
    source = tmp_path / "person_keypoints.json"
    write_keypoints(source, Keypoints(standing.xy * [48, 64], standing.confidence, (64, 48)))
    _open_tab(driver, url, "Pose", "pose-photo")
    _upload(driver, "pose-photo", photo)
    _shown(driver, "pose-photo", "person.png")
    _upload(driver, "pose-source", source)
    _uploaded(driver, "pose-source", "person_keypoints.json")
    next(label for label in _css(driver, "#pose-choice label") if label.text == "arms_up").click()
    _click(driver, "pose-run")
    _shown(driver, "pose-output", "pose.png")
    shown = fetch_image(_src(driver, "pose-output", "pose.png"))
    skeleton = fetch_image(_src(driver, "pose-guide", "target_pose.png"))
    assert shown.shape == skeleton.shape == (64, 48, 3)
    (tmp_path / "target.json").write_bytes(fetch(_link(driver, "pose-target-json", "target_pose.json")))
    _translate("--checkpoint", models["pose"], "--input", photo, "--guide", tmp_path / "target.json",
               "--out", tmp_path / "t_pose.png")  # fmt: skip
    assert np.array_equal(shown, read_image(tmp_path / "t_pose.png")), (
        "the demo's output differs from translate's"
    )


def _wrong_upload(driver, url, tmp_path) -> None:
    """An RGB photo given as the depth map: one line in the page naming the file, no traceback."""
    photo = tmp_path / "photo.png"
    _open_tab(driver, url, "Depth", "depth-input")
    _upload(driver, "depth-photo", photo)
    _shown(driver, "depth-photo", "photo.png")
    _upload(driver, "depth-input", photo)
    _uploaded(driver, "depth-input", "photo.png")
    _click(driver, "depth-run")
    line = "photo.png: the model expects 1 input channels, received 3"
    _wait(driver, lambda d: line in _text(d, "body"), "the error line")
    page = _text(driver, "body")
    assert "Traceback" not in page and not re.search(r"/tmp/\S*photo\.png", page), page


def test_every_tab_computes_what_translate_computes(demo, browser, tmp_path):
    url, log, models = demo
    _depth_tab(browser, url, models, tmp_path)
    _texture_tab(browser, url, models, tmp_path)
    _pose_tab(browser, url, models, tmp_path)
    _wrong_upload(browser, url, tmp_path)
    assert "Traceback" not in log.read_text(errors="replace")


# ----------------------------------------------------------------------------- refused before serving
@pytest.mark.parametrize(
    ("checkpoint", "needle"),
    [
        ("no/such/folder", "no such folder"),
        ("colour=pretrained:depth_x8", "unknown task 'colour'"),
        ("pose=pretrained:depth_x8", "the pose tab needs a 3/18/3-channel model"),
    ],
)
def test_bad_checkpoint_is_one_line_before_serving(checkpoint, needle, capsys):
    assert main(["demo", "--checkpoint", checkpoint, "--port", str(free_port()), "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
