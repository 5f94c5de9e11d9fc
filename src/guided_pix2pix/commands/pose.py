"""`guided-pix2pix pose ...`: pose guides from photos and keypoint files.

- ``pose detect PHOTO --out kp.json`` finds the person in a photo (mediapipe BlazePose, the
  optional extra ``guided-pix2pix[pose]``) and writes their 18 OpenPose keypoints as keypoint
  JSON (`guided_pix2pix.data.keypoints`, schema in docs/data.md).
- ``pose render kp.json --size H W --out guide.npy|guide.png`` draws a keypoint file (ours or
  OpenPose's JSON) at H x W pixels: ``.npy`` is the (H, W, 18) float32 heat-map guide the pose
  models take (`render_heatmaps`), ``.png`` the skeleton in colour for people to look at
  (`draw_skeleton`). ``--size`` defaults to the file's own image size.

A keypoint JSON can also be given to ``translate --guide`` directly.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..data.keypoints import draw_skeleton, read_keypoints, render_heatmaps, write_keypoints
from ..errors import BadOptionError
from ..files.images import write_image
from ..files.outputs import check_outputs_apart

RENDER_SUFFIXES = {".npy": "heat-maps", ".png": "skeleton"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="pose_command", metavar="ACTION", parser_class=type(parser))
    sub.required = True
    detect = sub.add_parser("detect", help="find a person's 18 keypoints in a photo, write keypoint JSON")
    detect.add_argument("photo", type=Path, help="photo of one person (PNG, JPEG, ...)")
    detect.add_argument("--out", type=Path, required=True, help="keypoint file to write (.json)")
    detect.set_defaults(_pose_run=_detect)
    render = sub.add_parser("render", help="draw a keypoint JSON as a pose guide (.npy) or skeleton (.png)")
    render.add_argument("keypoints", type=Path, help="keypoint JSON: ours or OpenPose's")
    render.add_argument(
        "--size", type=int, nargs=2, metavar=("H", "W"), help="pixels (default: the file's image size)"
    )
    render.add_argument(
        "--out", type=Path, required=True, help=".npy: (H, W, 18) float32 heat-maps; .png: coloured skeleton"
    )
    render.set_defaults(_pose_run=_render)


def run(args) -> int:
    return args._pose_run(args)


def _detect(args) -> int:
    from ..data.pose_detect import detect_photo  # mediapipe is optional: imported on use

    if args.out.suffix.lower() != ".json":
        raise BadOptionError("--out", f"{args.out}: the keypoint file is JSON; name it *.json")
    check_outputs_apart(args.out, [args.out], files=[args.photo], files_are="the photo")
    kp = detect_photo(args.photo)
    write_keypoints(args.out, kp)
    print(f"wrote {args.out} ({int(kp.present.sum())} of 18 keypoints found)", file=sys.stderr)
    return 0


def _render(args) -> int:
    suffix = args.out.suffix.lower()
    if suffix not in RENDER_SUFFIXES:
        raise BadOptionError("--out", f"{args.out}: write .npy (heat-map guide) or .png (skeleton picture)")
    check_outputs_apart(args.out, [args.out], files=[args.keypoints], files_are="the keypoint file")
    kp = read_keypoints(args.keypoints)
    if args.size is not None:
        size = (args.size[0], args.size[1])
    elif kp.image_size is not None:
        size = kp.image_size
    else:
        raise BadOptionError("--size", f"{args.keypoints} does not record its image size; give --size H W")
    if min(size) < 1:
        raise BadOptionError("--size", f"must be positive, got {size[0]} {size[1]}")
    picture = render_heatmaps(kp, size) if suffix == ".npy" else draw_skeleton(kp, size)
    write_image(args.out, picture)
    print(f"wrote {args.out} ({RENDER_SUFFIXES[suffix]}, {size[0]}x{size[1]})", file=sys.stderr)
    return 0
