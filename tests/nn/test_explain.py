"""Modulation maps (`nn.explain`): one map per FT stage and direction at the stage's size, FiLM's
spatially constant, bFT's varying with the guide, and the generator's output untouched."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from guided_pix2pix.nn.explain import (
    GUIDE_TO_INPUT,
    INPUT_TO_GUIDE,
    NoModulationMaps,
    draw_modulation_maps,
    modulation_maps,
    trace_modulation,
)
from guided_pix2pix.nn.generator import Generator

H, W = 32, 48


def _model(backbone: str, scheme: str) -> Generator:
    torch.manual_seed(0)
    return Generator(
        backbone=backbone, conditioning=scheme, ngf=4, n_blocks=1, n_layers=5, bottleneck=8, guide_nc=5
    )


def _pair(n: int = 2, h: int = H, w: int = W) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.rand(n, 3, h, w, generator=g) * 2 - 1, torch.rand(n, 5, h, w, generator=g) * 2 - 1


def _expected(backbone: str, scheme: str, h: int = H, w: int = W) -> list[tuple[tuple[int, int], list[str]]]:
    """(size, directions) per FT stage, from the backbones' documented structure: ResNet stages
    after the stem and each of 3 stride-2 convs; U-Net (5 levels) at levels 2 .. 4; bFT's last
    stage is guide -> input only."""
    levels = range(4) if backbone == "resnet" else range(2, 5)
    sizes = [(math.ceil(h / 2**k), math.ceil(w / 2**k)) for k in levels]
    both = [GUIDE_TO_INPUT, INPUT_TO_GUIDE] if scheme == "bft" else [GUIDE_TO_INPUT]
    return [(size, both if i < len(sizes) - 1 else [GUIDE_TO_INPUT]) for i, size in enumerate(sizes)]


@pytest.mark.parametrize("backbone", ["resnet", "unet"])
@pytest.mark.parametrize("scheme", ["film", "uft", "bft"])
def test_one_map_per_stage_and_direction_at_the_stage_size(backbone, scheme):
    model = _model(backbone, scheme)
    x, g = _pair()
    stages = modulation_maps(model, x, g)
    expected = _expected(backbone, scheme)
    assert [(s.size, list(s.directions)) for s in stages] == expected
    for i, stage in enumerate(stages):
        assert stage.index == i and stage.scheme == scheme
        for maps in stage.directions.values():
            for t in (maps.gamma, maps.beta):
                assert t.shape == (2, stage.channels, *stage.size)
                assert torch.isfinite(t).all()


@pytest.mark.parametrize("backbone", ["resnet", "unet"])
def test_film_maps_are_spatially_constant(backbone):
    stages = modulation_maps(_model(backbone, "film"), *_pair())
    for stage in stages:
        maps = stage.directions[GUIDE_TO_INPUT]
        for t in (maps.gamma, maps.beta):
            assert torch.equal(t, t[..., :1, :1].expand_as(t))
        # but not the same for every sample: the pooled guide features differ
        assert not torch.equal(maps.gamma[0], maps.gamma[1])


@pytest.mark.parametrize("scheme", ["uft", "bft"])
def test_spatial_ft_maps_vary_over_the_image_with_a_random_guide(scheme):
    stages = modulation_maps(_model("resnet", scheme), *_pair())
    for stage in stages:
        for direction, maps in stage.directions.items():
            for name, t in (("gamma", maps.gamma), ("beta", maps.beta)):
                spread = t.flatten(2).std(dim=2)  # (N, C): per-channel spatial spread
                assert float(spread.min()) > 0, (stage.index, direction, name)


def test_bft_input_to_guide_maps_follow_the_input_not_the_guide():
    """input -> guide maps come from the input stream: at the first stage, changing only the
    guide leaves them as they are and changes the guide -> input maps."""
    model = _model("resnet", "bft")
    x, g = _pair()
    first = modulation_maps(model, x, g)[0].directions
    other = modulation_maps(model, x, -g)[0].directions
    torch.testing.assert_close(first[INPUT_TO_GUIDE].gamma, other[INPUT_TO_GUIDE].gamma)
    assert not torch.allclose(first[GUIDE_TO_INPUT].gamma, other[GUIDE_TO_INPUT].gamma)


@pytest.mark.parametrize("scheme", ["film", "uft", "bft"])
def test_tracing_leaves_the_output_and_fast_reference_agree(scheme):
    model = _model("resnet", scheme).train()
    x, g = _pair()
    output, fast = trace_modulation(model, x, g)
    assert model.training  # the mode is restored
    with torch.no_grad():
        assert torch.equal(output, model.eval()(x, g))
    # fast and reference mode compute the same maps (in float64: at the official init scale fp32
    # rounding of the two summation orders differs by ~1e-4, see test_generator)
    model, x, g = model.double(), x.double(), g.double()
    _, fast = trace_modulation(model, x, g)
    _, reference = trace_modulation(model.set_execution_mode("reference"), x, g)
    for a, b in zip(fast, reference):
        assert a.size == b.size and list(a.directions) == list(b.directions)
        for direction in a.directions:
            for t_fast, t_ref in zip(
                vars(a.directions[direction]).values(), vars(b.directions[direction]).values()
            ):
                assert t_fast.dtype == torch.float64
                torch.testing.assert_close(t_fast, t_ref, rtol=1e-10, atol=1e-12)
    # the hooks are gone: a later forward pass runs without them
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_any_input_size_is_padded_and_the_maps_cropped_to_the_image():
    model = _model("resnet", "bft")
    x, g = _pair(1, 30, 27)  # padded to 32 x 32
    stages = modulation_maps(model, x, g)
    assert [(s.size, list(s.directions)) for s in stages] == _expected("resnet", "bft", 30, 27)


@pytest.mark.parametrize("scheme", ["input_concat", "feature_concat"])
def test_schemes_without_ft_have_no_maps(scheme):
    with pytest.raises(NoModulationMaps, match="no modulation maps"):
        modulation_maps(_model("resnet", scheme), *_pair())


def test_drawing_writes_a_png(tmp_path):
    from PIL import Image

    model = _model("unet", "bft")
    x, g = _pair(1)
    stages = modulation_maps(model, x, g)
    picture = np.zeros((H, W, 3))
    path = draw_modulation_maps(stages, [("input", picture), ("guide", picture)], tmp_path / "maps.png")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width > 200 and image.height > 200
