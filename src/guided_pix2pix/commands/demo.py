"""`guided-pix2pix demo`: a web page to try the models on your own pictures (Gradio).

``guided-pix2pix demo [--checkpoint [TASK=]DIR_OR_PRETRAINED ...] [--port N] [--host H]``
serves one tab per task (depth up-sampling, pose transfer, texture transfer; see
`commands._demo_app`). Each ``--checkpoint`` is a generator folder, a run folder or
``pretrained:NAME``, optionally prefixed by the tab it is for (``pose=runs/pose``); without a
prefix the task is read from the model's run (or its channels, `training.model_task`). The
depth tab defaults to ``pretrained:depth_x8``; a tab with no model says how to give one.
Needs the optional extra: ``pip install 'guided-pix2pix[demo]'`` (gradio).
"""

from __future__ import annotations

import importlib.util
import sys

from ..errors import BadOptionError, UserError
from ..nn.devices import resolve_device


def add_arguments(parser) -> None:
    parser.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="[TASK=]PATH",
        help="a model for a tab: generator folder, run folder or pretrained:NAME, optionally as "
        "depth=..., pose=... or texture=...; repeat for several tabs (default depth=pretrained:depth_x8)",
    )
    parser.add_argument("--port", type=int, default=7860, help="port to serve on (default 7860)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)"
    )
    parser.add_argument("--device", default="auto", help="auto (best available), cpu, cuda, cuda:N, mps")


def run(args) -> int:
    if not 1 <= args.port <= 65535:
        raise BadOptionError("--port", f"must be 1..65535, got {args.port}")
    if importlib.util.find_spec("gradio") is None:
        raise UserError("the demo needs gradio: pip install 'guided-pix2pix[demo]'")
    from ._demo_app import launch, load_models

    device = resolve_device(args.device)
    models = load_models(args.checkpoint, device)
    for task, entry in sorted(models.items()):
        print(f"demo: {task} tab: {entry.source}", file=sys.stderr)
    print(f"demo: serving on http://{args.host}:{args.port}", file=sys.stderr)
    launch(models, args.host, args.port)
    return 0
