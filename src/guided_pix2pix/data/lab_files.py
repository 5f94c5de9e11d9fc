"""A texture model's files: the network works in TextureGAN-scaled LAB, a person's files are RGB.

The texture datasets (`synthetic_texture`, `texturegan`) feed the network the sketch's scaled L
channel and a 4-channel patch guide, all from sRGB through `data.color` ((L - 50) / 50, a / 128,
b / 128). The files a user gives and gets back map to those tensors as follows:

- input, the sketch: an 8-bit grey or RGB image -> its scaled L channel, (1, H, W);
- guide, the texture patch: an 8-bit RGBA image the size of the sketch whose opaque pixels
  (alpha >= 128) are the patch: (4, H, W) = the patch's scaled LAB inside it and 1 elsewhere,
  then the mask, +1 inside and -1 outside (the encoding of `texturegan.place_patch`);
- output: the network's scaled LAB (3, H, W) -> an (H, W, 3) uint8 sRGB image
  (`visualize.lab_to_display_rgb` in float64, rounded to the nearest level).

Float arrays (.npy / .npz / float TIFF) hold network values as they are, for either role, as in
the folder datasets. `patch_guide_image` builds such a guide image from a texture picture and a
place on the sketch (the demo's texture tab).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import BadFileError, BadOptionError
from ..files.images import decode_pil, probe_image, read_image
from ..files.values import to_signed_unit
from .color import normalize_lab, rgb_to_lab
from .visualize import lab_to_display_rgb

PATCH_ALPHA = 128  # guide pixels with alpha >= this are the texture patch
# suffixes read through Pillow (alpha kept); other image and array files through `read_image`
_PIL_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def _is_pil(path: Path) -> bool:
    return path.suffix.lower() in _PIL_SUFFIXES


def _has_alpha(im) -> bool:
    return im.mode in _ALPHA_MODES or (im.mode == "P" and "transparency" in im.info)


def probe_texture_file(path: Path, role: str) -> tuple[int, int, int]:
    """(H, W, network channels) of a texture model's input ("input") or guide ("guide") file,
    from its header: an 8-bit sketch gives 1 channel, an RGBA patch image 4; float arrays (and
    8-bit arrays) count their channels as stored."""
    path = Path(path)
    h, w, c = probe_image(path)
    if not _is_pil(path):
        return h, w, c
    if role == "input":
        return h, w, 1
    from PIL import Image

    try:
        with Image.open(path) as im:
            alpha = _has_alpha(im)
    except Exception as exc:  # probe_image opened it already; a second failure is still one line
        raise BadFileError(path, f"unreadable image ({type(exc).__name__}: {exc})") from exc
    if not alpha:
        raise BadFileError(
            path,
            "a texture guide is an RGBA image whose opaque pixels are the patch (this one has no "
            "alpha channel), or a 4-channel array of network values",
        )
    return h, w, 4


def _read_rgba(path: Path) -> np.ndarray:
    """An image with an alpha channel -> (H, W, 4) uint8, safely (`files.images.decode_pil`)."""

    def rgba(im) -> np.ndarray:
        if not _has_alpha(im):
            raise BadFileError(path, "a texture guide needs an alpha channel marking the patch")
        if im.mode not in ("RGBA", "LA", "P", "PA"):
            raise BadFileError(path, f"unsupported image mode {im.mode!r} for a texture guide")
        return np.asarray(im.convert("RGBA"))

    return decode_pil(path, rgba)


def _scaled_lab(rgb_u8: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 sRGB -> (3, H, W) float64 scaled LAB, as the texture datasets compute it."""
    rgb = torch.from_numpy(rgb_u8.astype(np.float64) / 255.0).permute(2, 0, 1)[None]  # (1, 3, H, W)
    return normalize_lab(rgb_to_lab(rgb))[0]


def _rgb_of(arr: np.ndarray) -> np.ndarray:
    return np.repeat(arr[:, :, :1], 3, axis=2) if arr.shape[2] == 1 else arr[:, :, :3]


def sketch_to_input(arr: np.ndarray) -> torch.Tensor:
    """(H, W, 1 or 3) uint8 sketch -> (1, H, W) float32: its scaled L channel."""
    return _scaled_lab(_rgb_of(arr))[0:1].float()


def rgba_to_guide(arr: np.ndarray) -> torch.Tensor:
    """(H, W, 4) uint8 RGBA patch image -> (4, H, W) float32 guide (see the module docstring)."""
    inside = torch.from_numpy(arr[:, :, 3] >= PATCH_ALPHA)  # (H, W)
    lab = _scaled_lab(np.ascontiguousarray(arr[:, :, :3]))
    guide = torch.ones((4, *inside.shape), dtype=torch.float64)
    guide[:3] = torch.where(inside, lab, guide[:3])  # patch's LAB inside, 1 outside
    guide[3] = torch.where(inside, 1.0, -1.0)
    return guide.float()


def read_texture_input(path: Path) -> torch.Tensor:
    """A sketch file -> (1, H, W) network input (float arrays: as stored)."""
    path = Path(path)
    arr = read_image(path)
    if arr.dtype == np.uint16:
        raise BadFileError(path, "a sketch is an 8-bit grey or RGB image (this one is 16-bit)")
    if arr.dtype != np.uint8:
        return to_signed_unit(arr, path)
    if arr.shape[2] not in (1, 3):
        raise BadFileError(path, f"a sketch is a grey or RGB image, not {arr.shape[2]} channels")
    return sketch_to_input(arr)


def read_texture_guide(path: Path) -> torch.Tensor:
    """A patch guide file -> (4, H, W) network guide (RGBA image; float arrays: as stored)."""
    path = Path(path)
    arr = _read_rgba(path) if _is_pil(path) else read_image(path)
    if arr.dtype not in (np.uint8, np.uint16):
        return to_signed_unit(arr, path)
    if arr.dtype != np.uint8 or arr.shape[2] != 4:
        raise BadFileError(
            path, f"a texture guide is an 8-bit RGBA image, not {arr.shape[2]} channels of {arr.dtype}"
        )
    return rgba_to_guide(arr)


def output_to_rgb(out: torch.Tensor) -> np.ndarray:
    """(3, H, W) network output in scaled LAB -> (H, W, 3) uint8 sRGB."""
    rgb = lab_to_display_rgb(out.detach().cpu().double()[None])[0]  # (3, H, W) in [0, 1]
    return np.clip(np.rint(rgb.numpy().transpose(1, 2, 0) * 255.0), 0, 255).astype(np.uint8)


def patch_guide_image(
    texture: np.ndarray, size: tuple[int, int], centre: tuple[int, int], side: int
) -> np.ndarray:
    """An (H, W, 4) uint8 RGBA guide: `texture` ((h, w, 3) uint8) tiled into a `side`-pixel square
    whose rows [row - side // 2, row + side // 2) and columns likewise (clipped to the image) are
    opaque, as `texturegan.place_patch` cuts its window; transparent elsewhere."""
    H, W = size
    row, col = centre
    if side < 2:
        raise BadOptionError("side", f"the patch side must be at least 2 pixels, got {side}")
    if not (0 <= row < H and 0 <= col < W):
        raise BadOptionError("centre", f"({row}, {col}) lies outside the {H}x{W} sketch")
    texture = _rgb_of(np.asarray(texture, dtype=np.uint8).reshape(texture.shape[0], texture.shape[1], -1))
    r0, r1 = max(row - side // 2, 0), min(row + side // 2, H)
    c0, c1 = max(col - side // 2, 0), min(col + side // 2, W)
    reps = (-(-(r1 - r0) // texture.shape[0]), -(-(c1 - c0) // texture.shape[1]), 1)
    tile = np.tile(texture, reps)[: r1 - r0, : c1 - c0]  # (r1 - r0, c1 - c0, 3)
    guide = np.zeros((H, W, 4), np.uint8)
    guide[r0:r1, c0:c1, :3] = tile
    guide[r0:r1, c0:c1, 3] = 255
    return guide


def guide_picture(sketch: np.ndarray, guide: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8: the sketch with the guide's opaque patch pasted on it (for display)."""
    rgb = _rgb_of(np.asarray(sketch, dtype=np.uint8)).copy()
    inside = guide[:, :, 3] >= PATCH_ALPHA
    rgb[inside] = guide[inside, :3]
    return rgb
