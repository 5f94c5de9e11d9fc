"""Checkpoints a resume must not trust: metadata against its schema, a checksum list that misses
files, a state without its entries, a model that does not fit; and pruning that keeps the good
lineage. Each through `train` on a tiny run, as a user meets it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from run_helpers import fault_argv, good_checkpoints

from guided_pix2pix.cli import main
from guided_pix2pix.files.atomic import sha256_file


@pytest.fixture(scope="module")
def six_steps(tmp_path_factory) -> Path:
    """A finished run of 6 steps with checkpoints at 2, 4 and 6."""
    run = tmp_path_factory.mktemp("six") / "run"
    assert main(fault_argv(run, "train.max_steps=6")) == 0
    return run


@pytest.fixture
def run(six_steps, tmp_path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(six_steps, copy)
    shutil.rmtree(copy / "generator")
    return copy


def _meta(folder: Path) -> dict:
    return json.loads((folder / "meta.json").read_text())


def _rewrite_meta(folder: Path, meta) -> None:
    (folder / "meta.json").write_text(json.dumps(meta))


def _state_without(folder: Path, key: str) -> None:
    state = torch.load(folder / "state.pt", weights_only=True)
    del state[key]
    torch.save(state, folder / "state.pt")
    meta = _meta(folder)
    meta["sha256"]["state.pt"] = sha256_file(folder / "state.pt")
    _rewrite_meta(folder, meta)


BROKEN = {
    "sha256 is a list": (lambda f: _rewrite_meta(f, {**_meta(f), "sha256": ["state.pt"]}), "sha256 must be an object"),
    "meta is a list": (lambda f: _rewrite_meta(f, [1, 2]), "expected a JSON object, found list"),
    "step of another folder": (lambda f: _rewrite_meta(f, {**_meta(f), "step": 2}), "does not match the folder"),
    "step is text": (lambda f: _rewrite_meta(f, {**_meta(f), "step": "6"}), "step must be an integer"),
    "checksum not hex": (
        lambda f: _rewrite_meta(f, {**_meta(f), "sha256": {**_meta(f)["sha256"], "state.pt": 5}}),
        "must be 64 hex digits",
    ),
    "path outside": (
        lambda f: _rewrite_meta(f, {**_meta(f), "sha256": {**_meta(f)["sha256"], "../x": "0" * 64}}),
        "not a file inside the checkpoint",
    ),
    "empty checksum list": (lambda f: _rewrite_meta(f, {**_meta(f), "sha256": {}}), "not covered by the checkpoint's checksum list"),
    "state without G": (lambda f: _state_without(f, "G"), "checkpoint state has no 'G' entry"),
    "meta not UTF-8": (lambda f: (f / "meta.json").write_bytes(b'{"step": 6, "\xff": 1}'), "unreadable checkpoint metadata"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BROKEN))
def test_an_untrustworthy_newest_checkpoint_is_skipped_with_one_warning(run, capsys, case):
    damage, problem = BROKEN[case]
    damage(run / "checkpoints" / "step_00000006")
    capsys.readouterr()
    assert main(fault_argv(run, "train.max_steps=7")) == 0
    captured = capsys.readouterr()
    warnings = [line for line in captured.err.splitlines() if "skipping checkpoint" in line]
    assert len(warnings) == 1 and "step_00000006" in warnings[0] and problem in warnings[0], captured.err
    assert "step_00000004 at step 5" in captured.out


def test_a_model_that_does_not_fit_the_checkpoint_is_one_line(run, capsys):
    """config.yaml deleted (so the section check cannot see it) and the model changed: the
    checkpoints' own record of their run refuses it; checkpoints of older releases, which carry
    no such record, fail on the first tensor that does not fit."""
    (run / "config.yaml").unlink()
    capsys.readouterr()
    assert main(fault_argv(run, "train.max_steps=8", "model.ngf=8")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "step_00000006 was written by a run with a different model" in err[0], err
    for meta in run.glob("checkpoints/step_*/meta.json"):  # as an older release wrote them
        record = json.loads(meta.read_text())
        del record["run"]
        meta.write_text(json.dumps(record))
    (run / "config.yaml").unlink(missing_ok=True)
    assert main(fault_argv(run, "train.max_steps=8", "model.ngf=8")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "step_00000006/state.pt: tensor" in err[0] and "expected shape" in err[0], err


def test_pruning_keeps_the_good_lineage_past_corrupt_newer_checkpoints(run, capsys):
    """Checkpoints 4 and 6 corrupt; a rerun with keep_last=1 resumes from 2. Counting the corrupt
    6 toward keep_last used to delete every good checkpoint; now the corrupt ones neither count
    nor push out the lineage, and the next rerun resumes from the newest good one."""
    for step in (4, 6):
        (run / "checkpoints" / f"step_{step:08d}" / "state.pt").write_bytes(b"corrupt")
    capsys.readouterr()
    assert main(fault_argv(run, "train.max_steps=5", "train.keep_last=1")) == 0
    assert "step_00000002 at step 3" in capsys.readouterr().out
    assert good_checkpoints(run) == [5]  # 2 pruned only once the newer good 4, then 5, existed
    assert (run / "checkpoints" / "step_00000006").is_dir()  # the corrupt one is left for the user
    assert main(fault_argv(run, "train.max_steps=6", "train.keep_last=1")) == 0
    assert "step_00000005 at step 6" in capsys.readouterr().out


def test_a_metrics_line_that_is_not_an_object_is_one_line(run, capsys):
    path = run / "metrics.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], "[1, 2]", *lines[2:]]) + "\n")
    capsys.readouterr()
    assert main(fault_argv(run, "train.max_steps=7")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "metrics.jsonl: line 2 is not a metrics record" in err[0], err
    assert path.read_text().splitlines()[1] == "[1, 2]"  # nothing rewritten


def test_a_run_folder_config_that_is_not_a_mapping_is_one_line(run, capsys):
    (run / "config.yaml").write_text("- 1\n- 2\n")
    assert main(fault_argv(run, "train.max_steps=7")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "config.yaml: a run folder's config must be a YAML mapping, found list" in err[0]
