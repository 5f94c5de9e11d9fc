"""TextureGAN folders (shoes, handbags, clothes) as the official bFT texture loader reads them.

Layout: ``ROOT/{split}_img/CLASS/NAME.jpg`` (photo), ``{split}_skg/CLASS/NAME.jpg`` (sketch),
``eroded_{split}_seg/CLASS/NAME.jpg`` (eroded object mask), split ``train`` or ``val``;
``{split}_seg`` and ``{split}_txt`` may be present but are not used by the default official
setting (texture patch cut from the photo itself). Files are matched by CLASS/NAME.

Item, as the official loader (defaults ``input_texture_patch=original_image``,
``patch_size_min=20``, ``patch_size_max=40``, one patch):

- images are resized so the short side is 128 (bilinear) and centre-cropped to 128 x 128
  (``random_crop=True``: the official training crop instead, a random 60-100 % area crop of
  aspect 3/4-4/3 resized to 128, then a random horizontal flip, the same for all files);
- everything goes to LAB (scikit-image), scaled ((L - 50) / 50, a / 128, b / 128);
- input = the sketch's scaled L channel (1, 128, 128);
- the eroded mask is round(L / 100) of the mask image; a 10-pixel border is cleared; one
  pixel of it is drawn uniformly, a square side s = 20 + round(u * 20) is drawn, and the
  window rows [r - s // 2, r + s // 2), columns [c - s // 2, c + s // 2) (clipped) of the
  photo's LAB are copied into a texture map that is 1 elsewhere; with no mask pixel left
  the patch is centred on the image;
- guide = texture map (3) + patch mask (1, +1 inside, -1 outside) = 4 channels;
- target = the photo's scaled LAB (3 channels).

The official draw is random at every read; here it is drawn from ``(seed, index)`` so an item
is reproducible, or from torch's generator when ``random_crop=True``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from ..errors import BadFileError
from ..files.images import check_pixels
from .base import MAX_SEED, ItemDataset, check_choice, check_count

PATCH_MIN, PATCH_MAX = 20, 40  # official patch side range at 128 x 128, pixels
_SUFFIXES = (".jpg", ".jpeg", ".png")


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))  # Python 2's round() for the positive values used here


def load_rgb(path: Path):
    """Open an image as an RGB PIL image (grey is replicated), raising BadFileError."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            check_pixels(path, (im.height, im.width))  # before decoding
            im = im.convert("RGB")
            im.load()
            return im
    except Image.DecompressionBombError as exc:
        raise BadFileError(path, f"image exceeds the pixel limit ({exc})") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadFileError(path, f"truncated or corrupt image ({exc})") from exc


def resize_short_side(im, size: int):
    """Short side -> `size`, long side int(size * long / short), bilinear (torchvision Scale)."""
    from PIL import Image

    w, h = im.size
    if (w <= h and w == size) or (h <= w and h == size):
        return im
    ow, oh = (size, int(size * h / w)) if w < h else (int(size * w / h), size)
    return im.resize((ow, oh), Image.BILINEAR)  # type: ignore[attr-defined]  # PIL sets it by setattr; not in its types


def center_crop(im, size: int):
    w, h = im.size
    top, left = _round_half_up((h - size) / 2.0), _round_half_up((w - size) / 2.0)
    return im.crop((left, top, left + size, top + size))


def lab_scaled(im) -> np.ndarray:
    """PIL RGB -> (3, H, W) float64 LAB scaled ((L - 50) / 50, a / 128, b / 128), via scikit-image."""
    from skimage.color import rgb2lab

    lab = rgb2lab(np.asarray(im, dtype=np.float64) / 255.0)
    lab = (lab - np.array([50.0, 0.0, 0.0])) / np.array([50.0, 128.0, 128.0])
    return lab.transpose(2, 0, 1)  # (H, W, 3) -> (3, H, W)


def mask_from_lab(lab: np.ndarray) -> np.ndarray:
    """Official mask rule on unscaled L: L / 100 if its max exceeds 1, then round. (H, W) of 0/1."""
    L = lab[0] * 50.0 + 50.0
    if L.max() > 1:
        L = L / 100.0
    return np.round(L)


def patch_windows(
    candidates: np.ndarray,
    u_side: np.ndarray,
    u_pick: np.ndarray,
    side_min: int = PATCH_MIN,
    side_max: int = PATCH_MAX,
) -> tuple[np.ndarray, np.ndarray]:
    """The official patch rule of N candidate masks (N, H, W) bool at once, u_side and u_pick
    (N,) uniform in [0, 1): ((N, 3) int (row, col, side), (N, 4) int windows (r0, r1, c0, c1),
    rows [r0, r1) and columns [c0, c1)). The candidates lose a border of side_min / 2; the pick
    is the round(u_pick * (n - 1))-th of the n left (row-major), the centre when none is. All
    masks' candidates are one flat list in item order, so each pick is an offset into its
    item's run."""
    N, H, W = candidates.shape
    seg = candidates.copy()
    border = int(math.ceil(side_min / 2))
    seg[:, :border, :] = False
    seg[:, :, :border] = False
    seg[:, :, int(math.floor(W - side_min / 2)) :] = False
    seg[:, int(math.floor(H - side_min / 2)) :, :] = False
    sides = (side_min + np.round(np.asarray(u_side, np.float64) * (side_max - side_min))).astype(np.int64)
    ones = np.flatnonzero(seg)  # item-major
    counts = np.bincount(ones // (H * W), minlength=N)
    starts = np.cumsum(counts) - counts
    found = counts > 0
    offsets = np.round(np.asarray(u_pick, np.float64) * (counts - 1)).astype(np.int64)
    picks = ones[(starts + offsets)[found]] % (H * W)
    row, col = np.full(N, H // 2), np.full(N, W // 2)
    row[found], col[found] = np.divmod(picks, W)
    half = sides // 2
    windows = np.stack(
        [
            np.maximum(row - half, 0),
            np.minimum(row + half, H),
            np.maximum(col - half, 0),
            np.minimum(col + half, W),
        ],
        1,
    )
    return np.stack([row, col, sides], 1), windows


def patch_window(
    eroded: np.ndarray,
    u_side: float,
    u_pick: float,
    side_min: int = PATCH_MIN,
    side_max: int = PATCH_MAX,
) -> tuple[tuple[int, int, int], tuple[int, int, int, int]]:
    """Where the official rule puts the patch on a pixel of `eroded` (H, W) (see `place_patch`):
    ((row, col, side), (r0, r1, c0, c1)), the window rows [r0, r1) and columns [c0, c1).
    The candidates are the pixels where eroded / eroded.max() is 1 (none when the mask is
    empty: 0 / 0 is NaN, as in the official code); a bool `eroded` is taken as 0 / 1."""
    if eroded.dtype == bool:
        candidates = eroded
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            candidates = eroded / eroded.max() == 1
    centre, window = patch_windows(
        candidates[None], np.array([u_side]), np.array([u_pick]), side_min, side_max
    )
    row, col, side = centre[0].tolist()
    r0, r1, c0, c1 = window[0].tolist()
    return (row, col, side), (r0, r1, c0, c1)


def place_patch(
    lab: np.ndarray,
    eroded: np.ndarray,
    u_side: float,
    u_pick: float,
    side_min: int = PATCH_MIN,
    side_max: int = PATCH_MAX,
) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Build the 4-channel guide: a square of `lab` (3, H, W) placed on a pixel of `eroded` (H, W).

    u_side, u_pick: uniform numbers in [0, 1) choosing the side and the pixel. Returns the guide
    (4, H, W) (texture channels 1 outside the patch, mask -1 outside / +1 inside) and the
    patch (row, col, side).
    """
    H, W = eroded.shape
    patch, (r0, r1, c0, c1) = patch_window(eroded, u_side, u_pick, side_min, side_max)
    guide = np.ones((4, H, W), np.float64)
    guide[3] = -1.0
    guide[:3, r0:r1, c0:c1] = lab[:, r0:r1, c0:c1]
    guide[3, r0:r1, c0:c1] = 1.0
    return guide, patch


def _listing(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise BadFileError(folder, "no such folder")
    out = {}
    for path in sorted(folder.glob("*/*")):
        if path.suffix.lower() in _SUFFIXES and path.is_file():
            out[f"{path.parent.name}/{path.stem}"] = path
    return out


class TextureGANDataset(ItemDataset):
    """Texture-guided sketch-to-image from TextureGAN folders (see the module docstring).

    root: the dataset folder. split: "train" | "val" ("test" reads val). size: output side,
    pixels (official 128). seed: base of the per-item patch draw without `random_crop`. random_crop: the
    official training crop (random area and patch, from torch's generator).
    """

    task = "texture"
    channels = (1, 4, 3)

    def __init__(
        self,
        root,
        split: str = "train",
        size: int = 128,
        seed: int = 0,
        random_crop: bool = False,
        on_error: str = "raise",
    ):
        super().__init__(on_error=on_error)
        check_choice("split", split, ("train", "val", "test"))
        self.random_crop = bool(random_crop)
        self.size = check_count("size", size, minimum=PATCH_MAX + 2)
        self.seed = check_count("seed", seed, minimum=0, maximum=MAX_SEED)
        self.root = Path(root)
        part = "train" if split == "train" else "val"
        folders = {
            "img": self.root / f"{part}_img",
            "skg": self.root / f"{part}_skg",
            "eroded": self.root / f"eroded_{part}_seg",
        }
        lists = {role: _listing(folder) for role, folder in folders.items()}
        self.items = []
        for role in ("skg", "eroded"):
            for key, path in lists[role].items():
                if key not in lists["img"]:
                    self._bad(BadFileError(path, f"no partner {folders['img'].name}/{key}.*"))
        for key, img in lists["img"].items():
            missing = [folders[r].name for r in ("skg", "eroded") if key not in lists[r]]
            if missing:
                self._bad(BadFileError(img, f"no partner {missing[0]}/{key}.*"))
                continue
            self.items.append((key, img, lists["skg"][key], lists["eroded"][key]))
        if not self.items:
            raise BadFileError(folders["img"], "no usable images")

    def _bad(self, exc: BadFileError) -> None:
        if self.on_error != "skip":
            raise exc
        self.record_skip(exc)

    def __len__(self) -> int:
        return len(self.items)

    def _geometry(self, images: list, paths: list[Path]) -> list:
        sizes = {im.size for im in images}
        if len(sizes) != 1:
            raise BadFileError(
                paths[1], f"size {images[1].size} differs from {paths[0].name} {images[0].size}"
            )
        if not self.random_crop:
            return [center_crop(resize_short_side(im, self.size), self.size) for im in images]
        from PIL import Image

        W, H = images[0].size
        out = None
        for _ in range(10):  # random 60-100 % area, aspect 3/4-4/3 crop (official training)
            u = torch.rand(4).tolist()
            area = (0.6 + 0.4 * u[0]) * W * H
            aspect = 0.75 + (4.0 / 3.0 - 0.75) * u[1]
            w, h = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
            if u[2] < 0.5:
                w, h = h, w
            if w <= W and h <= H:
                x1 = int(torch.randint(0, W - w + 1, ()))
                y1 = int(torch.randint(0, H - h + 1, ()))
                out = [
                    im.crop((x1, y1, x1 + w, y1 + h)).resize((self.size, self.size), Image.BILINEAR)  # type: ignore[attr-defined]  # as above
                    for im in images
                ]
                break
        if out is None:
            out = [center_crop(resize_short_side(im, self.size), self.size) for im in images]
        if float(torch.rand(())) < 0.5:
            out = [im.transpose(Image.FLIP_LEFT_RIGHT) for im in out]  # type: ignore[attr-defined]  # as above
        return out

    def load_item(self, index: int) -> dict:
        key, *paths = self.items[index]
        img, skg, eroded = self._geometry([load_rgb(p) for p in paths], paths)
        img_lab, skg_lab, eroded_lab = lab_scaled(img), lab_scaled(skg), lab_scaled(eroded)
        if self.random_crop:
            u_side, u_pick = torch.rand(2, dtype=torch.float64).tolist()
        else:
            u_side, u_pick = np.random.default_rng([self.seed, index]).random(2)
        guide, _ = place_patch(img_lab, mask_from_lab(eroded_lab), u_side, u_pick)
        return {
            "input": torch.from_numpy(skg_lab[0:1]).float(),
            "guide": torch.from_numpy(guide).float(),
            "target": torch.from_numpy(img_lab).float(),
            "meta": {"id": f"texturegan/{key}"},
        }
