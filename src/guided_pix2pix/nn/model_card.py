"""The model card written beside every saved generator (README.md), in the layout of a
`huggingface_hub` model repository: YAML front matter (library, licence, tags, pipeline tag)
then Markdown sections, so a generator folder can be uploaded as it is.

What a card says: the architecture (the generator config), the task, how it was trained (data,
steps, the run's config file, the command when known), the last validation metrics with their
protocol, the licence, and how to load and run it. Only what is known is written; a card never
claims a number it was not given.
"""

from __future__ import annotations

import json
from typing import Any

LICENCE = "bsd-3-clause"  # the package's licence (pyproject), which the weights carry too
CARD_NAME = "README.md"

_TASK_TEXT = {
    "depth": "guided depth up-sampling: a low-resolution depth map, sharpened by the RGB photo of the same scene",
    "pose": "pose transfer: a person image re-posed to the 18 OpenPose keypoint heat-maps of a target pose",
    "texture": "texture transfer: a sketch filled with a texture patch (TextureGAN-scaled LAB)",
}


def _front_matter(task: str | None) -> str:
    tags = ["guided-image-to-image", "bft", "pytorch", *([task] if task else [])]
    lines = [
        "---",
        "library_name: guided-pix2pix",
        f"license: {LICENCE}",
        "pipeline_tag: image-to-image",
        "tags:",
        *[f"- {t}" for t in tags],
        "---",
    ]
    return "\n".join(lines)


def model_card(config: dict, info: dict[str, Any] | None = None) -> str:
    """The card's text for a generator `config` (GeneratorConfig.to_dict()) and optional `info`:
    ``task`` (depth, pose, texture or generic), ``training`` (a dict: dataset, options, steps,
    command, config_file), ``metrics`` ({name: value}) and ``protocol`` (how they were measured)."""
    info = info or {}
    task = info.get("task")
    scheme, backbone = config.get("conditioning"), config.get("backbone")
    out = [_front_matter(task), "", f"# guided-pix2pix generator: {scheme} {backbone}", ""]
    out.append(
        f"A {backbone} generator with {scheme} conditioning from guided-pix2pix (bi-directional feature "
        "transformation, AlBahar and Huang, ICCV 2019, and the schemes it compares)."
    )
    if task in _TASK_TEXT:
        out += ["", f"Task: {_TASK_TEXT[task]}."]
    out += ["", "## Architecture", "", "| option | value |", "|---|---|"]
    out += [f"| {k} | `{json.dumps(v)}` |" for k, v in sorted(config.items())]
    if config.get("input_filter"):
        out += [
            "",
            "The input is filtered with OpenCV before the network (`input_filter`); the residual output "
            "starts from that filtered map.",
        ]
    training = info.get("training")
    if training:
        out += ["", "## Training", ""]
        for key, label in (
            ("dataset", "data"),
            ("options", "data options"),
            ("steps", "optimiser steps"),
            ("command", "command"),
            ("config_file", "run config"),
        ):
            if training.get(key) is not None:
                value = training[key]
                text = f"`{value}`" if key in ("command", "config_file") else json.dumps(value)
                out.append(f"- {label}: {text}")
    metrics = info.get("metrics")
    if metrics:
        out += ["", "## Metrics", "", "| metric | value |", "|---|---|"]
        out += [
            f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in metrics.items()
        ]
        if info.get("protocol"):
            out += ["", f"Protocol: {info['protocol']}"]
    out += [
        "",
        "## Use",
        "",
        "```python",
        "from guided_pix2pix import Generator",
        'g = Generator.from_pretrained("path/to/this/folder")  # config.json + model.safetensors',
        "```",
        "",
        "or `guided-pix2pix translate --checkpoint FOLDER --input IN --guide GUIDE --out OUT`.",
        "",
        "## Licence",
        "",
        "BSD-3-Clause, as the guided-pix2pix package.",
        "",
    ]
    return "\n".join(out)
