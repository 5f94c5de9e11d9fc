"""HTML reports fit a laptop screen: the quickstart's table and gallery (the widest pages the tool
writes) rendered by headless Chromium in a 1280 px window need no horizontal scrolling."""

from __future__ import annotations

import numpy as np
from browser_helpers import chromium

from guided_pix2pix.evaluation.quickstart import FILTERS, _gallery, _table
from guided_pix2pix.evaluation.report import DEPTH_COLOUR_BAR, GalleryRow, write_page


def _quickstart_like_page(tmp_path):
    """report.html as the quickstart writes it: its table, and its gallery of 256 x 256 pictures."""
    held_out = {"synthetic": None, "middlebury": None}
    report = {"pretrained": "pretrained:depth_x8"}
    for name in held_out:
        report[name] = {
            "images": 16,
            "bicubic_rmse_cm": 21.3456,
            "filters_rmse_cm": {f: 19.87654 for f in FILTERS},
            "oracle_filters_rmse_cm": {f: 18.7654 for f in FILTERS},
            "bft_rmse_cm": 20.1234,
            "pretrained_rmse_cm": 19.9,
        }
    rng = np.random.default_rng(0)
    rows = [
        GalleryRow(
            label=f"synthetic_depth/test/{i:05d}" if i else "middlebury/motorcycle",
            images=[rng.integers(0, 256, (256, 256, 3), dtype=np.uint8) for _ in range(4)],
            values={"bFT RMSE (cm)": 20.0 + i, "bicubic RMSE (cm)": 21.0 + i},
        )
        for i in range(6)
    ]
    gallery = _gallery(rows)
    assert gallery.colour_bar is DEPTH_COLOUR_BAR
    notes = [
        "filters tuned on 8 synthetic validation scenes: " + '{"joint_bilateral": {"sigma_color": 20}}' * 6
    ]
    return write_page(
        tmp_path / "report.html",
        "quickstart",
        tables=[_table(report, held_out)],
        gallery=gallery,
        notes=notes,
    )


def test_the_widest_report_fits_1280_pixels(tmp_path):
    page = _quickstart_like_page(tmp_path)
    driver = chromium(1280, 800)
    try:
        driver.get(page.as_uri())
        page_width = driver.execute_script("return document.documentElement.scrollWidth")
        view_width = driver.execute_script("return document.documentElement.clientWidth")
        assert view_width <= 1280 and page_width <= view_width, (page_width, view_width)
        boxes = driver.execute_script(
            "return Array.from(document.querySelectorAll('.scroll')).map(e => [e.scrollWidth, e.clientWidth])"
        )
        assert len(boxes) == 2 and all(inner <= outer for inner, outer in boxes), boxes  # nothing scrolls
        widths = driver.execute_script(
            "return Array.from(document.querySelectorAll('td img')).map(i => i.getBoundingClientRect().width)"
        )
        assert len(widths) == 24 and min(widths) >= 150, widths  # pictures scaled down, still readable
        bar = driver.execute_script(
            "const b = document.querySelector('.colour-bar .bar'); return [getComputedStyle(b).backgroundImage, b.getBoundingClientRect().width]"
        )
        assert bar[0].startswith("linear-gradient") and bar[1] > 100, bar
    finally:
        driver.quit()
