"""`guided-pix2pix info`: a generator's architecture summary and parameter count.

With no options it describes the official pose network (bFT ResNet, 3/18/3, ngf 64, 9 blocks).
"""

from __future__ import annotations

import json

from ._model_options import add_generator_options, generator_config_from_args


def add_arguments(parser):
    parser.add_argument("--checkpoint", help="a generator folder (save_pretrained); overrides the options")
    add_generator_options(parser, input_nc=3, guide_nc=18, output_nc=3)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def summarize(generator) -> dict:
    """Parameter counts per top-level part of the generator body, and the total."""
    parts: dict[str, int] = {}
    for name, p in generator.named_parameters():
        part = ".".join(name.split(".")[:2])  # e.g. body.stages
        parts[part] = parts.get(part, 0) + p.numel()
    return {"config": generator.config.to_dict(), "parameters": generator.num_parameters(), "parts": parts}


def run(args):
    from ..nn.generator import Generator

    if args.checkpoint:
        generator = Generator.from_pretrained(args.checkpoint)
    else:
        generator = Generator(generator_config_from_args(args))
    summary = summarize(generator)
    if args.json:
        print(json.dumps(summary))
        return 0
    cfg = summary["config"]
    print(
        f"Generator: backbone={cfg['backbone']} conditioning={cfg['conditioning']} "
        f"channels in/guide/out={cfg['input_nc']}/{cfg['guide_nc']}/{cfg['output_nc']} ngf={cfg['ngf']} "
        f"n_blocks={cfg['n_blocks']} n_layers={cfg['n_layers']} norm={cfg['norm']} "
        f"bottleneck={cfg['bottleneck']}"
    )
    for part, count in summary["parts"].items():
        print(f"  {part:<24} {count:>12,}")
    print(f"Total parameters: {summary['parameters']:,}")
    return 0
