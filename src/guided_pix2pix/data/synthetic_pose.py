"""Synthetic pose transfer: articulated figures with the 18 OpenPose keypoints DeepFashion uses.

A figure has fixed proportions, skin, hair and clothes (shirt with a pattern, sleeves of some
length, trousers, shoes) and is drawn from capsules and a torso polygon, softly shaded, on a
plain background. An item shows the same figure twice: in pose P (input) and pose Q
(target), with the 18 keypoint heat-maps of pose Q as guide, as the official DeepFashion
pickles pair them. Heat-maps are ``2 * exp(-d^2 / (2 sigma^2)) - 1`` in [-1, 1] (-1 far from
the joint, 1 on it; a keypoint outside the image leaves its map at -1), sigma = 1.2 % of
the image height, at least 1.5 px (`data.keypoints.keypoint_heatmaps`). Images are rendered as
uint8 and scaled to [-1, 1].

Keypoint order (OpenPose-18): nose, neck, Rsho, Relb, Rwri, Lsho, Lelb, Lwri, Rhip, Rknee,
Rank, Lhip, Lknee, Lank, Reye, Leye, Rear, Lear. The figure faces the camera, so its right
side is on the image's left.
"""

from __future__ import annotations

import colorsys

import numpy as np
import torch

from .keypoints import KEYPOINTS
from .keypoints import keypoint_heatmaps as heatmaps
from .synthetic_common import SyntheticDataset, pixel_grid, polygon_pixels

_STREAM = 2
K = {name: i for i, name in enumerate(KEYPOINTS)}


def _colour(rng, s=(0.3, 0.9), v=(0.3, 0.95)) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(rng.random(), rng.uniform(*s), rng.uniform(*v)), np.float32)


def sample_figure(rng: np.random.Generator) -> dict:
    """Body proportions (fractions of the figure height) and clothes of one person."""
    skin = np.array(
        colorsys.hsv_to_rgb(rng.uniform(0.02, 0.1), rng.uniform(0.25, 0.6), rng.uniform(0.35, 0.95))
    )
    return {
        "height": rng.uniform(0.72, 0.86),  # of the image height
        "shoulder": rng.uniform(0.09, 0.12),
        "hip": rng.uniform(0.055, 0.075),
        "upper_arm": rng.uniform(0.15, 0.18),
        "forearm": rng.uniform(0.13, 0.16),
        "torso": rng.uniform(0.28, 0.32),
        "thigh": rng.uniform(0.2, 0.24),
        "shin": rng.uniform(0.2, 0.23),
        "limb_r": rng.uniform(0.025, 0.035),
        "skin": skin.astype(np.float32),
        "hair": _colour(rng, v=(0.05, 0.5)),
        "shirt": _colour(rng),
        "shirt2": _colour(rng),
        "pattern": rng.choice(["plain", "stripes", "checks", "dots"]),
        "period": rng.uniform(0.03, 0.07),
        "sleeve": rng.choice([0.3, 1.0, 2.0]),  # 0.3: short, 1: to the elbow, 2: long
        "trousers": _colour(rng, v=(0.15, 0.8)),
        "shoes": _colour(rng, v=(0.05, 0.4)),
        "background": _colour(rng, s=(0.0, 0.25), v=(0.75, 1.0)),
    }


def sample_pose(rng: np.random.Generator, fig: dict, size: tuple[int, int]) -> np.ndarray:
    """(18, 2) keypoint (x, y) pixels of the figure in a random pose."""
    H, W = size
    hp = fig["height"] * H
    u = rng.uniform
    neck = np.array(
        [W / 2 + u(-0.12, 0.12) * W, (1 - fig["height"]) / 2 * H + 0.17 * hp + u(-0.03, 0.03) * H]
    )
    lean = u(-0.12, 0.12)
    pts = np.zeros((18, 2))
    pts[K["neck"]] = neck

    def step(start, angle, length):  # angle 0 = straight down, positive = towards image right
        return start + length * hp * np.array([np.sin(angle), np.cos(angle)])

    for side, sign in (("R", -1), ("L", 1)):
        sho = neck + np.array([sign * fig["shoulder"] * hp, 0.02 * hp])
        a_up = sign * u(0.1, 2.4)
        elb = step(sho, a_up, fig["upper_arm"])
        wri = step(elb, a_up + sign * u(-0.2, 2.0), fig["forearm"])
        mid_hip = step(neck, lean, fig["torso"])
        hip = mid_hip + np.array([sign * fig["hip"] * hp, 0.0])
        a_th = lean + sign * u(-0.1, 0.6)
        knee = step(hip, a_th, fig["thigh"])
        ank = step(knee, a_th - sign * u(-0.1, 0.9), fig["shin"])
        for name, p in (("sho", sho), ("elb", elb), ("wri", wri), ("hip", hip), ("knee", knee), ("ank", ank)):
            pts[K[side + name]] = p
    tilt = u(-0.3, 0.3)
    pts[K["nose"]] = step(neck, np.pi + tilt, 0.1)
    for side, sign in (("R", -1), ("L", 1)):
        pts[K[side + "eye"]] = pts[K["nose"]] + hp * np.array([sign * 0.025, -0.022])
        pts[K[side + "ear"]] = pts[K["nose"]] + hp * np.array([sign * 0.05, -0.005])
    return pts


class _Canvas:
    def __init__(self, size, background):
        H, W = size
        self.grid = pixel_grid((H, W))  # (ys, xs) float32 pixel coordinates, read-only
        row = np.tile(np.asarray(background, np.float32), W)  # (3,) -> (3 W,): one row of pixels
        self.img = np.tile(row, H).reshape(H, W, 3)

    def _window(self, lo, hi):
        H, W = self.img.shape[:2]
        r0, r1 = max(int(lo[1]) - 1, 0), min(int(hi[1]) + 2, H)
        c0, c1 = max(int(lo[0]) - 1, 0), min(int(hi[0]) + 2, W)
        if r0 >= r1 or c0 >= c1:
            return None
        sl = (slice(r0, r1), slice(c0, c1))
        return sl, self.grid[1][sl], self.grid[0][sl]

    def capsule(self, a, b, r, paint) -> None:
        """Fill the capsule of radius r (px) around segment a-b with paint(xs, ys, shade), which
        is given the coordinates and shading of the pixels inside only."""
        win = self._window(np.minimum(a, b) - r, np.maximum(a, b) + r)
        if win is None:
            return
        sl, xs, ys = win
        ab = b - a
        t = np.clip(((xs - a[0]) * ab[0] + (ys - a[1]) * ab[1]) / max(float(ab @ ab), 1e-6), 0, 1)
        dist = np.hypot(xs - a[0] - t * ab[0], ys - a[1] - t * ab[1])
        inside = dist <= r
        shade = 1.0 - 0.3 * (dist[inside] / r) ** 2
        self.img[sl][inside] = paint(xs[inside], ys[inside], shade)

    def polygon(self, pts, paint) -> None:
        H, W = self.img.shape[:2]
        rr, cc = polygon_pixels(pts[:, 1], pts[:, 0], (H, W))
        xs, ys = cc.astype(np.float32), rr.astype(np.float32)
        self.img[rr, cc] = paint(xs, ys, np.ones_like(xs) * 0.95)


def render_figure(fig: dict, pts: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Draw the figure at keypoints `pts`. Returns (H, W, 3) uint8."""
    H, _ = size
    hp = fig["height"] * H
    r = fig["limb_r"] * hp
    canvas = _Canvas(size, fig["background"])
    neck = pts[K["neck"]]
    period = fig["period"] * hp

    def flat(colour):
        return lambda xs, ys, shade: colour * shade[..., None]

    def shirt(xs, ys, shade):
        u, v = (xs - neck[0]) / period, (ys - neck[1]) / period
        m = {
            "plain": np.zeros_like(u),
            "stripes": (np.floor(v) % 2),
            "checks": (np.floor(u) + np.floor(v)) % 2,
            "dots": ((u % 1 - 0.5) ** 2 + (v % 1 - 0.5) ** 2 < 0.08).astype(np.float32),
        }[str(fig["pattern"])]
        colour = fig["shirt"] * (1 - m[..., None]) + fig["shirt2"] * m[..., None]
        return colour * shade[..., None]

    for side in ("R", "L"):  # legs: trousers, shoes
        hip, knee, ank = (pts[K[side + n]] for n in ("hip", "knee", "ank"))
        canvas.capsule(hip, knee, 1.25 * r, flat(fig["trousers"]))
        canvas.capsule(knee, ank, 1.1 * r, flat(fig["trousers"]))
        canvas.capsule(ank, ank + np.array([0, 0.02 * hp]), 1.15 * r, flat(fig["shoes"]))
    torso = np.array([pts[K["Rsho"]], pts[K["Lsho"]], pts[K["Lhip"]], pts[K["Rhip"]]])
    centre = torso.mean(0)
    canvas.polygon(centre + (torso - centre) * 1.12, shirt)
    canvas.capsule(neck, neck - np.array([0, 0.05 * hp]), 0.6 * r, flat(fig["skin"]))
    for side in ("R", "L"):  # arms: sleeve then skin
        sho, elb, wri = (pts[K[side + n]] for n in ("sho", "elb", "wri"))
        sleeve = float(fig["sleeve"])
        canvas.capsule(elb, wri, 0.9 * r, shirt if sleeve > 1 else flat(fig["skin"]))
        end = sho + (elb - sho) * min(sleeve, 1.0)
        canvas.capsule(sho, elb, 0.95 * r, flat(fig["skin"]))
        canvas.capsule(sho, end, 1.05 * r, shirt)
    head = pts[K["nose"]] + np.array([0, -0.02 * hp])
    canvas.capsule(head + [0, -0.015 * hp], head + [0, 0.015 * hp], 0.065 * hp, flat(fig["skin"]))
    canvas.capsule(
        head + [-0.03 * hp, -0.05 * hp], head + [0.03 * hp, -0.05 * hp], 0.04 * hp, flat(fig["hair"])
    )
    for eye in ("Reye", "Leye"):
        p = pts[K[eye]]
        canvas.capsule(p, p, max(0.008 * hp, 0.6), flat(np.zeros(3, np.float32)))
    return (np.clip(canvas.img, 0, 1) * 255 + 0.5).astype(np.uint8)


class SyntheticPoseDataset(SyntheticDataset):
    """Pose transfer on procedural figures; no files needed.

    Options: size (height, width) pixels, default (128, 128); count; seed; split "train" |
    "val" | "test" (disjoint streams); on_error as in `ItemDataset`.
    """

    task = "pose"
    channels = (3, 18, 3)

    name = "synthetic_pose"
    stream = _STREAM
    min_size = 32

    def load_item(self, index: int) -> dict:
        rng = self.item_rng(index)
        fig = sample_figure(rng)
        pose_p, pose_q = sample_pose(rng, fig, self.size), sample_pose(rng, fig, self.size)

        def image(pts):  # (H, W, 3) uint8 -> (3, H, W) in [-1, 1]
            return torch.from_numpy(render_figure(fig, pts, self.size)).permute(2, 0, 1).float() / 255 * 2 - 1

        return {
            "input": image(pose_p),
            "guide": torch.from_numpy(heatmaps(pose_q, self.size)),
            "target": image(pose_q),
            "meta": {"id": self.item_id(index)},
        }
