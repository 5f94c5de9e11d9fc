"""A small self-contained HTML page writer: summary tables and a sortable gallery of image rows.

`write_page(path, title, tables=[Table(...)], gallery=Gallery(...))` writes ``path`` and the
gallery's images as PNG files in a folder beside it (``<stem>_images/``), referenced by
relative links, so the page opens from disk and can be copied with its folder. The gallery is
sortable by any value column (click its header); it starts sorted by `Gallery.sort_by`.
No external scripts or styles are loaded.

Pages fit a laptop screen (1280 px wide): the body is at most `MAX_WIDTH` px, tables wrap their
text and shrink to the page, gallery pictures scale down with their columns (at most 256 px),
and anything still wider scrolls inside its own box, never the page. A gallery of depth maps
carries a colour bar (`Gallery.colour_bar`, e.g. `DEPTH_COLOUR_BAR`: the viridis map of
`data.visualize.depth_colours`, near to far).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data.visualize import depth_colours
from ..errors import BadFileError
from ..files.atomic import write_text_atomic
from ..files.images import write_image


@dataclass
class Table:
    """A plain table: `header` (column names) and `rows` (cells: str or numbers)."""

    header: Sequence[str]
    rows: Sequence[Sequence]
    caption: str = ""


@dataclass
class GalleryRow:
    """One gallery row: `images`, one per image column, each an (H, W, 3) uint8 array (written as
    PNG beside the page), a path relative to the page of an image already written, or None
    (empty cell); `values` {value column: number}; a `label` (e.g. the item id)."""

    label: str
    images: Sequence[np.ndarray | str | Path | None]
    values: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ColourBar:
    """A colour scale drawn above a gallery: `caption`, the labels of its `low` and `high` ends,
    and the map itself, a function (N, 1, H, W) in [-1, 1] -> (N, 3, H, W) RGB in [0, 1]."""

    caption: str
    low: str
    high: str
    colours: Callable = depth_colours


DEPTH_COLOUR_BAR = ColourBar("depth colours (each map spans its own range)", "near", "far")


@dataclass
class Gallery:
    """Rows of images with numbers. sort_by: a value column to sort on at load (None: as given);
    descending: sort largest first (set it to put the worst first for a lower-is-better metric);
    colour_bar: the colour scale of its false-colour pictures (e.g. `DEPTH_COLOUR_BAR`), or None."""

    image_columns: Sequence[str]
    value_columns: Sequence[str]
    rows: Sequence[GalleryRow]
    sort_by: str | None = None
    descending: bool = True
    caption: str = ""
    colour_bar: ColourBar | None = None


MAX_WIDTH = 1200  # px: the page's content width, inside a 1280 px laptop window with margins

_STYLE = f"""
body {{ font-family: sans-serif; margin: 1.5em auto; padding: 0 1em; max-width: {MAX_WIDTH}px; }}
p, h1 {{ overflow-wrap: anywhere; }}
.scroll {{ max-width: 100%; overflow-x: auto; margin-bottom: 1.5em; }}
table {{ border-collapse: collapse; max-width: 100%; }}
table.gallery {{ width: 100%; table-layout: fixed; }}
th, td {{ border: 1px solid #ccc; padding: 4px 6px; text-align: right; vertical-align: middle;
  overflow-wrap: anywhere; }}
th {{ background: #f0f0f0; }}
th.sortable {{ cursor: pointer; text-decoration: underline dotted; }}
th.label {{ width: 11em; }}
th.value {{ width: 7em; }}
td.label {{ text-align: left; font-family: monospace; word-break: break-all; }}
td img {{ width: 100%; max-width: 256px; max-height: 256px; object-fit: contain; height: auto;
  image-rendering: pixelated; display: block; margin-left: auto; }}
caption {{ text-align: left; font-weight: bold; padding: 4px 0; }}
.colour-bar {{ display: flex; align-items: center; gap: 0.5em; margin: 0.5em 0; max-width: 100%; }}
.colour-bar .bar {{ flex: 0 1 320px; height: 14px; border: 1px solid #888; }}
"""

_SORT_JS = """
function sortGallery(col, desc) {
  const body = document.getElementById('gallery-body');
  const rows = Array.from(body.rows);
  const key = r => { const v = parseFloat(r.cells[col].dataset.value); return isNaN(v) ? -Infinity : v; };
  rows.sort((a, b) => desc ? key(b) - key(a) : key(a) - key(b));
  rows.forEach(r => body.appendChild(r));
}
document.querySelectorAll('th.sortable').forEach(th => {
  th.addEventListener('click', () => {
    const desc = th.dataset.desc !== 'true';
    th.dataset.desc = desc;
    sortGallery(parseInt(th.dataset.col), desc);
  });
});
"""


def _cell(value) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    return html.escape(str(value))


def _table(table: Table) -> list[str]:
    out = ['<div class="scroll"><table>']
    if table.caption:
        out.append(f"<caption>{html.escape(table.caption)}</caption>")
    out.append("<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in table.header) + "</tr>")
    for row in table.rows:
        cells = "".join(
            f'<td class="label">{_cell(v)}</td>' if i == 0 else f"<td>{_cell(v)}</td>"
            for i, v in enumerate(row)
        )
        out.append(f"<tr>{cells}</tr>")
    out.append("</table></div>")
    return out


def _colour_bar(bar: ColourBar, stops: int = 11) -> list[str]:
    """The bar as a CSS gradient sampled from the map at `stops` points, labelled at both ends."""
    import torch

    ramp = torch.linspace(-1.0, 1.0, stops).view(1, 1, 1, stops)  # (1, 1, 1, stops)
    rgb = bar.colours(ramp)[0, :, 0].T.clamp(0, 1) * 255  # (3, 1, stops) -> (stops, 3)
    colours = ", ".join(
        f"rgb({r:.0f}, {g:.0f}, {b:.0f}) {100 * i / (stops - 1):.0f}%"
        for i, (r, g, b) in enumerate(rgb.tolist())
    )
    return [
        f'<div class="colour-bar" title="{html.escape(bar.caption, quote=True)}">',
        f"<span>{html.escape(bar.caption)}:</span><span>{html.escape(bar.low)}</span>",
        f'<div class="bar" style="background: linear-gradient(to right, {colours});"></div>',
        f"<span>{html.escape(bar.high)}</span></div>",
    ]


def _check_picture(label: str, image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            f"gallery image of {label!r} must be (H, W, 3) uint8, got {image.shape} {image.dtype}"
        )
    return image


def _gallery(gallery: Gallery, image_dir: Path, rel: str) -> list[str]:
    rows = list(gallery.rows)
    if gallery.sort_by is not None:
        nan_last = -math.inf if gallery.descending else math.inf

        def key(row):
            v = row.values.get(gallery.sort_by, math.nan)
            return nan_last if math.isnan(v) else v

        rows.sort(key=key, reverse=gallery.descending)
    first_value_col = 1 + len(gallery.image_columns)
    head = ['<th class="label">item</th>'] + [f"<th>{html.escape(c)}</th>" for c in gallery.image_columns]
    for j, name in enumerate(gallery.value_columns):
        desc = "true" if (name == gallery.sort_by and gallery.descending) else "false"
        head.append(
            f'<th class="sortable value" data-col="{first_value_col + j}" data-desc="{desc}" '
            f'title="click to sort">{html.escape(name)}</th>'
        )
    out = _colour_bar(gallery.colour_bar) if gallery.colour_bar is not None else []
    out.append('<div class="scroll"><table class="gallery">')
    if gallery.caption:
        out.append(f"<caption>{html.escape(gallery.caption)}</caption>")
    out += ["<thead><tr>" + "".join(head) + "</tr></thead>", '<tbody id="gallery-body">']
    for row in gallery.rows:
        if len(row.images) != len(gallery.image_columns):
            raise ValueError(
                f"row {row.label!r} has {len(row.images)} images for {len(gallery.image_columns)} columns"
            )
    index = {id(row): i for i, row in enumerate(gallery.rows)}
    for row in rows:
        i = index[id(row)]
        cells = [f'<td class="label">{html.escape(row.label)}</td>']
        for c, image in enumerate(row.images):
            if image is None:
                cells.append("<td></td>")
                continue
            if isinstance(image, (str, Path)):  # already written: a link relative to the page
                src = html.escape(Path(image).as_posix(), quote=True)
            else:
                name = f"{i:05d}_{c}.png"
                write_image(image_dir / name, _check_picture(row.label, image))
                src = f"{rel}/{name}"
            alt = html.escape(f"{row.label} {gallery.image_columns[c]}", quote=True)
            cells.append(f'<td><img src="{src}" alt="{alt}" loading="lazy"></td>')
        for name in gallery.value_columns:
            v = row.values.get(name, math.nan)
            cells.append(f'<td data-value="{v!r}">{_cell(float(v))}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    out += ["</tbody></table></div>"]
    return out


def write_page(
    path: str | Path,
    title: str,
    *,
    tables: Sequence[Table] = (),
    gallery: Gallery | None = None,
    notes: Sequence[str] = (),
) -> Path:
    """Write an HTML page at `path` (its images into ``<stem>_images/`` beside it); return `path`."""
    path = Path(path)
    image_dir = path.parent / f"{path.stem}_images"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if gallery is not None and any(
            isinstance(im, np.ndarray) for row in gallery.rows for im in row.images
        ):
            image_dir.mkdir(exist_ok=True)
        parts = [
            "<!DOCTYPE html>",
            '<html><head><meta charset="utf-8">',
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
            f"<h1>{html.escape(title)}</h1>",
        ]
        parts += [f"<p>{html.escape(n)}</p>" for n in notes]
        for table in tables:
            parts += _table(table)
        if gallery is not None:
            parts += _gallery(gallery, image_dir, image_dir.name)
            parts.append(f"<script>{_SORT_JS}</script>")
        parts.append("</body></html>")
    except OSError as exc:
        raise BadFileError(path, f"cannot write the page ({exc.strerror or exc})") from exc
    return write_text_atomic(path, "\n".join(parts) + "\n", "cannot write the page")
