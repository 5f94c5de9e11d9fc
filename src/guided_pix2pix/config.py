"""Run configuration: presets, YAML files and dotted command-line overrides.

A run config is a nested dict with four sections, whose keys and defaults are `DEFAULTS`:
`model` (GeneratorConfig fields), `discriminator`, `data`, `train`. A preset is a YAML file
under `guided_pix2pix/presets/` that overrides some defaults; `load_config(name_or_path,
overrides)` merges defaults <- preset <- `key=value` overrides (values parsed as YAML, so
`train.lr=1e-4`, `data.options.size=[64,64]`, `train.crop=null` all work). Unknown keys,
unknown presets and values of the wrong type are errors naming the key.
"""

from __future__ import annotations

import copy
import math
import re
from importlib import resources
from pathlib import Path

import yaml

from .errors import BadFileError, BadOptionError
from .nn.generator import GeneratorConfig

DEFAULTS: dict = {
    "model": GeneratorConfig().to_dict(),
    "discriminator": {"kind": "basic", "ndf": 64, "n_layers": 3, "norm": "instance"},
    "data": {
        "dataset": "synthetic_depth",  # a name in guided_pix2pix.data.DATASETS
        "options": {},  # keyword options of that dataset (build_dataset)
        "val_dataset": None,  # None: the same dataset and options with split "val"
        "val_options": {},
        "val_max_items": 16,  # held-out items scored at each validation
        "num_workers": 0,  # DataLoader worker processes per training process
    },
    "train": {
        "batch_size": 1,  # per process
        "grad_accum": 1,  # micro-batches per optimiser step
        "max_steps": None,  # optimiser steps; None: (niter + niter_decay) epochs
        "niter": 100,  # epochs at the initial learning rate (official --niter)
        "niter_decay": 100,  # epochs of linear decay to 0 (official --niter_decay)
        "lr": 2.0e-4,
        "beta1": 0.5,
        "beta2": 0.999,
        "lr_policy": "lambda",  # a name in train.LR_POLICIES
        "warmup_steps": 0,  # linear warm-up (cosine policy)
        "gan_mode": "lsgan",  # a name in nn.losses.GAN_LOSSES
        "lambda_gan": 1.0,  # 0: no discriminator at all (the official depth recipe is L1 only)
        "lambda_l1": 100.0,
        "pool_size": 0,  # fake-image history for D (official --pool_size)
        "flip": False,  # paired random horizontal flips
        "crop": None,  # [h, w]: paired random crops of this size
        "precision": "fp32",  # fp32 | bf16 (autocast)
        "channels_last": False,
        "compile": False,  # torch.compile the generator and discriminator
        "device": "auto",  # auto | cpu
        "seed": 0,
        "save_every": 1000,  # steps between checkpoints
        "keep_last": 3,  # checkpoints kept
        "log_every": 50,  # steps between metrics.jsonl / TensorBoard scalars
        "image_every": 500,  # steps between TensorBoard image grids
        "val_every": 1000,  # steps between validations (0: never)
        "max_bad_steps": 10,  # consecutive non-finite losses before the run stops
    },
}

FREE_FORM = {("data", "options"), ("data", "val_options")}  # dicts handed on as keyword options
PRESET_DIR = "presets"


def preset_names() -> list[str]:
    return sorted(
        p.name[:-5]
        for p in resources.files("guided_pix2pix").joinpath(PRESET_DIR).iterdir()
        if p.name.endswith(".yaml")
    )


def _read_yaml(path: Path, label: str) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise BadFileError(path, f"cannot read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise BadFileError(path, f"invalid YAML ({str(exc).splitlines()[0]})") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadFileError(path, f"a {label} must be a YAML mapping, found {type(data).__name__}")
    return data


def _merge(base: dict, update: dict, where: tuple[str, ...], source: str) -> None:
    # Dataset options belong to a dataset: choosing another dataset starts its options afresh.
    if where == ("data",) and update.get("dataset", base["dataset"]) != base["dataset"]:
        base["options"], base["val_options"] = {}, {}
    for key, value in update.items():
        path = (*where, str(key))
        dotted = ".".join(path)
        if path in FREE_FORM:  # dataset options: merged key by key, checked by build_dataset
            if value is not None and not isinstance(value, dict):
                raise BadOptionError(
                    dotted, f"must be a mapping of dataset options, got {value!r} ({source})"
                )
            base[key].update(copy.deepcopy(value or {}))
            continue
        if key not in base:
            known = ", ".join(sorted(base))
            raise BadOptionError(dotted, f"unknown option ({source}); known here: {known}")
        current = base[key]
        if isinstance(current, dict):
            if not isinstance(value, dict):
                raise BadOptionError(
                    dotted,
                    f"is a section; give its keys, e.g. {dotted}.{next(iter(current), 'key')}=... ({source})",
                )
            _merge(current, value, path, source)
        else:
            base[key] = _coerce(dotted, current, value, source)


_FLOAT_TEXT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _coerce(dotted: str, default, value, source: str):
    """Check `value` against the type of the default; ints are accepted where floats are."""
    if default is None or value is None:
        return value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise BadOptionError(dotted, f"must be true or false, got {value!r} ({source})")
        return value
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(default, float) and isinstance(value, str) and _FLOAT_TEXT.fullmatch(value.strip()):
        return float(value)  # YAML 1.1 reads `1e-4` (no dot) as a string
    if isinstance(default, (int, float)) and (
        isinstance(value, bool) or not isinstance(value, type(default))
    ):
        raise BadOptionError(dotted, f"must be a {type(default).__name__}, got {value!r} ({source})")
    if isinstance(default, str) and not isinstance(value, str):
        raise BadOptionError(dotted, f"must be a string, got {value!r} ({source})")
    return value


def parse_overrides(items: list[str]) -> dict:
    """['train.lr=1e-4', 'model.ngf=32'] -> nested dict; values parsed as YAML."""
    nested: dict = {}
    for item in items:
        if "=" not in item:
            raise BadOptionError(item, "overrides are KEY=VALUE with a dotted key, e.g. train.max_steps=200")
        key, text = item.split("=", 1)
        if not key or any(not part for part in key.split(".")):
            raise BadOptionError(item, "empty key; overrides are KEY=VALUE with a dotted key")
        try:
            value = yaml.safe_load(text) if text != "" else None
        except yaml.YAMLError as exc:
            raise BadOptionError(
                key, f"value {text!r} is not valid YAML ({str(exc).splitlines()[0]})"
            ) from exc
        node = nested
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise BadOptionError(key, "conflicts with another override")
        node[parts[-1]] = value
    return nested


def resolve_preset(name_or_path: str) -> tuple[Path, str]:
    """A preset name or a YAML path -> (path, label)."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise BadFileError(path, "no such config file")
        return path, str(path)
    names = preset_names()
    if name_or_path not in names:
        raise BadOptionError(
            "--config", f"unknown preset {name_or_path!r}; presets: {', '.join(names)}; or give a .yaml file"
        )
    return Path(
        str(resources.files("guided_pix2pix").joinpath(PRESET_DIR, f"{name_or_path}.yaml"))
    ), f"preset {name_or_path}"


def load_config(name_or_path: str | None = None, overrides: list[str] | dict | None = None) -> dict:
    """DEFAULTS <- preset or YAML file (optionally based on another preset) <- overrides."""
    cfg = copy.deepcopy(DEFAULTS)
    if name_or_path is not None:
        path, label = resolve_preset(name_or_path)
        data = _read_yaml(path, "config")
        base = data.pop("base", None)  # a file may start from a preset: `base: pose`
        if base is not None:
            cfg = load_config(base)
        _merge(cfg, data, (), label)
    if overrides:
        nested = parse_overrides(overrides) if isinstance(overrides, list) else overrides
        _merge(cfg, nested, (), "command line")
    validate(cfg)
    return cfg


def validate(cfg: dict) -> None:
    """Checks that need more than a type: choices and ranges (the rest fails where it is used)."""
    GeneratorConfig.from_dict(cfg["model"])
    t = cfg["train"]
    positive = (
        "batch_size",
        "grad_accum",
        "save_every",
        "log_every",
        "image_every",
        "keep_last",
        "max_bad_steps",
    )
    for key in positive:
        if t[key] < 1:
            raise BadOptionError(f"train.{key}", f"must be >= 1, got {t[key]}")
    for key in ("niter", "niter_decay", "val_every", "pool_size", "warmup_steps"):
        if t[key] < 0:
            raise BadOptionError(f"train.{key}", f"must be >= 0, got {t[key]}")
    if t["max_steps"] is not None and (not isinstance(t["max_steps"], int) or t["max_steps"] < 1):
        raise BadOptionError("train.max_steps", f"must be a positive integer or null, got {t['max_steps']!r}")
    if t["precision"] not in ("fp32", "bf16"):
        raise BadOptionError("train.precision", f"must be fp32 or bf16, got {t['precision']!r}")
    if t["device"] not in ("auto", "cpu"):
        raise BadOptionError("train.device", f"must be auto or cpu, got {t['device']!r}")
    if not (t["lr"] > 0 and math.isfinite(t["lr"])):
        raise BadOptionError("train.lr", f"must be a finite number > 0, got {t['lr']}")
    crop = t["crop"]
    if crop is not None and not (
        isinstance(crop, list) and len(crop) == 2 and all(isinstance(c, int) and c > 0 for c in crop)
    ):
        raise BadOptionError("train.crop", f"must be [height, width] in pixels or null, got {crop!r}")
    if cfg["data"]["num_workers"] < 0:
        raise BadOptionError("data.num_workers", f"must be >= 0, got {cfg['data']['num_workers']}")


def dump_config(cfg: dict) -> str:
    return yaml.safe_dump(cfg, sort_keys=False)
