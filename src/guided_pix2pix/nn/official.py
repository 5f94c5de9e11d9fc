"""The official Guided-pix2pix checkpoint format (`*_net_G.pth`) and its conversion.

`official_key_map(config)` lists, for every tensor of our generator, the official keys it is
made of (two keys concatenated on dim 0 where we store alpha and beta fused). Official tensors
the official forward pass never uses are listed by `official_dead_keys(config)`; conversion
drops them and reports them. Everything else must match: a key the map expects and the
checkpoint lacks, a key the checkpoint has that nothing expects, and any shape difference are
errors that name the key and both shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import BadFileError, BadOptionError
from ..files.safe_load import load_torch_weights
from .generator import Generator, GeneratorConfig, load_state_strict

# official --netG value -> (our backbone, our conditioning)
OFFICIAL_NETS = {
    "bFT_resnet": ("resnet", "bft"),
    "bFT_unet": ("unet", "bft"),
    "uFT_resnet": ("resnet", "uft"),
    "uFT_unet": ("unet", "uft"),
}

NORM_TENSORS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def config_from_official(
    netG: str,
    input_nc: int = 3,
    guide_nc: int = 3,
    output_nc: int = 3,
    ngf: int = 64,
    n_blocks: int = 9,
    n_layers: int = 8,
    norm: str = "instance",
) -> GeneratorConfig:
    """Our config for an official network built with the official option names and defaults."""
    if netG not in OFFICIAL_NETS:
        raise BadOptionError(
            "--netG", f"unknown official network {netG!r}; choose from {', '.join(OFFICIAL_NETS)}"
        )
    backbone, conditioning = OFFICIAL_NETS[netG]
    return GeneratorConfig(
        backbone=backbone,
        conditioning=conditioning,
        input_nc=input_nc,
        guide_nc=guide_nc,
        output_nc=output_nc,
        ngf=ngf,
        n_blocks=n_blocks,
        n_layers=n_layers,
        norm=norm,
    )


def _pg(ours: str, alpha: str, beta: str) -> dict[str, list[str]]:
    """Fused parameter generator `ours` <- official alpha/beta bottleneck Sequentials (conv at 0 and 2)."""
    return {
        f"{ours}.hidden.weight": [f"{alpha}.0.weight", f"{beta}.0.weight"],
        f"{ours}.hidden.bias": [f"{alpha}.0.bias", f"{beta}.0.bias"],
        f"{ours}.out.weight": [f"{alpha}.2.weight", f"{beta}.2.weight"],
        f"{ours}.out.bias": [f"{alpha}.2.bias", f"{beta}.2.bias"],
    }


def _conv(ours: str, official: str, bias: bool = True) -> dict[str, list[str]]:
    out = {f"{ours}.weight": [f"{official}.weight"]}
    if bias:
        out[f"{ours}.bias"] = [f"{official}.bias"]
    return out


def _norm(ours: str, official: str, norm: str) -> dict[str, list[str]]:
    if norm != "batch":
        return {}
    return {f"{ours}.{t}": [f"{official}.{t}"] for t in NORM_TENSORS}


def _resnet_map(cfg: GeneratorConfig) -> dict[str, list[str]]:
    m: dict[str, list[str]] = {}
    m |= _conv("body.input_stem.1", "padding_in.1") | _conv("body.guide_stem.1", "padding_g.1")
    for i in range(3):
        m |= _conv(f"body.input_down.{i}", f"conv{i + 1}") | _conv(f"body.guide_down.{i}", f"conv{i + 1}_g")
    for i in range(4):
        s = i + 1
        if cfg.conditioning == "bft":
            m |= _pg(f"body.stages.{i}.from_guide", f"G_bottleneck_alpha_{s}", f"G_bottleneck_beta_{s}")
            if i < 3:
                m |= _pg(f"body.stages.{i}.from_input", f"bottleneck_alpha_{s}", f"bottleneck_beta_{s}")
        else:  # uFT: the guide-computed generators carry no G_ prefix; the guide norms are norm{s}_g
            m |= _pg(f"body.stages.{i}.from_guide", f"bottleneck_alpha_{s}", f"bottleneck_beta_{s}")
            if i < 3:
                m |= _norm(f"body.stages.{i}.guide_norm", f"norm{s}_g", cfg.norm)
    for b in range(cfg.n_blocks):
        m |= _conv(f"body.blocks.{b}.conv1", f"resnet.{b}.conv_block.1")
        m |= _norm(f"body.blocks.{b}.norm1", f"resnet.{b}.conv_block.2", cfg.norm)
        m |= _conv(f"body.blocks.{b}.conv2", f"resnet.{b}.conv_block.5")
        m |= _norm(f"body.blocks.{b}.norm2", f"resnet.{b}.conv_block.6", cfg.norm)
    for j in range(3):
        m |= _conv(f"body.up.{j}.conv", f"pre_decoder.{3 * j}")
        m |= _norm(f"body.up.{j}.norm", f"pre_decoder.{3 * j + 1}", cfg.norm)
    m |= _conv("body.head.1", "decoder.1")
    return m


def _unet_level_names(cfg: GeneratorConfig, level: int, prefix: str) -> str:
    """Official module of encoder `level` (1-based) of the input (prefix '') or guide ('G_') stream."""
    extras = cfg.n_layers - 5
    if level == 1:
        return f"{prefix}downconv1.0"
    if level <= 4:
        return f"{prefix}downconv{level}.1"
    if level <= 4 + extras:
        return f"{prefix}downconv.{2 * (level - 5) + 1}"
    return f"{prefix}downconv5.1"  # innermost (input stream only)


def _unet_pg_names(level: int, prefix: str) -> tuple[str, str]:
    if level <= 4:
        return f"{prefix}bottleneck_alpha_{level}", f"{prefix}bottleneck_beta_{level}"
    k = 3 * (level - 5)  # the extras are flattened into one Sequential, three modules per level
    return f"{prefix}bottleneck_alpha.{k}", f"{prefix}bottleneck_beta.{k}"


def _unet_pg_map(ours: str, alpha: str, beta: str, level: int) -> dict[str, list[str]]:
    if level <= 4:
        return _pg(ours, alpha, beta)
    # flattened extras: the bottleneck's second conv sits two modules after its first
    a_seq, a_idx = alpha.rsplit(".", 1)
    b_seq, b_idx = beta.rsplit(".", 1)
    a0, b0 = int(a_idx), int(b_idx)
    return {
        f"{ours}.hidden.weight": [f"{a_seq}.{a0}.weight", f"{b_seq}.{b0}.weight"],
        f"{ours}.hidden.bias": [f"{a_seq}.{a0}.bias", f"{b_seq}.{b0}.bias"],
        f"{ours}.out.weight": [f"{a_seq}.{a0 + 2}.weight", f"{b_seq}.{b0 + 2}.weight"],
        f"{ours}.out.bias": [f"{a_seq}.{a0 + 2}.bias", f"{b_seq}.{b0 + 2}.bias"],
    }


def _unet_map(cfg: GeneratorConfig) -> dict[str, list[str]]:
    if cfg.n_layers < 6:
        raise BadOptionError("--n_layers", f"the official U-Net needs n_layers >= 6, got {cfg.n_layers}")
    bias = cfg.norm == "instance"  # official use_bias
    L, extras = cfg.n_layers, cfg.n_layers - 5
    m: dict[str, list[str]] = {}
    for level in range(1, L + 1):
        m |= _conv(f"body.input_down.{level - 1}", _unet_level_names(cfg, level, ""), bias)
        if level < L:
            m |= _conv(f"body.guide_down.{level - 1}", _unet_level_names(cfg, level, "G_"), bias)
    for level in range(2, L):
        stage = f"body.stages.{level - 2}"
        if cfg.conditioning == "bft":
            m |= _unet_pg_map(f"{stage}.from_guide", *_unet_pg_names(level, "G_"), level)
            if level < L - 1:
                m |= _unet_pg_map(f"{stage}.from_input", *_unet_pg_names(level, ""), level)
        else:
            m |= _unet_pg_map(f"{stage}.from_guide", *_unet_pg_names(level, "G_"), level)
            if level < L - 1:  # one shared norm_g serves all extra levels officially
                m |= _norm(f"{stage}.guide_norm", f"norm{level}_g" if level <= 4 else "norm_g", cfg.norm)
    decoder = ["upconv1"] + [f"upconv.{3 * i}" for i in range(extras)] + ["upconv2", "upconv3", "upconv4"]
    for j, name in enumerate(decoder):
        if name.startswith("upconv."):
            seq, k = name.split(".")
            conv, norm = f"{seq}.{int(k) + 1}", f"{seq}.{int(k) + 2}"
        else:
            conv, norm = f"{name}.1", f"{name}.2"
        m |= _conv(f"body.up.{j}.conv", conv, bias)
        m |= _norm(f"body.up.{j}.norm", norm, cfg.norm)
    m |= _conv("body.head", "upconv5.1")
    return m


_MAPS = {"resnet": _resnet_map, "unet": _unet_map}


def official_key_map(cfg: GeneratorConfig) -> dict[str, list[str]]:
    """Our state-dict key -> the official keys it is concatenated from (dim 0)."""
    if cfg.conditioning not in ("bft", "uft"):
        raise BadOptionError(
            "conditioning", f"official checkpoints exist for bft and uft only, not {cfg.conditioning!r}"
        )
    return _MAPS[cfg.backbone](cfg)


def official_dead_keys(cfg: GeneratorConfig) -> set[str]:
    """Official tensors the official forward pass never uses (so they never receive a gradient).

    bFT: the input-side parameter generators of the last stage, whose output modulates a guide
    stream that ends there. uFT U-Net with batch norm and n_layers 6: `norm_g`, which then only
    normalises the guide after the last stage.
    """
    dead: set[str] = set()
    if cfg.conditioning == "bft":
        if cfg.backbone == "resnet":
            pg_map = _pg("dead", "bottleneck_alpha_4", "bottleneck_beta_4")
        else:
            level = cfg.n_layers - 1
            pg_map = _unet_pg_map("dead", *_unet_pg_names(level, ""), level)
        dead = {key for sources in pg_map.values() for key in sources}
    elif cfg.backbone == "unet" and cfg.norm == "batch" and cfg.n_layers == 6:
        dead = {f"norm_g.{t}" for t in NORM_TENSORS}
    return dead


@dataclass
class ConversionReport:
    generator: Generator
    dropped: list[str] = field(default_factory=list)


def _is_stale_instance_norm_stat(key: str) -> bool:
    # PyTorch 0.4.0 wrote running stats for InstanceNorm; the official loader deletes them too.
    return key.rsplit(".", 1)[-1] in ("running_mean", "running_var", "num_batches_tracked")


def convert_state_dict(state: dict, cfg: GeneratorConfig, source: str = "state dict") -> ConversionReport:
    """Map an official generator state dict onto a new `Generator(cfg)`.

    Raises BadFileError naming `source`, the key, and the expected and found shapes on any mismatch.
    """
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise BadFileError(source, "not a state dict of tensors (expected an official *_net_G.pth)")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    model = Generator(cfg)
    own = model.state_dict()
    key_map = official_key_map(cfg)
    if set(key_map) != set(own):  # the map itself is part of the contract: it must cover the model exactly
        missing = sorted(set(own) - set(key_map)) or sorted(set(key_map) - set(own))
        raise AssertionError(f"official key map out of sync with the model at {missing[0]}")
    dead = official_dead_keys(cfg)
    used: set[str] = set()
    converted = {}
    for ours, sources in key_map.items():
        target_shape = tuple(own[ours].shape)
        part_shape = (target_shape[0] // len(sources), *target_shape[1:]) if target_shape else ()
        parts = []
        for src in sources:
            if src not in state:
                raise BadFileError(source, f"missing key {src}: expected shape {part_shape}, found none")
            found = tuple(state[src].shape)
            if found != part_shape:
                raise BadFileError(source, f"key {src}: expected shape {part_shape}, found {found}")
            parts.append(state[src])
            used.add(src)
        converted[ours] = parts[0] if len(parts) == 1 else torch.cat(parts, dim=0)
    dropped = []
    for key in sorted(set(state) - used):
        if key in dead or (cfg.norm != "batch" and _is_stale_instance_norm_stat(key)):
            dropped.append(key)
        else:
            raise BadFileError(
                source,
                f"unexpected key {key} with shape {tuple(state[key].shape)} for this --netG and options",
            )
    load_state_strict(model, converted, source)
    return ConversionReport(model, dropped)


def convert_official(src: str | Path, dest: str | Path | None, cfg: GeneratorConfig) -> ConversionReport:
    """Load an official `*_net_G.pth` safely (weights_only), convert it and, if `dest` is given,
    write a folder that `Generator.from_pretrained` loads."""
    state = load_torch_weights(src)
    report = convert_state_dict(state, cfg, source=str(src))
    if dest is not None:
        report.generator.save_pretrained(dest)
    return report
