"""Generator options shared by the subcommands that build a generator from the command line."""

from __future__ import annotations

import argparse

from ..nn.backbones import BACKBONES
from ..nn.generator import GeneratorConfig
from ..nn.modulation import SCHEMES
from ..nn.norms import NORMS

_DEFAULTS = GeneratorConfig()


def add_generator_options(parser: argparse.ArgumentParser, **defaults) -> None:
    """Add --backbone, --conditioning, --input_nc ... with GeneratorConfig's defaults (or `defaults`)."""

    def d(name):
        return defaults.get(name, getattr(_DEFAULTS, name))

    parser.add_argument("--backbone", choices=list(BACKBONES), default=d("backbone"))
    parser.add_argument("--conditioning", choices=list(SCHEMES), default=d("conditioning"))
    for name in ("input_nc", "guide_nc", "output_nc", "ngf", "n_blocks", "n_layers", "bottleneck"):
        parser.add_argument(f"--{name}", type=int, default=d(name))
    parser.add_argument("--norm", choices=list(NORMS), default=d("norm"))


def generator_config_from_args(args: argparse.Namespace) -> GeneratorConfig:
    names = (
        "backbone",
        "conditioning",
        "input_nc",
        "guide_nc",
        "output_nc",
        "ngf",
        "n_blocks",
        "n_layers",
        "norm",
        "bottleneck",
    )
    return GeneratorConfig(**{n: getattr(args, n) for n in names})
