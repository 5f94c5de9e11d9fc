"""The run configuration: one typed object, built from defaults <- preset or YAML <- overrides.

A run config (`RunConfig`) has four sections, each a dataclass whose fields are the keys and
defaults: `model` (`GeneratorConfig`), `discriminator` (`DiscriminatorSection`), `data`
(`DataSection`) and `train` (`TrainSection`). A preset is a YAML file under
`guided_pix2pix/presets/` that overrides some defaults; `load_config(name_or_path, overrides)`
merges defaults <- preset <- `key=value` overrides (values parsed as YAML, so `train.lr=1e-4`,
`data.options.size=[64,64]`, `train.crop=null` all work) and checks the whole result before
anything else happens (and so before a run folder is written):

- unknown keys, with the nearest known key suggested (`train.batch_szie` -> "did you mean
  train.batch_size?"), and values of the wrong type, naming the key and where it came from;
- every choice against its registry (`train.lr_policy`, `train.gan_mode`, `discriminator.kind`,
  `data.dataset` and its options, `train.precision`, `train.device`) and every range.

YAML is read by `StrictLoader` (a `yaml.SafeLoader`): no tags beyond the safe ones, no aliases or
anchors (a few hundred bytes of nested aliases expand to gigabytes: "billion laughs"), no
duplicate mapping keys (YAML would keep the last silently), UTF-8 text of at most
`MAX_CONFIG_BYTES`. A `base:` must name a preset or a file, and a chain of bases may not loop.

`RunConfig.to_dict()` / `dump_config` give the plain nested mapping written as the run
folder's `config.yaml`, which `load_config` reads back to an equal config.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import re
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..errors import BadFileError, BadOptionError
from ..nn.discriminator import DISCRIMINATORS, DiscriminatorConfig
from ..nn.generator import GeneratorConfig
from ..nn.losses import GAN_LOSSES
from ..nn.norms import NORMS
from .schedules import LR_POLICIES

PRESET_DIR = "presets"
PRECISIONS = ("fp32", "bf16")
DEVICES = ("auto", "cpu")
MAX_SEED = 2**63 - 1
MAX_CONFIG_BYTES = 1 << 20  # a config file larger than 1 MiB is not a config
MAX_BASE_DEPTH = 16  # presets based on presets, at most this deep


def _rule(low=None, high=None, *, above=None, choices=None) -> dict:
    """Field metadata checked by `check_fields`: an inclusive `low`/`high`, an exclusive lower
    bound `above`, or `choices` (a callable returning the allowed names, e.g. a registry)."""
    return {"low": low, "high": high, "above": above, "choices": choices}


@dataclass
class DiscriminatorSection:
    """The PatchGAN discriminator of a run (used only when train.lambda_gan > 0); its input
    channels follow from the generator (input_nc + guide_nc + output_nc)."""

    kind: str = field(default="basic", metadata=_rule(choices=lambda: DISCRIMINATORS))  # nn.DISCRIMINATORS
    ndf: int = field(default=64, metadata=_rule(1, 4096))  # width of the first conv
    n_layers: int = field(default=3, metadata=_rule(1, 12))  # stride-2 levels (kind n_layers)
    norm: str = field(default="instance", metadata=_rule(choices=lambda: NORMS))

    def build_config(self, input_nc: int) -> DiscriminatorConfig:
        return DiscriminatorConfig(
            kind=self.kind, input_nc=input_nc, ndf=self.ndf, n_layers=self.n_layers, norm=self.norm
        )


def _dataset_names():
    from ..data import DATASETS

    return DATASETS


@dataclass
class DataSection:
    """Training and validation data: a dataset by name and its keyword options."""

    dataset: str = field(default="synthetic_depth", metadata=_rule(choices=_dataset_names))
    options: dict = field(default_factory=dict)  # keyword options of that dataset (build_dataset)
    val_dataset: str | None = field(default=None, metadata=_rule(choices=_dataset_names))  # None: same
    val_options: dict = field(default_factory=dict)  # merged over `options` when val_dataset is None
    val_max_items: int = field(default=16, metadata=_rule(1))  # held-out items scored per validation
    num_workers: int = field(default=0, metadata=_rule(0, 256))  # DataLoader workers per process

    def validation_source(self) -> tuple[str, dict]:
        """(dataset name, options) of the validation data."""
        if self.val_dataset:
            return self.val_dataset, dict(self.val_options)
        return self.dataset, {**self.options, **self.val_options}


@dataclass
class TrainSection:
    """The optimisation, schedule, precision, logging and checkpoint settings."""

    batch_size: int = field(default=1, metadata=_rule(1, 1 << 16))  # per process
    grad_accum: int = field(default=1, metadata=_rule(1, 1 << 12))  # micro-batches per optimiser step
    max_steps: int | None = field(default=None, metadata=_rule(1))  # None: (niter + niter_decay) epochs
    niter: int = field(default=100, metadata=_rule(0))  # epochs at the initial lr (official --niter)
    niter_decay: int = field(default=100, metadata=_rule(0))  # epochs of linear decay to 0
    lr: float = field(default=2.0e-4, metadata=_rule(above=0.0))
    beta1: float = field(default=0.5, metadata=_rule(0.0, 0.999999))  # Adam: 0 <= beta < 1
    beta2: float = field(default=0.999, metadata=_rule(0.0, 0.999999))
    lr_policy: str = field(default="lambda", metadata=_rule(choices=lambda: LR_POLICIES))
    warmup_steps: int = field(default=0, metadata=_rule(0))  # linear warm-up (cosine policy)
    gan_mode: str = field(default="lsgan", metadata=_rule(choices=lambda: GAN_LOSSES))
    lambda_gan: float = field(default=1.0, metadata=_rule(0.0))  # 0: no discriminator at all
    lambda_l1: float = field(default=100.0, metadata=_rule(0.0))
    # squared error (mean over pixels), beside or instead of L1: its optimum is the mean, not the
    # median, so a model that starts from a prior (model.output_prior) still gets a gradient
    # towards the parts it cannot yet place (a limb that is there in fewer than half the cases)
    lambda_l2: float = field(default=0.0, metadata=_rule(0.0))
    pool_size: int = field(default=0, metadata=_rule(0, 100_000))  # fake history for D (--pool_size)
    flip: bool = False  # paired random horizontal flips
    crop: list[int] | None = None  # [h, w]: paired random crops of this size
    precision: str = field(default="fp32", metadata=_rule(choices=lambda: PRECISIONS))  # bf16: autocast
    channels_last: bool = False
    compile: bool = False  # torch.compile the generator and discriminator
    device: str = field(default="auto", metadata=_rule(choices=lambda: DEVICES))
    seed: int = field(default=0, metadata=_rule(0, MAX_SEED))
    save_every: int = field(default=1000, metadata=_rule(1))  # steps between checkpoints
    keep_last: int = field(default=3, metadata=_rule(1))  # checkpoints kept
    log_every: int = field(default=50, metadata=_rule(1))  # steps between metrics.jsonl lines
    image_every: int = field(default=500, metadata=_rule(1))  # steps between TensorBoard grids
    val_every: int = field(default=1000, metadata=_rule(0))  # steps between validations (0: never)
    max_bad_steps: int = field(default=10, metadata=_rule(1))  # non-finite steps in a row before a stop

    def check(self) -> None:
        if self.max_steps is None and self.niter + self.niter_decay == 0:
            raise BadOptionError(
                "train.niter",
                "train.niter + train.niter_decay is 0 and train.max_steps is null: the run would train "
                "zero epochs; give epochs or train.max_steps",
            )
        crop = self.crop
        if crop is not None and not (
            len(crop) == 2 and all(isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in crop)
        ):
            raise BadOptionError("train.crop", f"must be [height, width] in pixels or null, got {crop!r}")


SECTIONS: dict[str, type] = {
    "model": GeneratorConfig,
    "discriminator": DiscriminatorSection,
    "data": DataSection,
    "train": TrainSection,
}
FREE_FORM = {("data", "options"), ("data", "val_options")}  # dicts handed on as keyword options


@dataclass
class RunConfig:
    """A whole run: the generator, the discriminator, the data and the training settings."""

    model: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorSection = field(default_factory=DiscriminatorSection)
    data: DataSection = field(default_factory=DataSection)
    train: TrainSection = field(default_factory=TrainSection)

    @classmethod
    def from_dict(cls, data: dict, source: str = "config") -> RunConfig:
        """Build and check a config from a complete or partial nested mapping (over the defaults)."""
        merged = default_mapping()
        merge_mapping(merged, data, (), source)
        return _build(merged)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def discriminator_config(self) -> DiscriminatorConfig:
        m = self.model
        return self.discriminator.build_config(m.input_nc + m.guide_nc + m.output_nc)


# ----------------------------------------------------------------------------- checks
def _field_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _nearest(key: str, known, listing: str = "known here", prefix: str = "") -> str:
    """ "did you mean <prefix><the closest known key>?", or the known keys when none is close."""
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f"did you mean {prefix}{close[0]}?" if close else f"{listing}: {', '.join(known)}"


_FLOAT_TEXT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_KIND_NAMES = {bool: "true or false", int: "an integer", float: "a float", str: "a string"}


def _coerce(dotted: str, hint, value, source: str):
    """`value` checked against the field's type `hint` (int, float, bool, str, list[int], dict,
    or one of those | None); an int is accepted where a float is, and YAML 1.1's `1e-4` string."""
    args = typing.get_args(hint)
    if type(None) in args:
        if value is None:
            return None
        hint = next(a for a in args if a is not type(None))
    origin = typing.get_origin(hint) or hint
    if origin is float:
        if isinstance(value, str) and _FLOAT_TEXT.fullmatch(value.strip()):
            return float(value)  # YAML 1.1 reads `1e-4` (no dot) as a string
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise BadOptionError(dotted, f"must be a float, got {value!r} ({source})")
    if origin is list:
        if not isinstance(value, list):
            raise BadOptionError(dotted, f"must be a list, got {value!r} ({source})")
        return list(value)
    if origin is dict:
        if not isinstance(value, dict):
            raise BadOptionError(dotted, f"must be a mapping, got {value!r} ({source})")
        return value
    if value is None:
        raise BadOptionError(dotted, f"must be {_KIND_NAMES.get(origin, origin)}, not null ({source})")
    if origin is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise BadOptionError(dotted, f"must be an int, got {value!r} ({source})")
    if origin in (bool, str) and not isinstance(value, origin):
        raise BadOptionError(dotted, f"must be {_KIND_NAMES[origin]}, got {value!r} ({source})")
    return value


def check_fields(obj, section: str) -> None:
    """Ranges and choices from each field's metadata (`_rule`); non-finite floats are refused."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        dotted = f"{section}.{f.name}"
        if isinstance(value, float) and not math.isfinite(value):
            raise BadOptionError(dotted, f"must be a finite number, got {value}")
        rule = f.metadata
        if not rule or value is None:
            continue
        if rule["choices"] is not None and value not in rule["choices"]():
            choices = ", ".join(map(str, rule["choices"]()))
            raise BadOptionError(dotted, f"must be one of {choices}, got {value!r}")
        if rule["above"] is not None and not value > rule["above"]:
            raise BadOptionError(dotted, f"must be a finite number > {rule['above']:g}, got {value}")
        if rule["low"] is not None and value < rule["low"]:
            raise BadOptionError(dotted, f"must be >= {rule['low']}, got {value}")
        if rule["high"] is not None and value > rule["high"]:
            raise BadOptionError(dotted, f"must be <= {rule['high']}, got {value}")


def _check_dataset_options(data: DataSection) -> None:
    from ..data import dataset_options

    for name, options, where in (
        (data.dataset, data.options, "data.options"),
        (*data.validation_source(), "data.val_options"),
    ):
        allowed = dataset_options(name)
        for key in options:
            if key not in allowed:
                raise BadOptionError(
                    f"{where}.{key}",
                    f"not an option of dataset {name!r}; {_nearest(str(key), allowed, 'options')}",
                )


def _build(merged: dict) -> RunConfig:
    try:
        model = GeneratorConfig.from_dict(merged["model"])
        model.check_size()  # the parameter bound, counted without allocating
    except BadOptionError as exc:
        raise BadOptionError(f"model.{exc.option}", exc.problem) from exc
    cfg = RunConfig(
        model=model,
        discriminator=DiscriminatorSection(**merged["discriminator"]),
        data=DataSection(**merged["data"]),
        train=TrainSection(**merged["train"]),
    )
    for section in ("discriminator", "data", "train"):
        check_fields(getattr(cfg, section), section)
    cfg.train.check()
    _check_dataset_options(cfg.data)
    return cfg


# ----------------------------------------------------------------------------- merging
def default_mapping() -> dict:
    return RunConfig().to_dict()


def merge_mapping(base: dict, update: dict, where: tuple[str, ...], source: str) -> None:
    """Merge `update` into `base` key by key, checking each key and value type (see module doc)."""
    # Dataset options belong to a dataset: choosing another dataset starts its options afresh.
    if where == ("data",) and update.get("dataset", base["dataset"]) != base["dataset"]:
        base["options"], base["val_options"] = {}, {}
    hints = _field_hints(SECTIONS[where[0]]) if len(where) == 1 else {}
    for key, value in update.items():
        path = (*where, str(key))
        dotted = ".".join(path)
        if path in FREE_FORM:  # dataset options: merged key by key, checked against the dataset
            if value is not None and not isinstance(value, dict):
                raise BadOptionError(
                    dotted, f"must be a mapping of dataset options, got {value!r} ({source})"
                )
            base[key].update(copy.deepcopy(value or {}))
            continue
        if not isinstance(key, str) or key not in base:
            prefix = "".join(f"{w}." for w in where)
            hint = _nearest(str(key), sorted(base), prefix=prefix)
            raise BadOptionError(dotted, f"unknown option ({source}); {hint}")
        if not where:  # a section
            if not isinstance(value, dict):
                first = next(iter(base[key]), "key")
                raise BadOptionError(
                    dotted, f"is a section; give its keys, e.g. {dotted}.{first}=... ({source})"
                )
            merge_mapping(base[key], value, path, source)
        else:
            base[key] = _coerce(dotted, hints[key], value, source)


# ----------------------------------------------------------------------------- files and presets
class StrictLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that refuses aliases and anchors and duplicate mapping keys."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            line = event.start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None, None, f"YAML anchors and aliases (&name, *name) are not allowed (line {line})", None
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    first = seen.get(key)
                    seen[key] = line
                except TypeError:  # a list or a mapping used as a key
                    raise yaml.constructor.ConstructorError(
                        None, None, f"a mapping key must be a plain value (line {line})", None
                    ) from None
                if first is not None:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"duplicate key {key!r} (lines {first} and {line}); YAML would keep only the last",
                        None,
                    )
        return super().construct_mapping(node, deep=deep)


def strict_yaml(text: str):
    """`text` parsed by `StrictLoader` (raises yaml.YAMLError)."""
    loader = StrictLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def preset_names() -> list[str]:
    return sorted(
        p.name[:-5]
        for p in resources.files("guided_pix2pix").joinpath(PRESET_DIR).iterdir()
        if p.name.endswith(".yaml")
    )


def read_yaml_mapping(path: Path, label: str) -> dict:
    """A YAML file that must hold a mapping (or nothing), read by `StrictLoader`; errors name the file."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise BadFileError(path, f"cannot read: {exc.strerror or exc}") from exc
    if len(raw) > MAX_CONFIG_BYTES:
        raise BadFileError(path, f"larger than {MAX_CONFIG_BYTES} bytes: not a config file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadFileError(
            path, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); save it as UTF-8"
        ) from exc
    try:
        data = strict_yaml(text)
    except yaml.YAMLError as exc:
        raise BadFileError(path, f"invalid YAML ({str(exc).splitlines()[0]})") from exc
    except RecursionError as exc:
        raise BadFileError(path, "invalid YAML (nested too deeply)") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadFileError(path, f"a {label} must be a YAML mapping, found {type(data).__name__}")
    return data


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
            value = strict_yaml(text) if text != "" else None
        except yaml.YAMLError as exc:
            raise BadOptionError(
                key, f"value {text!r} is not valid YAML ({str(exc).splitlines()[0]})"
            ) from exc
        except RecursionError as exc:
            raise BadOptionError(key, "value is not valid YAML (nested too deeply)") from exc
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


def _load_mapping(name_or_path: str, chain: tuple[Path, ...] = ()) -> dict:
    """defaults <- the preset or YAML file (and the preset it is based on), as a checked mapping.

    `chain`: the files that led here through `base:` (a base that loops back is refused)."""
    path, label = resolve_preset(name_or_path)
    data = read_yaml_mapping(path, "config")
    base = data.pop("base", None)  # a file may start from a preset: `base: pose`
    if base is None:
        merged = default_mapping()
    else:
        if not isinstance(base, str) or not base.strip():
            raise BadFileError(path, f"base: must be a preset name or a YAML path, got {base!r}")
        here = (*chain, path.resolve())
        target = resolve_preset(base)[0].resolve()
        if target in here:
            loop = " -> ".join(p.name for p in (*here, target))
            raise BadFileError(path, f"base: {base!r} leads back to itself ({loop})")
        if len(here) >= MAX_BASE_DEPTH:
            raise BadFileError(path, f"base: more than {MAX_BASE_DEPTH} configs based on one another")
        merged = _load_mapping(base, here)
    merge_mapping(merged, data, (), label)
    return merged


def load_config(name_or_path: str | None = None, overrides: list[str] | dict | None = None) -> RunConfig:
    """DEFAULTS <- preset or YAML file (optionally based on another preset) <- overrides, checked."""
    merged = _load_mapping(name_or_path) if name_or_path is not None else default_mapping()
    if overrides:
        nested = parse_overrides(overrides) if isinstance(overrides, list) else overrides
        merge_mapping(merged, nested, (), "command line")
    return _build(merged)


def as_run_config(cfg: RunConfig | dict) -> RunConfig:
    """A `RunConfig` as is; a nested mapping (e.g. a loaded config.yaml) checked and built."""
    return cfg if isinstance(cfg, RunConfig) else RunConfig.from_dict(cfg)


def dump_config(cfg: RunConfig) -> str:
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)
