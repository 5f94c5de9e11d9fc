"""`guided-pix2pix demo`: a web page to try the models on your own pictures (Gradio).

``guided-pix2pix demo [--checkpoint [TASK=]DIR_OR_PRETRAINED ...] [--port N] [--host H]
[--concurrency N] [--queue-size N] [--max-upload-mb N]`` serves one tab per task (depth up-sampling, pose transfer, texture transfer; see
`commands._demo_app`). Each ``--checkpoint`` is a generator folder, a run folder or
``pretrained:NAME``, optionally prefixed by the tab it is for (``pose=runs/pose``); without a
prefix the task is read from the model's run (or its channels, `training.model_task`). The
depth tab defaults to ``pretrained:depth_x8``; a tab with no model says how to give one.
Requests are computed one at a time (``--concurrency``), the others wait in a queue of
``--queue-size``, uploads are bounded by ``--max-upload-mb`` (the reasons: `commands._demo_app`,
"Under load").
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
    parser.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="model requests computed at once (default 1: on a CPU one forward already uses every core)",
    )
    parser.add_argument(
        "--queue-size", type=int, default=64, help="requests that may wait their turn (default 64)"
    )
    parser.add_argument(
        "--max-upload-mb", type=int, default=50, help="largest uploaded file, in MB (default 50)"
    )


def run(args) -> int:
    if not 1 <= args.port <= 65535:
        raise BadOptionError("--port", f"must be 1..65535, got {args.port}")
    for option, value, top in (
        ("--concurrency", args.concurrency, 64),
        ("--queue-size", args.queue_size, 100_000),
        ("--max-upload-mb", args.max_upload_mb, 10_000),
    ):
        if not 1 <= value <= top:
            raise BadOptionError(option, f"must be 1..{top}, got {value}")
    if importlib.util.find_spec("gradio") is None:
        raise UserError("the demo needs gradio: pip install 'guided-pix2pix[demo]'")
    from ._demo_app import launch, load_models

    device = resolve_device(args.device)
    models = load_models(args.checkpoint, device)
    for task, entry in sorted(models.items()):
        print(f"demo: {task} tab: {entry.source}", file=sys.stderr)
    print(f"demo: serving on http://{args.host}:{args.port}", file=sys.stderr)
    launch(
        models,
        args.host,
        args.port,
        concurrency=args.concurrency,
        queue_size=args.queue_size,
        max_upload_mb=args.max_upload_mb,
    )
    return 0
