"""`guided-pix2pix export` and `translate --onnx`: the exported file's outputs equal
`translate --checkpoint`'s on the same files, without importing torch."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from guided_pix2pix.cli import main
from guided_pix2pix.commands import export as export_command
from guided_pix2pix.files.images import read_image, write_image
from guided_pix2pix.nn import export
from guided_pix2pix.nn.generator import Generator

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")


def _save(path, **options):
    """A tiny generator with PyTorch's default init (varied outputs), saved with save_pretrained;
    seeded, so that its weights do not depend on which tests ran before."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        g = Generator(
            **{
                "backbone": "resnet",
                "conditioning": "bft",
                "ngf": 4,
                "n_blocks": 1,
                "bottleneck": 8,
                **options,
            }
        )
        for m in g.modules():
            if m is not g and hasattr(m, "reset_parameters"):
                m.reset_parameters()
    return g.save_pretrained(path)


def _main(argv) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    return code, out.getvalue()


def _export(folder, out, *extra) -> str:
    code, text = _main(["export", "--checkpoint", str(folder), "--format", "onnx", "--out", str(out), *extra])
    assert code == 0, text
    return text


@pytest.fixture(scope="module")
def rgb(tmp_path_factory):
    """(generator folder, dynamic ONNX export, export command output) of a 3/3/3 model (U-Net:
    the quickest to export; tests/nn/test_nn_export.py exports every backbone and scheme)."""
    root = tmp_path_factory.mktemp("rgb")
    folder = _save(root / "gen", backbone="unet", n_layers=3, input_nc=3, guide_nc=3, output_nc=3)
    text = _export(folder, root / "rgb.onnx", "--dynamic", "--size", "24", "32")
    return folder, root / "rgb.onnx", text


@pytest.fixture(scope="module")
def depth(tmp_path_factory):
    """(generator folder, dynamic ONNX export) of a depth model (1/3/1, U-Net, residual)."""
    root = tmp_path_factory.mktemp("depth")
    folder = _save(
        root / "gen", backbone="unet", n_layers=3, input_nc=1, guide_nc=3, output_nc=1, residual=True
    )
    _export(folder, root / "depth.onnx", "--dynamic")
    return folder, root / "depth.onnx"


def _exit_code(argv) -> int:
    """main's exit status, also where argparse exits (a bad option value)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    return err


def _translate(source: list[str], inp, guide, out, *extra) -> int:
    return main(["translate", *source, "--input", str(inp), "--guide", str(guide), "--out", str(out), *extra])


def _both(tmp_path, folder, onnx_file, inp, guide, out_name, *extra):
    """(translate --checkpoint output, translate --onnx output) on the same files."""
    outs = []
    for source, sub in (
        (["--checkpoint", str(folder), "--device", "cpu"], "pt"),
        (["--onnx", str(onnx_file)], "ox"),
    ):
        out = tmp_path / sub / out_name
        assert _translate(source, inp, guide, out, *extra) == 0
        outs.append(out)
    return outs


# ----------------------------------------------------------------------------- export
def test_export_prints_what_it_wrote_and_the_checks(rgb):
    _, onnx_file, text = rgb
    lines = text.strip().splitlines()
    assert (
        lines[0].startswith(f"wrote {onnx_file} (ONNX opset ") and "free batch, height and width" in lines[0]
    )
    checks = re.findall(r"checked at (\d+)x(\d+)x(\d+) \(NxHxW\): max \|eager - file\| = (\S+)", text)
    assert [c[:3] for c in checks] == [("1", "24", "32"), ("2", "32", "48")]
    assert all(float(c[3]) <= 1e-4 for c in checks)


def test_export_torch_export_fixed_size(tmp_path, rgb, capsys):
    folder = rgb[0]
    out = tmp_path / "g.pt2"
    assert (
        main(
            [
                "export",
                "--checkpoint",
                str(folder),
                "--format",
                "torch-export",
                "--out",
                str(out),
                "--size",
                "16",
                "24",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "torch.export archive" in text and "fixed size 16x24" in text and text.count("checked at") == 1
    assert out.is_file()


def test_export_formats_agree_between_command_and_nn():
    assert export_command.FORMATS == export.FORMATS and export_command.SUFFIXES == export.SUFFIXES


@pytest.mark.parametrize(
    "argv, needles",
    [
        (["--format", "tflite", "--out", "m.onnx"], ["--format", "invalid choice", "tflite"]),
        (["--format", "onnx", "--out", "m.pt2"], ["--out", "writes a .onnx file"]),
        (
            ["--format", "onnx", "--out", "m.onnx", "--size", "20", "24"],
            ["--size", "20x24", "multiples of 2**n_layers = 8"],
        ),
    ],
)
def test_export_bad_options_exit_2(tmp_path, rgb, capsys, argv, needles):
    argv = [a if not a.startswith("m.") else str(tmp_path / a) for a in argv]
    assert _exit_code(["export", "--checkpoint", str(rgb[0]), *argv]) == 2
    _one_line_error(capsys, *needles)
    assert not list(tmp_path.iterdir())


def test_input_filter_generators_export_to_onnx_with_their_filter_and_refuse_torch_export(tmp_path, capsys):
    """The OpenCV pre-filter is not in the graph: the ONNX runner applies it from the metadata."""
    folder = _save(
        tmp_path / "gen", ngf=4, n_blocks=1, input_nc=1, guide_nc=3, output_nc=1, residual=True,
        input_filter={"name": "joint_bilateral", "sigma_color": 20.0, "sigma_space": 3.0},
    )  # fmt: skip
    text = _export(folder, tmp_path / "m.onnx", "--dynamic", "--size", "16", "24")
    assert text.count("checked at") == 2  # end to end against the eager generator, filter included
    rng = np.random.default_rng(5)
    write_image(tmp_path / "d.png", rng.integers(500, 4000, (6, 8), dtype=np.uint16))
    write_image(tmp_path / "p.png", rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    pt, ox = _both(tmp_path, folder, tmp_path / "m.onnx", tmp_path / "d.png", tmp_path / "p.png", "o.png")
    assert np.abs(read_image(pt).astype(int) - read_image(ox).astype(int)).max() <= 1
    capsys.readouterr()  # the translate runs' lines
    argv = [
        "export",
        "--checkpoint",
        str(folder),
        "--format",
        "torch-export",
        "--out",
        str(tmp_path / "m.pt2"),
    ]
    assert main(argv) == 2
    _one_line_error(capsys, "--format", "OpenCV", "only --format onnx")
    assert not (tmp_path / "m.pt2").exists()


# ----------------------------------------------------------------------------- translate --onnx
def test_translate_onnx_equals_checkpoint_on_8bit_folders(tmp_path, rgb):
    """Folders with three sizes (one tinier than the size rule), batched, 8-bit PNG and JPEG."""
    folder, onnx_file, _ = rgb
    rng = np.random.default_rng(0)
    (tmp_path / "in").mkdir(), (tmp_path / "g").mkdir()
    for name, (h, w), suffix in (
        ("a", (37, 53), ".png"),
        ("b", (37, 53), ".jpg"),
        ("c", (5, 3), ".png"),
        ("d", (64, 40), ".png"),
    ):
        write_image(tmp_path / "in" / f"{name}{suffix}", rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        write_image(tmp_path / "g" / f"{name}.png", rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    pt, ox = _both(tmp_path, folder, onnx_file, tmp_path / "in", tmp_path / "g", "", "--batch-size", "2")
    names = sorted(p.name for p in pt.iterdir())
    assert names == sorted(p.name for p in ox.iterdir()) == ["a.png", "b.jpg", "c.png", "d.png"]
    for name in names:
        a, b = read_image(pt / name).astype(int), read_image(ox / name).astype(int)
        assert a.shape == b.shape and a.dtype == b.dtype
        if name == "b.jpg":  # JPEG re-encodes: one level moves its 8 x 8 block's coefficients,
            assert np.abs(a - b).max() <= 4 and np.abs(a - b).mean() < 0.2, name  # so neighbours move a few
        else:
            assert np.abs(a - b).max() <= 1, name
        assert a.std() > 1  # not a constant image


def test_translate_onnx_equals_checkpoint_on_sensor_depth(tmp_path, depth):
    """A 16-bit depth map with holes, 8 times smaller than its photo; and float metres."""
    folder, onnx_file = depth
    rng = np.random.default_rng(1)
    mm = rng.integers(600, 6000, (8, 10), dtype=np.uint16)
    mm[2:4, 5:7] = 0
    write_image(tmp_path / "d.png", mm)
    write_image(tmp_path / "m.npy", np.where(mm > 0, mm / 1000.0, np.nan).astype(np.float32)[..., None])
    write_image(tmp_path / "photo.png", rng.integers(0, 256, (61, 77, 3), dtype=np.uint8))
    pt, ox = _both(tmp_path, folder, onnx_file, tmp_path / "d.png", tmp_path / "photo.png", "d.png")
    a, b = read_image(pt), read_image(ox)
    assert a.shape == b.shape == (61, 77, 1) and a.dtype == b.dtype == np.uint16
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1  # millimetres
    pt, ox = _both(tmp_path, folder, onnx_file, tmp_path / "m.npy", tmp_path / "photo.png", "m.npy")
    a, b = read_image(pt), read_image(ox)
    assert a.shape == b.shape == (61, 77, 1) and a.dtype == b.dtype == np.float32
    assert np.abs(a - b).max() <= 1e-4 * 6.0  # metres: 1e-4 of the span in network values


def test_translate_onnx_file_mode_for_depth_models(tmp_path, depth):
    folder, onnx_file = depth
    rng = np.random.default_rng(2)
    write_image(tmp_path / "d.png", rng.integers(0, 65536, (21, 30), dtype=np.uint16))
    write_image(tmp_path / "p.png", rng.integers(0, 256, (21, 30, 3), dtype=np.uint8))
    pt, ox = _both(
        tmp_path, folder, onnx_file, tmp_path / "d.png", tmp_path / "p.png", "o.png", "--depth", "file"
    )
    assert np.abs(read_image(pt).astype(int) - read_image(ox).astype(int)).max() <= 1


def test_translate_onnx_does_not_import_torch(tmp_path, depth):
    onnx_file = depth[1]
    rng = np.random.default_rng(3)
    write_image(tmp_path / "d.png", rng.integers(600, 6000, (8, 8), dtype=np.uint16))
    write_image(tmp_path / "p.png", rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    script = (
        "import sys\n"
        "from guided_pix2pix.cli import main\n"
        f"code = main(['translate', '--onnx', {str(onnx_file)!r}, '--input', {str(tmp_path / 'd.png')!r},"
        f" '--guide', {str(tmp_path / 'p.png')!r}, '--out', {str(tmp_path / 'o.png')!r}])\n"
        "print(code, 'torch' in sys.modules, 'onnxruntime' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["0", "False", "True"], proc.stdout + proc.stderr
    assert read_image(tmp_path / "o.png").shape == (64, 64, 1)


def test_translate_onnx_refuses_a_file_that_is_not_a_model(tmp_path, capsys):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage, not a model" * 10)
    write_image(tmp_path / "x.png", np.zeros((16, 16, 3), np.uint8))
    assert _translate(["--onnx", str(bad)], tmp_path / "x.png", tmp_path / "x.png", tmp_path / "o.png") == 2
    _one_line_error(capsys, "translate: error:", str(bad), "not a readable ONNX model")
    assert not (tmp_path / "o.png").exists()


def test_translate_needs_exactly_one_of_checkpoint_and_onnx(tmp_path, rgb, capsys):
    folder, onnx_file, _ = rgb
    files = ["--input", "x.png", "--guide", "g.png", "--out", "o.png"]
    for argv in (
        ["translate", "--checkpoint", str(folder), "--onnx", str(onnx_file), *files],
        ["translate", "--onnx", str(onnx_file), "--checkpoint", str(folder), *files],
        ["translate", *files],
    ):
        assert _exit_code(argv) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and (
            "not allowed with" in err or "one of the arguments" in err
        ), err


def test_translate_onnx_refuses_what_needs_torch(tmp_path, rgb, depth, capsys):
    rng = np.random.default_rng(4)
    write_image(tmp_path / "x.png", rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
    write_image(tmp_path / "d.png", rng.integers(1, 9000, (16, 16), dtype=np.uint16))
    (tmp_path / "kp.json").write_text('{"people": []}')
    cases = [
        (rgb[1], "x.png", "kp.json", [], ["kp.json", "keypoint JSON", "pose render"]),
        (depth[1], "d.png", "x.png", ["--preview", str(tmp_path / "p.png")], ["--preview", "PyTorch"]),
        (rgb[1], "x.png", "x.png", ["--texture", "rgb"], ["--texture", "LAB", "--texture file"]),
    ]
    for onnx_file, inp, guide, extra, needles in cases:
        assert (
            _translate(
                ["--onnx", str(onnx_file)], tmp_path / inp, tmp_path / guide, tmp_path / "o.png", *extra
            )
            == 2
        )
        _one_line_error(capsys, *needles)
    assert not (tmp_path / "o.png").exists()


def test_fixed_size_export_refuses_other_sizes(tmp_path, rgb, capsys):
    folder = rgb[0]
    _export(folder, tmp_path / "s.onnx", "--size", "16", "24")
    rng = np.random.default_rng(5)
    for name, (h, w) in (("ok", (15, 20)), ("big", (30, 30))):
        write_image(tmp_path / f"{name}.png", rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    assert (
        _translate(
            ["--onnx", str(tmp_path / "s.onnx")],
            tmp_path / "ok.png",
            tmp_path / "ok.png",
            tmp_path / "o" / "ok.png",
        )
        == 0
    )
    assert read_image(tmp_path / "o" / "ok.png").shape == (15, 20, 3)
    capsys.readouterr()
    assert (
        _translate(
            ["--onnx", str(tmp_path / "s.onnx")],
            tmp_path / "big.png",
            tmp_path / "big.png",
            tmp_path / "o" / "big.png",
        )
        == 2
    )
    _one_line_error(capsys, "exported for 16x24 only", "--dynamic")


@pytest.mark.slow
def test_shipped_depth_model_exports_and_runs_like_the_checkpoint(tmp_path):
    """pretrained:depth_x8 (bFT ResNet, ngf 16): exported, then translate --onnx on a sensor map."""
    text = _export("pretrained:depth_x8", tmp_path / "x8.onnx", "--dynamic")
    assert text.count("checked at") == 2
    rng = np.random.default_rng(6)
    yy, xx = np.mgrid[0:12, 0:16]
    write_image(tmp_path / "d.png", (1500 + 100 * xx + 40 * yy).astype(np.uint16))
    write_image(tmp_path / "p.png", rng.integers(0, 256, (96, 128, 3), dtype=np.uint8))
    pt, ox = _both(
        tmp_path, "pretrained:depth_x8", tmp_path / "x8.onnx", tmp_path / "d.png", tmp_path / "p.png", "o.png"
    )
    assert np.abs(read_image(pt).astype(int) - read_image(ox).astype(int)).max() <= 1


def test_the_cli_builds_translate_onnx_from_the_torch_free_module():
    from guided_pix2pix import cli
    from guided_pix2pix.commands import translate_onnx

    for argv in (["translate", "--onnx", "m.onnx"], ["--debug", "translate", "--onnx=m.onnx"]):
        args, _ = cli.build_parser(argv).parse_known_args(
            [*argv, "--input", "a", "--guide", "b", "--out", "c"]
        )
        assert args._run is translate_onnx.run
    args, _ = cli.build_parser(["translate"]).parse_known_args(
        ["translate", "--checkpoint", "g", "--input", "a", "--guide", "b", "--out", "c"]
    )
    assert args._run.__module__ == "guided_pix2pix.commands.translate"


def test_translate_onnx_flip_equals_checkpoint_flip(tmp_path, depth):
    """`--tta flip` on the ONNX path (numpy mirror) writes what the PyTorch path writes."""
    from guided_pix2pix.commands.translate_onnx import TTA_MODES
    from guided_pix2pix.nn.tta import TTA_VIEWS

    assert TTA_MODES == tuple(TTA_VIEWS)
    folder, onnx_file = depth
    rng = np.random.default_rng(2)
    mm = rng.integers(600, 6000, (8, 10), dtype=np.uint16)
    write_image(tmp_path / "d.png", mm)
    write_image(tmp_path / "photo.png", rng.integers(0, 256, (61, 77, 3), dtype=np.uint8))
    pt, ox = _both(
        tmp_path, folder, onnx_file, tmp_path / "d.png", tmp_path / "photo.png", "d.png", "--tta", "flip"
    )
    plain, _ = _both(
        tmp_path / "plain", folder, onnx_file, tmp_path / "d.png", tmp_path / "photo.png", "d.png"
    )
    a, b, c = read_image(pt).astype(int), read_image(ox).astype(int), read_image(plain).astype(int)
    assert np.abs(a - b).max() <= 1  # millimetres
    assert np.abs(a - c).max() > 5  # the mirrored pass changed the output
