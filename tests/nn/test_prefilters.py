"""Generators whose residual output starts from a classical filter (`GeneratorConfig.input_filter`)."""

import json

import numpy as np
import pytest
import torch

cv2 = pytest.importorskip("cv2", reason="opencv-contrib-python-headless is not installed")

from guided_pix2pix.cli import main  # noqa: E402
from guided_pix2pix.errors import BadOptionError  # noqa: E402
from guided_pix2pix.nn.generator import Generator, GeneratorConfig  # noqa: E402

JBF = {"name": "joint_bilateral", "sigma_color": 20.0, "sigma_space": 4.0}


def _depth_model(**extra) -> Generator:
    options = dict(input_nc=1, guide_nc=3, output_nc=1, ngf=4, n_blocks=1, residual=True)
    return Generator(**{**options, **extra})


def _pair(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    depth = torch.rand(2, 1, 32, 32, generator=g) * 2 - 1
    photo = (torch.rand(2, 3, 32, 32, generator=g) * 255).round() / 127.5 - 1  # 8-bit levels
    return depth, photo


def test_an_untrained_filtered_residual_model_outputs_the_opencv_filter():
    model = _depth_model(input_filter=JBF).eval()
    depth, photo = _pair()
    with torch.no_grad():
        out = model(depth, photo)
    for i in range(2):
        d01 = ((depth[i, 0] + 1) / 2).numpy()
        bgr = np.ascontiguousarray(
            ((photo[i] + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()[:, :, ::-1]
        )
        want = cv2.ximgproc.jointBilateralFilter(bgr.astype(np.float32), d01, -1, 20.0, 4.0)
        np.testing.assert_allclose(out[i, 0].numpy(), np.clip(want, 0, 1) * 2 - 1, atol=1e-6)
    assert not torch.allclose(out, depth, atol=1e-3)  # the filter changed the input


def test_gradients_reach_the_network_but_not_through_the_filter():
    model = _depth_model(input_filter=JBF)
    depth, photo = _pair(1)
    depth.requires_grad_(True)
    model(depth, photo).mean().backward()
    assert depth.grad is None  # the OpenCV filter is a fixed pre-processing step
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize(
    "spec,option",
    [
        ("joint_bilateral", "input_filter"),
        ({"name": "median", "radius": 3}, "input_filter.name"),
        ({"name": "joint_bilateral", "sigma_color": 20.0}, "input_filter.sigma_space"),
        ({"name": "joint_bilateral", "sigma_color": 20.0, "sigma_space": 1e9}, "input_filter.sigma_space"),
        ({"name": "guided_filter", "radius": 4, "eps": float("nan")}, "input_filter.eps"),
        ({"name": "fgs", "lam": 10.0, "sigma_color": 5.0, "extra": 1}, "input_filter.extra"),
    ],
)
def test_bad_filter_specs_name_the_option(spec, option):
    with pytest.raises(BadOptionError) as err:
        GeneratorConfig(input_nc=1, guide_nc=3, output_nc=1, input_filter=spec)
    assert err.value.option == option


def test_the_filter_needs_a_depth_map_and_a_photo():
    with pytest.raises(BadOptionError, match="input_nc 1 and guide_nc >= 3"):
        GeneratorConfig(input_nc=3, guide_nc=3, output_nc=3, input_filter=JBF)


def test_the_filter_survives_save_and_load_and_a_bad_one_in_config_json_exits_2(tmp_path, capsys):
    model = _depth_model(input_filter=JBF)
    model.save_pretrained(tmp_path / "g")
    again = Generator.from_pretrained(tmp_path / "g")
    assert again.config.input_filter == JBF
    config = json.loads((tmp_path / "g" / "config.json").read_text())
    config["input_filter"]["sigma_space"] = 1e7  # a window of tens of millions of pixels
    (tmp_path / "g" / "config.json").write_text(json.dumps(config))
    assert main(["info", "--checkpoint", str(tmp_path / "g")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sigma_space" in err[0]
