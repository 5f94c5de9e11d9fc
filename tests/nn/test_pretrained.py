"""Shipped generators by name (pretrained:NAME): listing, loading, checksums, and the ones that ship."""

import json

import pytest
import torch

from guided_pix2pix.cli import main
from guided_pix2pix.files.atomic import sha256_file
from guided_pix2pix.nn import pretrained
from guided_pix2pix.nn.generator import Generator


@pytest.fixture
def zoo(tmp_path, monkeypatch):
    """A folder laid out as the package's pretrained/ with one tiny depth model."""
    root = tmp_path / "zoo"
    Generator(input_nc=1, guide_nc=3, output_nc=1, ngf=4, n_blocks=1, bottleneck=4).save_pretrained(
        root / "tiny"
    )
    index = {
        "tiny": {
            "description": "a tiny test model",
            "command": "python make_tiny.py",
            "selection": "none",
            "config": {
                "preset": "synthetic_depth",
                "overrides": ["data.options.size=[32,32]", "data.options.count=2"],
            },
            "sha256": {n: sha256_file(root / "tiny" / n) for n in ("config.json", "model.safetensors")},
        }
    }
    (root / "index.json").write_text(json.dumps(index))
    monkeypatch.setattr(pretrained, "pretrained_root", lambda: root)
    return root


def test_list_load_translate_and_evaluate_by_name(zoo, tmp_path, capsys):
    assert main(["pretrained", "list"]) == 0
    out = capsys.readouterr().out
    assert "pretrained:tiny" in out and "python make_tiny.py" in out
    g = Generator.from_pretrained("pretrained:tiny")
    assert g.config.input_nc == 1 and torch.equal(
        g.state_dict()["body.head.1.weight"],
        Generator.from_pretrained(zoo / "tiny").state_dict()["body.head.1.weight"],
    )
    eval_out = tmp_path / "e"
    argv = ["evaluate", "--checkpoint", "pretrained:tiny", "--metrics", "depth_rmse_a", "--device", "cpu",
            "--out", str(eval_out)]  # fmt: skip
    assert main(argv) == 0  # the data section of the preset it was trained with
    assert json.loads((eval_out / "metrics.json").read_text())["rows"] == 2


def test_a_damaged_or_unknown_model_is_refused_in_one_line(zoo, capsys):
    with open(zoo / "tiny" / "model.safetensors", "r+b") as fh:
        fh.seek(200)
        fh.write(b"\x00\x01\x02")
    with pytest.raises(ValueError, match="checksum mismatch: the shipped model pretrained:tiny is damaged"):
        Generator.from_pretrained("pretrained:tiny")
    assert main(["evaluate", "--checkpoint", "pretrained:nope", "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no shipped model pretrained:nope; shipped: tiny" in err[0]


def test_the_shipped_models_match_their_recorded_checksums():
    index = pretrained.pretrained_index()
    assert {"depth_x8"} <= set(index), "the package ships pretrained:depth_x8"
    for name, record in index.items():
        folder = pretrained.resolve_pretrained(name)  # raises on a mismatch
        assert set(record["sha256"]) == {"config.json", "model.safetensors"}
        for rel, digest in record["sha256"].items():
            assert sha256_file(folder / rel) == digest
        g = Generator.from_pretrained(f"pretrained:{name}")
        assert (g.config.input_nc, g.config.guide_nc, g.config.output_nc) == (1, 3, 1)
    total = sum(p.stat().st_size for p in pretrained.pretrained_root().rglob("*") if p.is_file())
    assert total <= 20 * 2**20  # the size budget


def test_weights_stored_as_float16_load_into_float32_and_match(tmp_path):
    """The shipped weights are stored as float16 (benchmarks/ship_pretrained.py); loading casts
    them into the float32 parameters, and the outputs differ from the float32 model's only by
    the rounding of each weight."""
    from safetensors.torch import load_file, save_file

    torch.manual_seed(0)
    full = Generator(input_nc=1, guide_nc=3, output_nc=1, ngf=8, n_blocks=1, bottleneck=8).eval()
    full.save_pretrained(tmp_path / "fp32")
    (tmp_path / "fp16").mkdir()
    (tmp_path / "fp16" / "config.json").write_bytes((tmp_path / "fp32" / "config.json").read_bytes())
    state = {k: v.half() for k, v in load_file(str(tmp_path / "fp32" / "model.safetensors")).items()}
    save_file(state, str(tmp_path / "fp16" / "model.safetensors"))
    half = Generator.from_pretrained(tmp_path / "fp16").eval()
    assert all(p.dtype == torch.float32 for p in half.parameters())
    x, guide = torch.rand(1, 1, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        a, b = full(x, guide), half(x, guide)
    assert not torch.equal(a, b)  # the weights were rounded
    assert a.abs().max() > 0 and (a - b).abs().max() < 1e-2 * a.abs().max()


def test_the_shipped_index_records_how_its_weights_are_stored(capsys):
    from safetensors import safe_open

    assert main(["pretrained", "list"]) == 0
    assert "weights:  stored as float16, run in float32" in capsys.readouterr().out

    for name, record in pretrained.pretrained_index().items():
        path = pretrained.resolve_pretrained(name) / "model.safetensors"
        with safe_open(str(path), framework="pt") as fh:
            dtypes = {fh.get_slice(k).get_dtype() for k in fh.keys()}
        assert dtypes == {"F16" if record.get("weights_dtype") == "float16" else "F32"}, name
