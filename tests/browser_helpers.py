"""A real headless browser for tests: Debian's Chromium driven by Selenium.

`chromium(width, height)` starts one (skipping the test, with the reason, only where no browser
is installed: ``apt-get install -y chromium chromium-driver``, as `.ci/run` does); `free_port()`
and `fetch(url)` serve the demo tests.
"""

from __future__ import annotations

import io
import shutil
import socket
import tempfile
import urllib.request
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def chromium(width: int = 1280, height: int = 900):
    """A Selenium Chrome driver on a fresh profile; the caller quits it."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).is_file()]
    if missing:
        pytest.skip(
            f"no browser here ({', '.join(missing)} missing): apt-get install -y chromium chromium-driver"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    quit_ = driver.quit

    def quit_and_clean():
        try:
            quit_()
        finally:
            shutil.rmtree(profile, ignore_errors=True)

    driver.quit = quit_and_clean
    return driver


def tiny_demo_models(root: Path) -> dict[str, Path]:
    """A tiny untrained generator folder per demo tab (depth, pose, texture) under `root`."""
    from guided_pix2pix.nn.generator import Generator

    tiny = {"conditioning": "bft", "ngf": 4}
    specs = {
        "depth": {"backbone": "resnet", "n_blocks": 1, "input_nc": 1, "guide_nc": 3, "output_nc": 1},
        "pose": {"backbone": "resnet", "n_blocks": 1, "input_nc": 3, "guide_nc": 18, "output_nc": 3},
        "texture": {"backbone": "unet", "n_layers": 3, "input_nc": 1, "guide_nc": 4, "output_nc": 3},
    }
    for task, spec in specs.items():
        Generator(**tiny, **spec).save_pretrained(root / task)
    return {task: root / task for task in specs}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def fetch_image(url: str) -> np.ndarray:
    """The image at `url` decoded as its file stores it ((H, W[, C]) array, dtype kept)."""
    from PIL import Image

    with Image.open(io.BytesIO(fetch(url))) as im:
        return np.array(im)
