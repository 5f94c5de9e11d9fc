"""`Generator`: the public two-stream guided generator, configured by one `GeneratorConfig`."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import BadFileError, BadOptionError
from ..files.atomic import write_atomic, write_text_atomic
from .backbones import BACKBONES
from .model_card import CARD_NAME, model_card
from .modulation import SCHEMES, ParameterGenerator, Stage
from .norms import NORMS
from .prefilters import check_filter_spec, filter_depth_batch
from .pretrained import is_pretrained_name, resolve_pretrained
from .priors import check_output_prior, output_prior

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
EXECUTION_MODES = ("fast", "reference")
# Bounds on a generator config, checked before anything is allocated (a config.json is untrusted
# input): each field's (low, high), and the parameter count, counted on the meta device first.
# The official networks are far inside them (pose: ngf 64, 9 blocks, 47.8 M parameters).
FIELD_BOUNDS: dict[str, tuple[int, int]] = {
    "input_nc": (1, 1024),
    "guide_nc": (1, 1024),
    "output_nc": (1, 1024),
    "ngf": (1, 1024),
    "n_blocks": (0, 64),
    "n_layers": (3, 12),  # U-Net: images must be multiples of 2**n_layers (4096 at 12)
    "bottleneck": (1, 4096),
}
MAX_PARAMETERS = 1_000_000_000  # 4 GB of float32 weights


@dataclass
class GeneratorConfig:
    """Everything needed to rebuild a generator; saved as JSON beside its weights.

    Attributes:
        backbone: one of BACKBONES: "resnet" (official bFT_resnet) or "unet" (official bFT_unet).
        conditioning: one of SCHEMES: "input_concat", "feature_concat", "film", "uft", "bft".
        input_nc / guide_nc / output_nc: channels of the input, guide and output images (>= 1).
        ngf: width of the first level (official 64).
        n_blocks: residual blocks of the ResNet backbone (official 9); ignored by the U-Net.
        n_layers: stride-2 levels of the U-Net backbone (official 8; 7 for texture); >= 3.
        norm: one of NORMS: "instance" (official), "batch", "none".
        bottleneck: hidden width of the parameter generators (official 100).
        residual: if true, output = clamp(input + tanh(net), -1, 1) instead of tanh(net), with the
            last conv initialised to zero so that training starts from output = input; needs
            output_nc == input_nc. Not in the official networks; the quickstart's depth preset uses it.
        input_filter: None, or a classical depth filter of `nn.prefilters.DEPTH_FILTERS` with its
            parameters, e.g. ``{"name": "joint_bilateral", "sigma_color": 20, "sigma_space": 8}``:
            the input is filtered (OpenCV, guided by the photo, no gradient) before the network
            sees it, and with `residual` the output starts from that filtered map instead of the
            bicubic one, so the network learns a correction to the filter. Needs input_nc == 1
            and guide_nc >= 3 (depth with an RGB photo). Not in the official networks.
        output_prior: None, or a parameter-free guess of the output from (input, guide) in
            `nn.priors.OUTPUT_PRIORS` (``patch_colour_fill`` for texture, ``border_background``
            for pose): output = clamp(prior + tanh(net), -1, 1), the last conv initialised to
            zero, so training starts from the prior (the task's trivial baseline) and the network
            learns a correction. Excludes `residual`. Not in the official networks.
    """

    backbone: str = "resnet"
    conditioning: str = "bft"
    input_nc: int = 3
    guide_nc: int = 3
    output_nc: int = 3
    ngf: int = 64
    n_blocks: int = 9
    n_layers: int = 8
    norm: str = "instance"
    bottleneck: int = 100
    residual: bool = False
    input_filter: dict | None = None
    output_prior: str | None = None

    def __post_init__(self) -> None:
        choices: dict[str, dict[str, Any]] = {"backbone": BACKBONES, "conditioning": SCHEMES, "norm": NORMS}
        for name, registry in choices.items():
            value = getattr(self, name)
            if value not in registry:
                raise BadOptionError(name, f"unknown value {value!r}; choose from {', '.join(registry)}")
        for name, (low, high) in FIELD_BOUNDS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise BadOptionError(name, f"must be an integer >= {low}, got {value!r}")
            if value > high:
                raise BadOptionError(name, f"must be <= {high}, got {value}")
        if not isinstance(self.residual, bool):
            raise BadOptionError("residual", f"must be true or false, got {self.residual!r}")
        if self.residual and self.input_nc != self.output_nc:
            raise BadOptionError(
                "residual", f"needs input_nc == output_nc, got {self.input_nc} and {self.output_nc}"
            )
        if self.output_prior is not None:
            self.output_prior = check_output_prior(
                self.output_prior, self.input_nc, self.guide_nc, self.output_nc
            )
            if self.residual:
                raise BadOptionError(
                    "output_prior",
                    "the output starts from the prior; residual (from the input) must be false",
                )
        if self.input_filter is not None:
            self.input_filter = check_filter_spec(self.input_filter)
            if self.input_nc != 1 or self.guide_nc < 3:
                raise BadOptionError(
                    "input_filter",
                    f"filters a depth map with its photo: needs input_nc 1 and guide_nc >= 3, got "
                    f"{self.input_nc} and {self.guide_nc}",
                )

    @classmethod
    def from_dict(cls, data: dict) -> GeneratorConfig:
        if not isinstance(data, dict):
            raise BadOptionError("config", f"must be a mapping of options, found {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise BadOptionError(unknown[0], f"unknown generator option; known: {', '.join(sorted(known))}")
        return cls(**data)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def parameter_count(self) -> int:
        """Parameters of the generator this config builds, counted without allocating them."""
        with torch.device("meta"):
            body = BACKBONES[self.backbone](self)
        return sum(p.numel() for p in body.parameters())

    def check_size(self) -> None:
        """Raise BadOptionError if the generator would have more than MAX_PARAMETERS parameters."""
        n = self.parameter_count()
        if n > MAX_PARAMETERS:
            raise BadOptionError(
                "ngf",
                f"this config builds {n:,} parameters ({n * 4 / 2**30:.1f} GiB of float32), over the "
                f"limit of {MAX_PARAMETERS:,}; use a smaller ngf, n_blocks, bottleneck or channel count",
            )


def init_weights(module: nn.Module, gain: float = 0.02) -> None:
    """The official 'normal' init: conv weights N(0, gain), biases 0, batch-norm weights N(1, gain)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)


class Generator(nn.Module):
    """Guided generator: `G(input, guide) -> output` in [-1, 1].

    Build from keyword options (see `GeneratorConfig`), e.g.
    `Generator(backbone="resnet", conditioning="bft", input_nc=3, guide_nc=18, output_nc=3)`,
    or from a config: `Generator(config)`. Inputs are validated: channel counts, equal batch and
    spatial sizes, and the backbone's size rule, each failure raising a `ValueError` that names
    the expected and received values.
    """

    def __init__(self, config: GeneratorConfig | None = None, **options: Any) -> None:
        super().__init__()
        if config is None:
            config = GeneratorConfig(**options)
        elif options:
            raise BadOptionError(
                next(iter(options)), "pass either a GeneratorConfig or keyword options, not both"
            )
        self.config = config
        config.check_size()  # before any allocation
        self.body = BACKBONES[config.backbone](config)
        init_weights(self)
        if config.residual or config.output_prior:  # start at output = input (or the prior)
            head = [m for m in self.body.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))][-1]
            nn.init.zeros_(head.weight)
            if head.bias is not None:
                nn.init.zeros_(head.bias)
        self.execution_mode = "fast"

    # -- running ---------------------------------------------------------------------------
    def check_inputs(self, input: torch.Tensor, guide: torch.Tensor) -> None:
        """Raise ValueError unless (input, guide) are batches this generator can take."""
        cfg = self.config
        for name, t, channels in (("input", input, cfg.input_nc), ("guide", guide, cfg.guide_nc)):
            if not isinstance(t, torch.Tensor) or t.dim() != 4:
                shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
                raise ValueError(f"{name}: expected a 4-D tensor (N, C, H, W), got {shape}")
            if t.shape[1] != channels:
                raise ValueError(f"{name}: expected {channels} channels ({name}_nc), received {t.shape[1]}")
        if input.shape[0] != guide.shape[0] or input.shape[2:] != guide.shape[2:]:
            raise ValueError(
                f"input and guide must share batch and spatial size: input {tuple(input.shape)}, "
                f"guide {tuple(guide.shape)}"
            )
        multiple, minimum, rule = self.body.size_rule(cfg)
        h, w = input.shape[2:]
        if h % multiple or w % multiple or h < minimum or w < minimum:
            raise ValueError(
                f"image size {h}x{w} not supported by the {cfg.backbone} backbone: H and W must be {rule}"
            )

    def forward(self, input: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
        self.check_inputs(input, guide)
        if self.config.input_filter is not None:
            input = filter_depth_batch(input, guide, self.config.input_filter)
        out = self.body(input, guide)
        if self.config.residual:
            out = torch.clamp(input + out, -1.0, 1.0)
        elif self.config.output_prior is not None:
            out = torch.clamp(output_prior(self.config.output_prior, input, guide) + out, -1.0, 1.0)
        return out

    def set_execution_mode(self, mode: str) -> Generator:
        """'fast' (fused, one-pass float32 statistics) or 'reference' (the official op sequence).

        Both use the same parameters and compute the same function."""
        if mode not in EXECUTION_MODES:
            raise BadOptionError(
                "mode", f"unknown execution mode {mode!r}; choose from {', '.join(EXECUTION_MODES)}"
            )
        for m in self.modules():
            if isinstance(m, (ParameterGenerator, Stage)):
                m.reference = mode == "reference"
        self.execution_mode = mode
        return self

    # -- persistence -------------------------------------------------------------------------
    def save_pretrained(self, directory: str | Path, card: dict | None = None) -> Path:
        """Write `config.json`, `model.safetensors` and a `README.md` model card (`nn.model_card`:
        the Hugging Face model-repository layout) into `directory` (created if needed).

        card: what the card can say beyond the config: task, training, metrics, protocol."""
        from safetensors.torch import save_file

        directory = Path(directory)
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        write_atomic(directory / WEIGHTS_NAME, lambda p: save_file(state, str(p), metadata={"format": "pt"}))
        config = self.config.to_dict()
        write_text_atomic(directory / CONFIG_NAME, json.dumps(config, indent=2, sort_keys=True) + "\n")
        write_text_atomic(directory / CARD_NAME, model_card(config, card))
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path, map_location: str | torch.device = "cpu") -> Generator:
        """Rebuild a generator saved by `save_pretrained` (or written by `convert-official`), or a
        shipped one by name: ``"pretrained:depth_x8"`` (`nn.pretrained`)."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        directory = resolve_pretrained(directory) if is_pretrained_name(directory) else Path(directory)
        config_path, weights_path = directory / CONFIG_NAME, directory / WEIGHTS_NAME
        for p in (config_path, weights_path):
            if not p.is_file():
                raise BadFileError(p, "missing: not a generator folder written by save_pretrained")
        try:
            raw = config_path.read_bytes()
            config = GeneratorConfig.from_dict(json.loads(raw.decode("utf-8")))
            config.check_size()
        except UnicodeDecodeError as exc:
            raise BadFileError(
                config_path, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
            ) from exc
        except json.JSONDecodeError as exc:
            raise BadFileError(config_path, f"invalid JSON ({exc})") from exc
        except (BadOptionError, TypeError) as exc:
            raise BadFileError(config_path, f"invalid generator config ({exc})") from exc
        except RecursionError as exc:
            raise BadFileError(config_path, "invalid JSON (nested too deeply)") from exc
        model = cls(config)
        try:
            state = load_file(str(weights_path), device=str(map_location))
        except (SafetensorError, OSError, ValueError) as exc:
            raise BadFileError(weights_path, f"truncated or corrupt safetensors file ({exc})") from exc
        load_state_strict(model, state, weights_path)
        return model

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def load_state_strict(model: nn.Module, state: dict, source: str | Path) -> None:
    """Load `state` into `model`, raising BadFileError naming `source` on any missing,
    unexpected or mis-shaped tensor, a key that is not a string, a value that is not a tensor,
    a floating-point tensor given as integers or complex numbers, or a non-finite value."""
    if not isinstance(state, dict):
        raise BadFileError(
            source, f"expected a mapping of tensor names to tensors, found {type(state).__name__}"
        )
    for key, value in state.items():
        if not isinstance(key, str):
            raise BadFileError(source, f"key {key!r} is not a tensor name (a string)")
        if not isinstance(value, torch.Tensor):
            raise BadFileError(source, f"{key}: expected a tensor, found {type(value).__name__}")
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing:
        raise BadFileError(source, f"missing tensor {missing[0]} ({len(missing)} missing in all)")
    if unexpected:
        raise BadFileError(source, f"unexpected tensor {unexpected[0]} ({len(unexpected)} unexpected in all)")
    for key, value in state.items():
        if tuple(value.shape) != tuple(own[key].shape):
            raise BadFileError(
                source, f"tensor {key}: expected shape {tuple(own[key].shape)}, found {tuple(value.shape)}"
            )
        want = own[key].dtype
        if want.is_floating_point:
            if not value.dtype.is_floating_point:
                raise BadFileError(
                    source, f"tensor {key}: expected floating point ({want}), found {value.dtype}"
                )
            if not bool(torch.isfinite(value).all()):
                bad = int((~torch.isfinite(value)).sum())
                raise BadFileError(source, f"tensor {key}: holds {bad} NaN or infinite values")
        elif value.dtype != want:
            raise BadFileError(source, f"tensor {key}: expected {want}, found {value.dtype}")
    model.load_state_dict(state)
