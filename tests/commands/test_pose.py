"""`guided-pix2pix pose detect / render` and `translate --guide kp.json`, on real person photos."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from guided_pix2pix.cli import main
from guided_pix2pix.data.keypoints import read_keypoints, render_heatmaps
from guided_pix2pix.files.images import read_image, write_image
from guided_pix2pix.nn.generator import Generator

FIXTURE = Path(__file__).parents[1] / "data" / "astronaut_keypoints.json"  # `pose detect` on astronaut


def _needs_mediapipe():
    pytest.importorskip(
        "mediapipe",
        reason="mediapipe 0.10.21 (extra 'pose') pins numpy<2, which conflicts with requirements.txt's "
        "numpy, so `make test` cannot install it; `pip install --no-deps mediapipe==0.10.21` to run this",
    )


@pytest.fixture(scope="module")
def pose_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("g") / "pose"
    Generator(
        backbone="resnet", conditioning="bft", input_nc=3, guide_nc=18, output_nc=3, ngf=4, n_blocks=1
    ).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def rgb_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("g") / "rgb"
    Generator(
        backbone="resnet", conditioning="bft", input_nc=3, guide_nc=3, output_nc=3, ngf=4, n_blocks=1
    ).save_pretrained(path)
    return path


@pytest.fixture
def astronaut(tmp_path):
    from skimage import data

    return write_image(tmp_path / "astronaut.png", data.astronaut())


def _translate(model, photo, guide, out):
    return main(["translate", "--checkpoint", str(model), "--input", str(photo), "--guide", str(guide),
                 "--out", str(out), "--device", "cpu"])  # fmt: skip


def _one_line(err: str, *needles: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_detect_render_translate_round_trip_on_the_astronaut(tmp_path, astronaut, pose_model, capfd):
    _needs_mediapipe()
    kp_path = tmp_path / "kp.json"
    assert main(["pose", "detect", str(astronaut), "--out", str(kp_path)]) == 0
    _one_line(capfd.readouterr().err, "wrote", "of 18 keypoints")  # mediapipe's own log lines filtered
    kp = read_keypoints(kp_path)
    assert kp.image_size == (512, 512) and kp["nose"][1] < kp["neck"][1]
    guide = tmp_path / "guide.npy"
    assert main(["pose", "render", str(kp_path), "--size", "512", "512", "--out", str(guide)]) == 0
    assert np.load(guide).shape == (512, 512, 18)
    out = tmp_path / "out.png"
    assert _translate(pose_model, astronaut, kp_path, out) == 0
    assert read_image(out).shape == (512, 512, 3)


def test_render_writes_the_heatmap_guide_and_a_skeleton_picture(tmp_path, capsys):
    npy, png = tmp_path / "guide.npy", tmp_path / "skeleton.png"
    assert main(["pose", "render", str(FIXTURE), "--size", "96", "80", "--out", str(npy)]) == 0
    maps = np.load(npy)
    assert maps.shape == (96, 80, 18) and maps.dtype == np.float32
    assert np.array_equal(maps, render_heatmaps(read_keypoints(FIXTURE), (96, 80)))
    assert main(["pose", "render", str(FIXTURE), "--out", str(png)]) == 0  # the file's own size
    pic = read_image(png)
    assert pic.shape == (512, 512, 3) and pic.dtype == np.uint8
    nose = read_keypoints(FIXTURE)["nose"]
    assert pic[int(nose[1]), int(nose[0])].max() == 255  # a joint drawn in full colour
    assert (pic.max(2) == 0).mean() > 0.9  # on black
    _one_line(capsys.readouterr().err.splitlines()[-1], "skeleton, 512x512")


def test_translate_takes_a_keypoint_json_at_the_inputs_size(tmp_path, pose_model):
    from skimage import data

    photo = write_image(tmp_path / "photo.png", data.astronaut()[:301, 100:303])  # 301 x 203
    out_json, out_npy, guide = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "guide.npy"
    assert _translate(pose_model, photo, FIXTURE, out_json) == 0
    assert read_image(out_json).shape == (301, 203, 3)
    # the same as the heat-maps rendered at the input's size and given as an array
    assert main(["pose", "render", str(FIXTURE), "--size", "301", "203", "--out", str(guide)]) == 0
    assert _translate(pose_model, photo, guide, out_npy) == 0
    assert np.array_equal(read_image(out_json), read_image(out_npy))


BAD = {
    "17_points.json": json.dumps({"people": [{"pose_keypoints_2d": [5.0] * 51}]}),
    "nan.json": '{"format": "openpose-18", "image_size": [8, 8], "keypoints": [[NaN, 1, 1]]}',
    "not_json.json": "<html>not a keypoint file</html>",
    "no_people.json": json.dumps({"version": 1.3, "people": []}),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_keypoint_files_exit_2_with_one_line_naming_the_file(
    tmp_path, name, astronaut, pose_model, capsys
):
    bad = tmp_path / name
    bad.write_text(BAD[name])
    assert main(["pose", "render", str(bad), "--size", "8", "8", "--out", str(tmp_path / "g.npy")]) == 2
    _one_line(capsys.readouterr().err, "guided-pix2pix pose: error:", str(bad))
    assert _translate(pose_model, astronaut, bad, tmp_path / "out.png") == 2
    _one_line(capsys.readouterr().err, "guided-pix2pix translate: error:", str(bad))
    assert not (tmp_path / "g.npy").exists() and not (tmp_path / "out.png").exists()


def test_a_keypoint_guide_needs_a_pose_model(tmp_path, astronaut, rgb_model, capsys):
    assert _translate(rgb_model, astronaut, FIXTURE, tmp_path / "out.png") == 2
    _one_line(capsys.readouterr().err, str(FIXTURE), "18 heat-maps", "expects 3 guide channels")


def test_render_refuses_to_overwrite_its_input_and_needs_a_size_for_openpose_files(tmp_path, capsys):
    kp = tmp_path / "kp.npy"  # a keypoint file under an odd name: --out would overwrite it
    kp.write_text(FIXTURE.read_text())
    before = kp.read_bytes()
    assert main(["pose", "render", str(kp), "--out", str(kp)]) == 2
    _one_line(capsys.readouterr().err, "--out", "choose another --out")
    assert kp.read_bytes() == before
    assert main(["pose", "render", str(FIXTURE), "--out", str(tmp_path / "g.jpg")]) == 2
    _one_line(capsys.readouterr().err, "--out", ".npy", ".png")
    openpose = tmp_path / "op.json"
    openpose.write_text(json.dumps({"people": [{"pose_keypoints_2d": [5.0, 5.0, 1.0] * 18}]}))
    assert main(["pose", "render", str(openpose), "--out", str(tmp_path / "g.npy")]) == 2
    _one_line(capsys.readouterr().err, "--size", "does not record its image size")
    assert (
        main(["pose", "render", str(openpose), "--size", "16", "16", "--out", str(tmp_path / "g.npy")]) == 0
    )


def test_detect_names_the_photo_without_a_person_and_refuses_non_json_output(tmp_path, capsys):
    wall = write_image(tmp_path / "wall.png", np.full((96, 128, 3), 180, np.uint8))
    assert main(["pose", "detect", str(wall), "--out", str(tmp_path / "wall.png")]) == 2
    _one_line(capsys.readouterr().err, "--out", "*.json")
    _needs_mediapipe()
    assert main(["pose", "detect", str(wall), "--out", str(tmp_path / "kp.json")]) == 2
    _one_line(capsys.readouterr().err, f"{wall}: no person found")
    assert not (tmp_path / "kp.json").exists()
