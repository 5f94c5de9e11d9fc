"""Write the bad-input corpus of the reliability tests into a folder, and list the cases.

    python tests/corpus/make_corpus.py OUT_DIR      # writes the files, prints the cases

Every file is generated here (nothing binary is committed): zero-byte, truncated and corrupt
PNG / JPEG / TIFF / .mat / .pkl / .pth files, pickles that try to run code, wrong channel
counts, mismatched sizes, sizes the backbone cannot take, missing partners, NaN depth,
decompression bombs (small files declaring huge images), and a valid tiny generator that the
inference commands load. `build(root)` returns the cases: an id, the command line (``{C}`` is
the corpus folder, ``{OUT}`` a fresh output folder per case) and the words the one-line error
must contain (the file or option, and the problem).
"""

from __future__ import annotations

import json
import pickle
import struct
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SIZE = 32  # every good image is 32 x 32: the tiny ResNet below takes multiples of 4
MARKER = "EXPLOITED"  # a payload that runs creates this file in the corpus folder


@dataclass
class Case:
    id: str
    argv: list[str]
    expect: list[str]  # substrings of the one error line
    files: list[str] = field(default_factory=list)  # corpus files the case reads
    # the bad file is met while training, after the run folder was made: it may hold its skeleton
    # (RUN_FOLDER_SKELETON), never a checkpoint, a generator or a temporary file
    run_folder: bool = False


RUN_FOLDER_SKELETON = {".lock", "config.yaml", "tensorboard"}


# ----------------------------------------------------------------------------- writers
def _png(path: Path, arr: np.ndarray) -> bytes:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path.read_bytes()


def _jpg(path: Path, arr: np.ndarray) -> bytes:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, quality=90)
    return path.read_bytes()


def _tif(path: Path, arr: np.ndarray) -> bytes:
    import tifffile

    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, arr)
    return path.read_bytes()


def _npy(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, arr)


def _bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def png_bomb(width: int, height: int) -> bytes:
    """A valid-looking PNG (8-bit grey) that declares width x height and holds a few bytes of data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (width + 1) * 2)  # two rows; a decoder would want them all
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def npy_bomb(shape=(100_000, 100_000), dtype="<f4") -> bytes:
    """An .npy header declaring a huge array, followed by no data."""
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    text = repr(header).encode("latin1")
    pad = 64 - (10 + len(text) + 1) % 64
    text = text + b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text


def tiff_many_channels(channels: int = 2000, planar: bool = False) -> bytes:
    """A TIFF whose header declares 8 x 8 pixels of `channels` samples and that ends before its
    pixel data: a reader that decodes before checking the header reports a truncated file."""
    import io

    import tifffile

    shape = (channels, 8, 8) if planar else (8, 8, channels)
    buf = io.BytesIO()
    tifffile.imwrite(
        buf,
        np.zeros(shape, np.uint8),
        photometric="minisblack",
        planarconfig="separate" if planar else "contig",
    )
    data = buf.getvalue()
    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        first_pixel = min(tif.pages[0].dataoffsets)
    return data[: first_pixel + 16]


def npz_many_channels(channels: int = 2000) -> bytes:
    """An .npz whose one member's header declares (8, 8, channels) float32, with no data after it."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("guide.npy", npy_bomb((8, 8, channels)))
    return buf.getvalue()


class Exploit:
    """Unpickling this runs a shell command that creates the marker file (if a loader allows it)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def _rng_u8(shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _rng_u16(shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 65536, shape, dtype=np.uint16)


def _triplet(root: Path, stem="a", size=(SIZE, SIZE), guide_size=None, guide_channels=3) -> None:
    """A good depth folder item: 16-bit grey input/target, 8-bit RGB guide."""
    _png(root / "input" / f"{stem}.png", _rng_u16(size, 1))
    gshape = (*(guide_size or size), guide_channels) if guide_channels > 1 else (guide_size or size)
    _png(root / "guide" / f"{stem}.png", _rng_u8(gshape, 2))
    _png(root / "target" / f"{stem}.png", _rng_u16(size, 3))


# ----------------------------------------------------------------------------- the corpus
def build(root: str | Path) -> list[Case]:
    """Write every corpus file under `root` and return the cases."""
    import torch

    from guided_pix2pix.nn.generator import Generator, GeneratorConfig

    C = Path(root)
    C.mkdir(parents=True, exist_ok=True)
    marker = C / MARKER

    # --- single files -------------------------------------------------------------
    img = C / "img"
    good_grey = _png(img / "grey.png", _rng_u16((SIZE, SIZE)))
    _png(img / "rgb.png", _rng_u8((SIZE, SIZE, 3)))
    _png(img / "rgb_32x40.png", _rng_u8((SIZE, 40, 3)))
    _png(img / "grey_32x40.png", _rng_u16((SIZE, 40)))
    _png(img / "unknown_depth.png", np.zeros((SIZE, SIZE), np.uint16))  # a depth camera saw nothing
    _png(img / "grey8.png", _rng_u8((SIZE, SIZE)))
    good_jpg = _jpg(img / "photo.jpg", _rng_u8((SIZE, SIZE, 3)))
    good_tif = _tif(img / "depth.tif", _rng_u16((SIZE, SIZE)))
    for suffix in (".png", ".jpg", ".tif", ".npy"):
        _bytes(img / f"empty{suffix}", b"")
    _bytes(img / "truncated.png", good_grey[: len(good_grey) // 2])
    _bytes(img / "truncated.jpg", good_jpg[: len(good_jpg) // 2])
    _bytes(img / "truncated.tif", good_tif[: len(good_tif) // 2])
    noise = np.random.default_rng(9).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    _bytes(img / "corrupt.png", b"\x89PNG\r\n\x1a\n" + noise)
    _bytes(img / "corrupt.jpg", b"\xff\xd8\xff\xe0" + noise)
    _bytes(img / "corrupt.tif", b"II*\x00" + noise)
    _bytes(img / "bomb.png", png_bomb(100_000, 100_000))  # 10 Gpixel in 200 bytes
    _bytes(img / "bomb_81mp.png", png_bomb(9000, 9000))  # over our 64 Mpixel limit, under PIL's
    _bytes(img / "bomb.npy", npy_bomb())
    nan = np.zeros((SIZE, SIZE, 1), np.float32)
    nan[3, 4] = np.nan
    _npy(img / "nan_depth.npy", nan)
    _tif(img / "nan_depth.tif", nan[:, :, 0])
    _npy(img / "two_channels.npy", np.zeros((SIZE, SIZE, 2), np.float32))
    _npy(img / "text.npy", np.full((SIZE, SIZE), "x"))
    # headers declaring 2000 channels, the files ending where the pixel data would start
    _bytes(img / "many_channels.tif", tiff_many_channels(2000))
    _bytes(img / "many_channels_planar.tif", tiff_many_channels(2000, planar=True))
    _bytes(img / "many_channels.npz", npz_many_channels(2000))

    # --- a valid tiny generator and broken copies -----------------------------------
    torch.manual_seed(0)
    gcfg = GeneratorConfig(input_nc=1, guide_nc=3, output_nc=1, ngf=4, n_blocks=1, bottleneck=8)
    gen = Generator(gcfg).save_pretrained(C / "gen")
    weights = (gen / "model.safetensors").read_bytes()
    config = (gen / "config.json").read_text()
    for name, w, c in (
        ("gen_truncated_weights", weights[: len(weights) // 3], config),
        ("gen_corrupt_weights", b"\x00\x10" + weights[2:], config),  # header length now absurd
        ("gen_bad_config", weights, "{not json"),
        ("gen_unknown_config", weights, json.dumps({**json.loads(config), "backbone": "vit"})),
    ):
        _bytes(C / name / "model.safetensors", w)
        (C / name / "config.json").write_text(c)
    # untrusted generator folders: sizes that would allocate tens of GB, text that is not UTF-8,
    # weights that are NaN or integers (checked before any allocation / before loading)
    for name, changes in (
        ("gen_huge_ngf", {"ngf": 100_000}),
        ("gen_huge_bottleneck", {"bottleneck": 300_000}),
        ("gen_unet_20", {"backbone": "unet", "n_layers": 20}),
        ("gen_too_many_params", {"ngf": 1024, "n_blocks": 64}),
    ):
        _bytes(C / name / "model.safetensors", weights)
        (C / name / "config.json").write_text(json.dumps({**json.loads(config), **changes}))
    _bytes(C / "gen_latin1_config" / "model.safetensors", weights)
    _bytes(C / "gen_latin1_config" / "config.json", config.replace('"bft"', '"bft\xe9"').encode("latin-1"))
    from safetensors.torch import load_file, save_file

    state = load_file(str(gen / "model.safetensors"))
    state = dict(state)
    first = sorted(state)[0]
    for name, bad in (
        ("gen_nan_weights", {first: torch.full_like(state[first], float("nan"))}),
        ("gen_int8_weights", {first: state[first].to(torch.int8)}),
    ):
        (C / name).mkdir(parents=True, exist_ok=True)
        save_file({**state, **bad}, str(C / name / "model.safetensors"))
        (C / name / "config.json").write_text(config)

    # --- folder datasets (train / evaluate) ------------------------------------------
    F = C / "folders"
    _triplet(F / "good")
    _triplet(F / "good", "b")
    _triplet(F / "missing_partner")
    _png(F / "missing_partner" / "input" / "b.png", _rng_u16((SIZE, SIZE)))
    _triplet(F / "mismatched_sizes", guide_size=(SIZE, 40))
    _triplet(F / "grey_guide", guide_channels=1)  # the model wants an RGB guide
    _triplet(F / "nan_depth")
    (F / "nan_depth" / "target" / "a.png").unlink()
    _npy(F / "nan_depth" / "target" / "a.npy", nan)
    _triplet(F / "truncated_png")
    _bytes(F / "truncated_png" / "input" / "a.png", good_grey[: len(good_grey) // 2])
    _triplet(F / "corrupt_jpg")
    (F / "corrupt_jpg" / "guide" / "a.png").unlink()
    _bytes(F / "corrupt_jpg" / "guide" / "a.jpg", b"\xff\xd8\xff\xe0" + noise)
    _triplet(F / "empty_tif")
    (F / "empty_tif" / "target" / "a.png").unlink()
    _bytes(F / "empty_tif" / "target" / "a.tif", b"")
    _triplet(F / "backbone_size", size=(30, 30))  # not a multiple of 4
    _triplet(F / "mixed_sizes")
    _triplet(F / "mixed_sizes", "b", size=(40, 40))  # fine alone, but no batch of both
    _triplet(F / "bomb")
    _bytes(F / "bomb" / "guide" / "a.png", png_bomb(100_000, 100_000))
    _triplet(F / "many_channels")
    (F / "many_channels" / "guide" / "a.png").unlink()
    _bytes(F / "many_channels" / "guide" / "a.npz", npz_many_channels(2000))
    _triplet(F / "bomb_npy")
    (F / "bomb_npy" / "target" / "a.png").unlink()
    _bytes(F / "bomb_npy" / "target" / "a.npy", npy_bomb())

    # --- official formats: DeepFashion pickles, NYU .mat ------------------------------
    P = C / "pkl"
    for name in ("exploit", "exploit_nested", "truncated", "empty"):
        (P / name / "train").mkdir(parents=True, exist_ok=True)
    good_sample = {
        "x": _rng_u8((SIZE, SIZE, 3)),
        "x_target": _rng_u8((SIZE, SIZE, 3)),
        "pose_target": np.zeros((SIZE, SIZE, 18), np.float32),
    }
    blob = pickle.dumps(good_sample, protocol=2)
    _bytes(P / "truncated" / "train" / "0.pkl", blob[: len(blob) // 2])
    _bytes(P / "empty" / "train" / "0.pkl", b"")
    _bytes(P / "exploit" / "train" / "0.pkl", pickle.dumps(Exploit(marker), protocol=2))
    _bytes(
        P / "exploit_nested" / "train" / "0.pkl",
        pickle.dumps({**good_sample, "x": Exploit(marker)}, protocol=2),
    )
    M = C / "mat"
    _bytes(M / "empty" / "input_8x_train.mat", b"")
    _bytes(M / "corrupt" / "input_8x_train.mat", b"\x89HDF\r\n\x1a\n" + noise)
    try:
        import h5py

        h5 = M / "truncated" / "input_8x_train.mat"
        h5.parent.mkdir(parents=True, exist_ok=True)
        with h5py.File(h5, "w") as fh:
            fh["input_Sx_train"] = np.zeros((2, 1, SIZE, SIZE), np.float32)
        data = h5.read_bytes()
        h5.write_bytes(data[: len(data) // 2])
    except ImportError:  # pragma: no cover - h5py is a dependency of the NYU loader
        pass
    import scipy.io

    v5 = M / "v5_truncated" / "input_8x_test.mat"
    v5.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(v5, {"input_Sx_test": np.zeros((SIZE, SIZE, 1, 2), np.float32)})
    data = v5.read_bytes()
    v5.write_bytes(data[: len(data) // 2])

    # --- official checkpoints (.pth) ---------------------------------------------------
    T = C / "pth"
    T.mkdir(parents=True, exist_ok=True)
    whole = T / "whole.pth"
    torch.save({"model.0.weight": torch.zeros(4, 3, 7, 7)}, whole)
    raw = whole.read_bytes()
    _bytes(T / "empty.pth", b"")
    _bytes(T / "truncated.pth", raw[: len(raw) // 2])
    _bytes(T / "corrupt.pth", noise)
    _bytes(T / "exploit_legacy.pth", pickle.dumps({"model.0.weight": Exploit(marker)}, protocol=2))
    torch.save({"model.0.weight": Exploit(marker)}, T / "exploit_zip.pth")
    whole.unlink()

    # --- translate pairs (output-inside-input cases) ----------------------------------
    _png(C / "pairs" / "input" / "a.png", _rng_u16((SIZE, SIZE)))
    _png(C / "pairs" / "guide" / "a.png", _rng_u8((SIZE, SIZE, 3)))

    # --- configs ---------------------------------------------------------------------
    Y = C / "yaml"
    Y.mkdir(parents=True, exist_ok=True)
    (Y / "invalid.yaml").write_text("model: [unclosed\n")
    (Y / "list.yaml").write_text("- 1\n- 2\n")
    (Y / "unknown_key.yaml").write_text("train: {nope: 1}\n")
    (Y / "python_tag.yaml").write_text("train: !!python/object/apply:os.system ['touch EXPLOITED']\n")
    # "billion laughs": 9 levels of 9 aliases expand to 9**9 list items from a few hundred bytes
    laughs = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        laughs.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    (Y / "laughs.yaml").write_text("\n".join(laughs) + "\ntrain: {crop: *a9}\n")
    (Y / "duplicate.yaml").write_text("model: {ngf: 4}\ntrain: {max_steps: 1}\nmodel: {ngf: 8}\n")
    (Y / "base_self.yaml").write_text(f"base: {Y / 'base_self.yaml'}\n")
    (Y / "base_a.yaml").write_text(f"base: {Y / 'base_b.yaml'}\n")
    (Y / "base_b.yaml").write_text(f"base: {Y / 'base_a.yaml'}\n")
    (Y / "base_number.yaml").write_text("base: 3\n")
    (Y / "base_list.yaml").write_text("base: [pose]\n")
    _bytes(Y / "latin1.yaml", "# r\xe9glages\ntrain: {max_steps: 1}\n".encode("latin-1"))
    (Y / "zero_epochs.yaml").write_text(
        "base: synthetic_depth\ntrain: {max_steps: null, niter: 0, niter_decay: 0}\n"
    )
    _bytes(C / "a_regular_file", b"not a folder\n")

    # --- score folders -----------------------------------------------------------------
    S = C / "score"
    _png(S / "pred" / "a.png", _rng_u8((SIZE, SIZE, 3)))
    _png(S / "other_stem" / "b.png", _rng_u8((SIZE, SIZE, 3)))
    _png(S / "sizes" / "a.png", _rng_u8((SIZE, 40, 3)))
    _bytes(S / "truncated" / "a.png", good_grey[: len(good_grey) // 2])
    _bytes(S / "corrupt_tif" / "a.tif", b"II*\x00" + noise)
    _npy(S / "two_channels" / "a.npy", np.zeros((SIZE, SIZE, 2), np.float32))
    _bytes(S / "bomb" / "a.png", png_bomb(9000, 9000))
    _bytes(S / "empty" / "a.jpg", b"")
    _bytes(S / "many_channels" / "a.tif", tiff_many_channels(2000))

    _more_files(C, marker, noise, gen, config, state)
    return cases()


def _more_files(C: Path, marker: Path, noise: bytes, gen: Path, config: str, state: dict) -> None:
    """The files of the second batch of cases (round 2 of the reliability issue)."""
    import torch
    from safetensors.torch import save_file

    from guided_pix2pix.nn.generator import Generator, GeneratorConfig

    img = C / "img"
    obj = np.empty((SIZE, SIZE), dtype=object)
    obj[:] = 1
    np.save(img / "object.npy", obj, allow_pickle=True)  # reading it would need pickle
    np.savez(
        img / "two_arrays.npz", a=np.zeros((SIZE, SIZE), np.float32), b=np.zeros((SIZE, SIZE), np.float32)
    )
    _npy(img / "four_d.npy", np.zeros((2, SIZE, SIZE, 1), np.float32))
    _npy(img / "one_d.npy", np.zeros(SIZE, np.float32))
    _npy(img / "zero_rows.npy", np.zeros((0, SIZE), np.float32))
    _bytes(img / "corrupt.npz", b"PK\x03\x04" + noise)
    _bytes(img / "corrupt_header.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", 118) + noise[:118])
    whole = np.random.default_rng(4).random((SIZE, SIZE), dtype=np.float32)
    _npy(img / "full.npy", whole)
    data = (img / "full.npy").read_bytes()
    _bytes(img / "truncated_data.npy", data[: len(data) // 2])  # header intact, half the pixels
    (img / "full.npy").unlink()
    _npy(img / "float.npy", np.zeros((SIZE, SIZE, 1), np.float32))
    _bytes(img / "photo.gif", b"GIF89a" + noise[:100])
    _png(img / "rgb_b.png", _rng_u8((SIZE, SIZE, 3), 5))

    # generator folders, each broken in one way
    torch.manual_seed(0)
    Generator(
        GeneratorConfig(input_nc=3, guide_nc=3, output_nc=3, ngf=4, n_blocks=1, bottleneck=8)
    ).save_pretrained(C / "gen_rgb")
    weights = (gen / "model.safetensors").read_bytes()
    first = sorted(state)[0]
    cfg = json.loads(config)
    for name, files in (
        ("gen_no_config", {"model.safetensors": weights}),
        ("gen_no_weights", {"config.json": config.encode()}),
        ("gen_empty_weights", {"model.safetensors": b"", "config.json": config.encode()}),
        ("gen_list_config", {"model.safetensors": weights, "config.json": b"[1, 2]"}),
        (
            "gen_ngf_string",
            {"model.safetensors": weights, "config.json": json.dumps({**cfg, "ngf": "four"}).encode()},
        ),
        (
            "gen_ngf_zero",
            {"model.safetensors": weights, "config.json": json.dumps({**cfg, "ngf": 0}).encode()},
        ),
        (
            "gen_unknown_field",
            {"model.safetensors": weights, "config.json": json.dumps({**cfg, "colour": 1}).encode()},
        ),
    ):
        for fname, blob in files.items():
            _bytes(C / name / fname, blob)
    for name, st in (
        ("gen_missing_key", {k: v for k, v in state.items() if k != first}),
        ("gen_extra_key", {**state, "extra.weight": torch.zeros(3)}),
        (
            "gen_wrong_shape",
            {**state, first: torch.zeros(*state[first].shape[:-1], state[first].shape[-1] + 1)},
        ),
    ):
        (C / name).mkdir(parents=True, exist_ok=True)
        save_file(st, str(C / name / "model.safetensors"))
        (C / name / "config.json").write_text(config)

    # translate folder pairs
    _png(C / "pairs_missing" / "input" / "a.png", _rng_u16((SIZE, SIZE)))
    _png(C / "pairs_missing" / "input" / "b.png", _rng_u16((SIZE, SIZE)))
    _png(C / "pairs_missing" / "guide" / "a.png", _rng_u8((SIZE, SIZE, 3)))

    # official checkpoints: valid pickles of the wrong content
    T = C / "pth"
    torch.save({"model.0.weight": torch.zeros(4, 3, 7, 7)}, T / "wrong_keys.pth")
    torch.save([torch.zeros(3)], T / "list.pth")

    # run folders
    _bytes(C / "runs" / "list_config" / "config.yaml", b"- 1\n- 2\n")
    _bytes(C / "runs" / "not_yaml" / "config.yaml", b"model: [unclosed\n")

    # configs
    Y = C / "yaml"
    (Y / "empty.yaml").write_text("")
    (Y / "scalar.yaml").write_text("3\n")
    (Y / "section_scalar.yaml").write_text("model: 5\n")
    (Y / "base_missing.yaml").write_text(f"base: {Y / 'no_such_base.yaml'}\n")
    (Y / "big.yaml").write_text("# padding\n" * 110_000 + "train: {max_steps: 1}\n")  # 1.1 MB
    for i in range(20):  # a chain of 20 bases, each naming the next
        nxt = f"base: {Y / f'deep_{i + 1}.yaml'}\n" if i < 19 else "base: synthetic_depth\n"
        (Y / f"deep_{i}.yaml").write_text(nxt)
    (Y / "folder.yaml").mkdir(exist_ok=True)

    # folder datasets
    F = C / "folders"
    for sub in ("input", "guide", "target"):
        (F / "empty" / sub).mkdir(parents=True, exist_ok=True)
    _triplet(F / "out_of_range")
    (F / "out_of_range" / "target" / "a.png").unlink()
    _npy(F / "out_of_range" / "target" / "a.npy", np.full((SIZE, SIZE, 1), 5.0, np.float32))
    _triplet(F / "unsupported")
    (F / "unsupported" / "guide" / "a.png").rename(F / "unsupported" / "guide" / "a.gif")

    # official formats with the wrong content
    P = C / "pkl"
    for name, obj_ in (
        ("missing_key", {"x": _rng_u8((SIZE, SIZE, 3)), "x_target": _rng_u8((SIZE, SIZE, 3))}),
        ("list", [1, 2, 3]),
    ):
        _bytes(P / name / "train" / "0.pkl", pickle.dumps(obj_, protocol=2))
    import h5py

    h5 = C / "mat" / "no_dataset" / "input_8x_train.mat"
    h5.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(h5, "w") as fh:
        fh["something_else"] = np.zeros((2, 1, SIZE, SIZE), np.float32)

    # score folders
    S = C / "score"
    (S / "empty_dir").mkdir(parents=True, exist_ok=True)
    _png(S / "ambiguous" / "a.png", _rng_u8((SIZE, SIZE, 3)))
    _jpg(S / "ambiguous" / "a.jpg", _rng_u8((SIZE, SIZE, 3)))
    nan = np.zeros((SIZE, SIZE, 3), np.float32)
    nan[1, 2, 0] = np.nan
    _tif(S / "nan_float" / "a.tif", nan)
    _bytes(S / "not_torchscript.pt", noise)


def cases() -> list[Case]:
    """Every bad input, by entry point. {C}: the corpus folder; {OUT}: a fresh output path."""
    tiny = [
        "model.input_filter=null",  # the depth preset's OpenCV pre-filter: cases below swap channels
        "model.ngf=4",
        "model.n_blocks=1",
        "model.bottleneck=8",
        "train.max_steps=1",
        "train.val_every=0",
        "train.batch_size=1",
    ]

    def train(*extra, config="synthetic_depth"):
        return ["train", "--config", config, "--out", "{OUT}", "--no-progress", *tiny, *extra]

    def folder(name):
        return [
            "data.dataset=folder",
            "data.options={root: {C}/folders/" + name + "}",
            "data.val_max_items=1",
        ]

    def translate(inp="{C}/img/grey.png", guide="{C}/img/rgb.png", ckpt="{C}/gen", *extra):
        return [
            "translate",
            "--checkpoint",
            ckpt,
            "--input",
            inp,
            "--guide",
            guide,
            "--out",
            "{OUT}/o.png",
            *extra,
        ]

    def evaluate(*extra, ckpt="{C}/gen"):
        return ["evaluate", "--checkpoint", ckpt, "--config", "synthetic_depth", "--out", "{OUT}", "--device", "cpu",
                "--max-items", "1", "--metrics", "psnr", *extra]  # fmt: skip

    def score(pred="{C}/score/pred", target="{C}/score/pred", *extra):
        return ["score", pred, target, "--metrics", "psnr", "--device", "cpu", *extra]

    def convert(src, *extra):
        return ["convert-official", src, "{OUT}/converted", "--netG", "bFT_resnet", *extra]

    PAIR = ("{C}/img/grey.png", "{C}/img/rgb.png", "{C}/gen")

    def bench(*extra):
        return ["bench", "--preset", "depth_x8", "--batch", "1", "--size", "32", "32", "--steps", "1",
                "--warmup", "0", "--no-flops", *extra]  # fmt: skip

    def preview(*extra):
        return ["data", "preview", "--task", "depth", "--count", "2", "--size", "32", "32", "--out",
                "{OUT}/p.png", *extra]  # fmt: skip

    def synth(*extra):
        return [
            "data",
            "synth",
            "--task",
            "depth",
            "--count",
            "2",
            "--size",
            "32",
            "32",
            "--out",
            "{OUT}/s",
            *extra,
        ]

    return [
        # ---- train: options and configs
        Case(
            "train-unknown-preset",
            train(config="no_such_preset"),
            ["--config", "unknown preset 'no_such_preset'"],
        ),
        Case("train-unknown-option", train("train.nope=1"), ["train.nope", "unknown option"]),
        Case("train-bad-value", train("train.lr=fast"), ["train.lr", "must be a float"]),
        Case("train-negative-lr", train("train.lr=-1"), ["train.lr", "> 0"]),
        Case("train-unknown-dataset-option", train("data.options.colour=1"), ["colour", "not an option"]),
        Case("train-invalid-yaml", train(config="{C}/yaml/invalid.yaml"), ["invalid.yaml", "invalid YAML"]),
        Case("train-yaml-list", train(config="{C}/yaml/list.yaml"), ["list.yaml", "mapping"]),
        Case(
            "train-yaml-unknown-key",
            train(config="{C}/yaml/unknown_key.yaml"),
            ["train.nope", "unknown option"],
        ),
        Case(
            "train-yaml-python-tag",
            train(config="{C}/yaml/python_tag.yaml"),
            ["python_tag.yaml", "invalid YAML"],
        ),
        Case(
            "train-missing-config", train(config="{C}/yaml/nope.yaml"), ["nope.yaml", "no such config file"]
        ),
        Case("train-yaml-laughs", train(config="{C}/yaml/laughs.yaml"), ["laughs.yaml", "aliases"]),
        Case(
            "train-yaml-duplicate-key",
            train(config="{C}/yaml/duplicate.yaml"),
            ["duplicate.yaml", "duplicate key 'model' (lines 1 and 3)"],
        ),
        Case("train-yaml-base-self", train(config="{C}/yaml/base_self.yaml"), ["base_self.yaml", "itself"]),
        Case(
            "train-yaml-base-cycle",
            train(config="{C}/yaml/base_a.yaml"),
            ["base_a.yaml -> base_b.yaml -> base_a.yaml"],
        ),
        Case(
            "train-yaml-base-number", train(config="{C}/yaml/base_number.yaml"), ["base_number.yaml", "got 3"]
        ),
        Case("train-yaml-base-list", train(config="{C}/yaml/base_list.yaml"), ["base_list.yaml", "['pose']"]),
        Case("train-yaml-latin1", train(config="{C}/yaml/latin1.yaml"), ["latin1.yaml", "not UTF-8"]),
        Case(
            "train-zero-epochs",
            [*train(config="{C}/yaml/zero_epochs.yaml")[:-6], "model.ngf=4"],
            ["train.niter", "zero epochs"],
        ),
        Case("train-alias-override", train("train.crop=&a [8, 8]"), ["train.crop", "aliases"]),
        Case("train-count-bomb", train("data.options.count=10000000000"), ["count", "<= 10000000"]),
        Case("train-size-bomb", train("data.options.size=[100000,100000]"), ["size", "exceeds the limit"]),
        Case(
            "train-val-dataset-list", train("data.val_dataset=[a]"), ["data.val_dataset", "must be a string"]
        ),
        Case("train-beta1-above-1", train("train.beta1=2.0"), ["train.beta1", "<= 0.999999"]),
        Case("train-seed-overflow", train("train.seed=99999999999999999999"), ["train.seed", "<="]),
        Case("train-lambda-nan", train("train.lambda_l1=.nan"), ["train.lambda_l1", "finite"]),
        Case(
            "train-misspelt-discriminator-no-gan",
            train("train.lambda_gan=0", "discriminator.kind=patchy"),
            ["discriminator.kind", "must be one of"],
        ),
        Case("train-huge-ngf", train("model.ngf=100000"), ["model.ngf", "<= 1024"]),
        Case("train-too-many-params", train("model.ngf=1024", "model.n_blocks=64"), ["parameters", "limit"]),
        Case(
            "train-out-under-file",
            [
                "train",
                "--config",
                "synthetic_depth",
                "--out",
                "{C}/a_regular_file/run",
                "--no-progress",
                *tiny,
            ],
            ["a_regular_file", "not writable"],
        ),  # fmt: skip
        # ---- train: bad files in a folder dataset
        Case(
            "train-missing-partner", train(*folder("missing_partner")), ["input/b.png", "no partner guide/b"]
        ),
        Case(
            "train-mismatched-sizes",
            train(*folder("mismatched_sizes")),
            ["guide/a.png", "differs from input"],
        ),
        Case("train-wrong-channels", train(*folder("grey_guide")), ["guide/a.png", "model.guide_nc is 3"]),
        Case("train-nan-depth", train(*folder("nan_depth")), ["target/a.npy", "NaN"], run_folder=True),
        Case(
            "train-truncated-png",
            train(*folder("truncated_png")),
            ["input/a.png", "truncated or corrupt"],
            run_folder=True,
        ),
        Case(
            "train-worker-truncated-png",
            train(*folder("truncated_png"), "data.num_workers=1"),
            ["truncated_png/input/a.png", "truncated or corrupt image"],
            run_folder=True,
        ),  # read in a DataLoader worker: torch re-wraps the error with the worker's traceback
        Case("train-corrupt-jpeg", train(*folder("corrupt_jpg")), ["guide/a.jpg", "corrupt"]),
        Case("train-empty-tiff", train(*folder("empty_tif")), ["target/a.tif", "empty file"]),
        Case("train-backbone-size", train(*folder("backbone_size")), ["30x30", "resnet backbone"]),
        Case("train-mixed-sizes", train(*folder("mixed_sizes")), ["input/b.png", "must share a size"]),
        Case("train-png-bomb", train(*folder("bomb")), ["guide/a.png", "pixel"]),
        Case("train-npy-bomb", train(*folder("bomb_npy")), ["target/a.npy", "exceeds the limit"]),
        Case(
            "train-npz-2000-channels",
            train(*folder("many_channels")),
            ["guide/a.npz", "2000 channels", "C <= 1024"],
        ),
        Case("train-missing-folder", train(*folder("no_such")), ["folders/no_such", "no such folder"]),
        # ---- train: official formats
        *[
            Case(
                f"train-deepfashion-{name}",
                train(
                    "data.dataset=deepfashion",
                    "data.options={root: {C}/pkl/" + name + "}",
                    "model.input_nc=3",
                    "model.guide_nc=18",
                    "model.output_nc=3",
                ),
                ["0.pkl", problem],
            )  # fmt: skip
            for name, problem in (
                ("exploit", "refused to load global posix.system"),
                ("exploit_nested", "refused to load global posix.system"),
                ("truncated", "corrupt pickle"),
                ("empty", "empty file"),
            )
        ],
        *[
            Case(
                f"train-nyu-{name}",
                train("data.dataset=nyu", "data.options={root: {C}/mat/" + name + ", scale: 8}"),
                ["input_8x_train.mat", problem],
            )  # fmt: skip
            for name, problem in (
                ("empty", "not a readable"),
                ("corrupt", "not a readable"),
                ("truncated", "not a readable"),
            )
        ],
        # ---- evaluate
        Case(
            "evaluate-missing-checkpoint", evaluate(ckpt="{C}/no_such_gen"), ["no_such_gen", "no such folder"]
        ),
        Case("evaluate-truncated-weights", evaluate(ckpt="{C}/gen_truncated_weights"), ["model.safetensors"]),
        Case("evaluate-corrupt-weights", evaluate(ckpt="{C}/gen_corrupt_weights"), ["model.safetensors"]),
        Case("evaluate-bad-config-json", evaluate(ckpt="{C}/gen_bad_config"), ["config.json"]),
        Case("evaluate-unknown-backbone", evaluate(ckpt="{C}/gen_unknown_config"), ["backbone", "vit"]),
        Case(
            "evaluate-unknown-preset",
            ["evaluate", "--checkpoint", "{C}/gen", "--config", "nope"],
            ["--config", "nope"],
        ),
        Case("evaluate-unknown-option", evaluate("train.nope=1"), ["train.nope", "unknown option"]),
        Case("evaluate-unknown-metric", evaluate("--metrics", "psnr,nope"), ["--metrics", "nope"]),
        Case("evaluate-max-items", evaluate("--max-items", "0"), ["--max-items", ">= 1"]),
        Case(
            "evaluate-nan-depth", evaluate(*folder("nan_depth"), "--split", "train"), ["target/a.npy", "NaN"]
        ),
        Case(
            "evaluate-truncated-png",
            evaluate(*folder("truncated_png"), "--split", "train"),
            ["input/a.png", "corrupt"],
        ),
        Case("evaluate-png-bomb", evaluate(*folder("bomb"), "--split", "train"), ["guide/a.png", "pixel"]),
        Case(
            "evaluate-missing-partner",
            evaluate(*folder("missing_partner"), "--split", "train"),
            ["input/b.png", "no partner"],
        ),
        Case(
            "evaluate-out-inside-dataset",
            evaluate(*folder("good"), "--split", "train", "--out", "{C}/folders/good/results"),
            ["--out", "lies inside the data.options.root folder", "folders/good"],
        ),
        Case(
            "evaluate-out-is-dataset",
            evaluate(*folder("good"), "--split", "train", "--out", "{C}/folders/good"),
            ["--out", "lies inside the data.options.root folder"],
        ),
        # ---- translate
        Case(
            "translate-missing-checkpoint",
            translate(ckpt="{C}/no_such_gen"),
            ["no_such_gen", "no such folder"],
        ),
        Case(
            "translate-truncated-weights", translate(ckpt="{C}/gen_truncated_weights"), ["model.safetensors"]
        ),
        Case("translate-corrupt-weights", translate(ckpt="{C}/gen_corrupt_weights"), ["model.safetensors"]),
        Case("translate-bad-config-json", translate(ckpt="{C}/gen_bad_config"), ["config.json"]),
        Case(
            "translate-huge-ngf", translate(ckpt="{C}/gen_huge_ngf"), ["config.json", "ngf: must be <= 1024"]
        ),
        Case(
            "translate-huge-bottleneck",
            translate(ckpt="{C}/gen_huge_bottleneck"),
            ["config.json", "bottleneck: must be <= 4096"],
        ),
        Case(
            "translate-unet-20", translate(ckpt="{C}/gen_unet_20"), ["config.json", "n_layers: must be <= 12"]
        ),
        Case(
            "translate-too-many-params",
            translate(ckpt="{C}/gen_too_many_params"),
            ["config.json", "parameters", "over the limit of 1,000,000,000"],
        ),
        Case(
            "translate-latin1-config", translate(ckpt="{C}/gen_latin1_config"), ["config.json", "not UTF-8"]
        ),
        Case("translate-nan-weights", translate(ckpt="{C}/gen_nan_weights"), ["model.safetensors", "NaN"]),
        Case(
            "translate-int8-weights",
            translate(ckpt="{C}/gen_int8_weights"),
            ["model.safetensors", "expected floating point", "int8"],
        ),
        Case(
            "translate-out-is-input",
            [*translate()[:-1], "{C}/img/grey.png"],
            ["--out", "grey.png", "input or guide files"],
        ),
        Case(
            "translate-out-is-guide",
            [*translate()[:-1], "{C}/img/rgb.png"],
            ["--out", "rgb.png", "input or guide files"],
        ),
        Case(
            "translate-out-inside-input-folder",
            [
                "translate",
                "--checkpoint",
                "{C}/gen",
                "--input",
                "{C}/pairs/input",
                "--guide",
                "{C}/pairs/guide",
                "--out",
                "{C}/pairs/input/results",
            ],
            ["--out", "inside the --input folder"],
        ),  # fmt: skip
        Case(
            "translate-out-is-guide-folder",
            [
                "translate",
                "--checkpoint",
                "{C}/gen",
                "--input",
                "{C}/pairs/input",
                "--guide",
                "{C}/pairs/guide",
                "--out",
                "{C}/pairs/guide",
            ],
            ["--out", "inside the --guide folder"],
        ),  # fmt: skip
        Case("info-huge-ngf", ["info", "--ngf", "100000"], ["ngf", "<= 1024"]),
        Case("info-unet-20", ["info", "--backbone", "unet", "--n_layers", "20"], ["n_layers", "<= 12"]),
        Case(
            "convert-huge-ngf",
            convert("{C}/pth/empty.pth", "--ngf", "100000"),
            ["ngf", "<= 1024"],
        ),
        Case("translate-empty-png", translate(inp="{C}/img/empty.png"), ["empty.png", "empty file"]),
        Case("translate-truncated-png", translate(inp="{C}/img/truncated.png"), ["truncated.png", "corrupt"]),
        Case("translate-corrupt-png", translate(inp="{C}/img/corrupt.png"), ["corrupt.png", "corrupt"]),
        Case(
            "translate-truncated-jpeg", translate(guide="{C}/img/truncated.jpg"), ["truncated.jpg", "corrupt"]
        ),
        Case("translate-corrupt-jpeg", translate(guide="{C}/img/corrupt.jpg"), ["corrupt.jpg", "corrupt"]),
        Case("translate-empty-jpeg", translate(guide="{C}/img/empty.jpg"), ["empty.jpg", "empty file"]),
        Case("translate-empty-tiff", translate(inp="{C}/img/empty.tif"), ["empty.tif", "empty file"]),
        Case(
            "translate-truncated-tiff", translate(inp="{C}/img/truncated.tif"), ["truncated.tif", "corrupt"]
        ),
        Case("translate-corrupt-tiff", translate(inp="{C}/img/corrupt.tif"), ["corrupt.tif", "corrupt"]),
        Case("translate-png-bomb", translate(inp="{C}/img/bomb.png"), ["bomb.png", "pixel"]),
        Case(
            "translate-png-bomb-81mp",
            translate(inp="{C}/img/bomb_81mp.png"),
            ["bomb_81mp.png", "exceeds the limit"],
        ),
        Case("translate-npy-bomb", translate(inp="{C}/img/bomb.npy"), ["bomb.npy", "exceeds the limit"]),
        Case("translate-text-npy", translate(inp="{C}/img/text.npy"), ["text.npy", "not numeric"]),
        *[
            Case(
                f"translate-{kind}-2000-channels", translate(guide="{C}/img/" + name), [name, "2000 channels"]
            )
            for kind, name in (
                ("tiff", "many_channels.tif"),
                ("planar-tiff", "many_channels_planar.tif"),
                ("npz", "many_channels.npz"),
            )
        ],
        # `--depth file`: values as the folder datasets store them (floats are network values)
        Case(
            "translate-nan-depth",
            translate("{C}/img/nan_depth.npy", "{C}/img/rgb.png", "{C}/gen", "--depth", "file"),
            ["nan_depth.npy", "NaN"],
        ),
        Case(
            "translate-nan-depth-tiff",
            translate("{C}/img/nan_depth.tif", "{C}/img/rgb.png", "{C}/gen", "--depth", "file"),
            ["nan_depth.tif", "NaN"],
        ),
        # sensor depth (the default for depth models): NaN and 0 are unknown pixels
        Case(
            "translate-sensor-no-known-depth",
            translate(inp="{C}/img/unknown_depth.png"),
            ["unknown_depth.png", "no known depth pixel"],
        ),
        Case(
            "translate-sensor-larger-than-guide",
            translate(inp="{C}/img/grey_32x40.png"),
            ["rgb.png", "may be smaller than its guide, not larger"],
        ),
        Case(
            "translate-wrong-channels",
            translate(guide="{C}/img/grey8.png"),
            ["grey8.png", "3 guide channels"],
        ),
        Case(
            "translate-two-channels",
            translate(inp="{C}/img/two_channels.npy"),
            ["two_channels.npy", "channels"],
        ),
        Case(
            "translate-mismatched-sizes",
            translate("{C}/img/grey.png", "{C}/img/rgb_32x40.png", "{C}/gen", "--depth", "file"),
            ["rgb_32x40.png"],
        ),
        Case("translate-missing-input", translate(inp="{C}/img/nope.png"), ["nope.png", "no such file"]),
        Case(
            "translate-batch-size",
            translate("{C}/img/grey.png", "{C}/img/rgb.png", "{C}/gen", "--batch-size", "0"),
            ["--batch-size", ">= 1"],
        ),  # fmt: skip
        Case(
            "translate-device",
            translate("{C}/img/grey.png", "{C}/img/rgb.png", "{C}/gen", "--device", "tpu9"),
            ["--device", "tpu9"],
        ),  # fmt: skip
        # ---- score
        Case("score-missing-partner", score(target="{C}/score/other_stem"), ["PRED_DIR", "no match"]),
        Case("score-mismatched-sizes", score(target="{C}/score/sizes"), ["a.png", "differs"]),
        Case("score-truncated-png", score(target="{C}/score/truncated"), ["truncated/a.png", "corrupt"]),
        Case("score-corrupt-tiff", score(target="{C}/score/corrupt_tif"), ["corrupt_tif/a.tif", "corrupt"]),
        Case("score-empty-jpeg", score(target="{C}/score/empty"), ["empty/a.jpg", "empty file"]),
        Case(
            "score-two-channels", score(target="{C}/score/two_channels"), ["two_channels/a.npy", "channels"]
        ),
        Case("score-png-bomb", score(target="{C}/score/bomb"), ["bomb/a.png", "exceeds the limit"]),
        Case(
            "score-tiff-2000-channels",
            score(target="{C}/score/many_channels"),
            ["many_channels/a.tif", "2000 channels"],
        ),
        Case(
            "score-unknown-metric",
            score("{C}/score/pred", "{C}/score/pred", "--metrics", "nope"),
            ["--metrics", "nope"],
        ),
        Case("score-missing-folder", score(target="{C}/score/nope"), ["score/nope", "not a directory"]),
        # ---- convert-official
        Case("convert-empty-pth", convert("{C}/pth/empty.pth"), ["empty.pth", "empty file"]),
        Case("convert-truncated-pth", convert("{C}/pth/truncated.pth"), ["truncated.pth", "corrupt"]),
        Case("convert-corrupt-pth", convert("{C}/pth/corrupt.pth"), ["corrupt.pth", "corrupt"]),
        Case(
            "convert-exploit-legacy-pth",
            convert("{C}/pth/exploit_legacy.pth"),
            ["exploit_legacy.pth", "refused"],
        ),
        Case("convert-exploit-zip-pth", convert("{C}/pth/exploit_zip.pth"), ["exploit_zip.pth", "refused"]),
        Case("convert-missing-pth", convert("{C}/pth/nope.pth"), ["nope.pth", "no such file"]),
        Case(
            "convert-unknown-net",
            ["convert-official", "{C}/pth/empty.pth", "{OUT}/c", "--netG", "vit"],
            ["--netG", "vit"],
        ),
        Case("convert-bad-int", convert("{C}/pth/empty.pth", "--ngf", "many"), ["--ngf", "many"]),
        # ---- data synth
        Case("synth-size", synth("--size", "0", "0"), ["size", ">= 8"]),
        Case("synth-count", synth("--count", "0"), ["count", ">= 1"]),
        Case("synth-scale", synth("--scale", "3"), ["scale", "3"]),
        Case("synth-task", ["data", "synth", "--task", "nope", "--out", "{OUT}/s"], ["--task", "nope"]),
        Case(
            "synth-out-under-file",
            [
                "data",
                "synth",
                "--task",
                "depth",
                "--count",
                "1",
                "--size",
                "16",
                "16",
                "--out",
                "{C}/a_regular_file/s",
            ],
            ["a_regular_file"],
        ),  # fmt: skip
        Case("synth-out-not-empty", synth("--out", "{C}/img"), ["--out", "not empty"]),
        # ================================================================ round 2 (issue 15)
        # ---- devices that are not there (resolve_device)
        Case(
            "translate-device-meta",
            translate(*PAIR, "--device", "meta"),
            ["--device", "'meta' is not supported"],
        ),
        Case(
            "translate-device-mps",
            translate(*PAIR, "--device", "mps"),
            ["--device", "'mps'", "MPS is not available"],
        ),
        Case("translate-device-cuda-99", translate(*PAIR, "--device", "cuda:99"), ["--device", "'cuda:99'"]),
        Case("translate-device-cpu-1", translate(*PAIR, "--device", "cpu:1"), ["--device", "one CPU device"]),
        Case("evaluate-device-meta", evaluate("--device", "meta"), ["--device", "'meta' is not supported"]),
        Case("evaluate-device-mps", evaluate("--device", "mps"), ["--device", "MPS is not available"]),
        Case("evaluate-device-cuda-99", evaluate("--device", "cuda:99"), ["--device", "'cuda:99'"]),
        Case(
            "score-device-meta",
            score("{C}/score/pred", "{C}/score/pred", "--device", "meta"),
            ["--device", "'meta'"],
        ),
        Case(
            "score-device-mps",
            score("{C}/score/pred", "{C}/score/pred", "--device", "mps"),
            ["--device", "MPS"],
        ),
        Case(
            "score-device-cuda-99",
            score("{C}/score/pred", "{C}/score/pred", "--device", "cuda:99"),
            ["--device", "'cuda:99'"],
        ),
        Case("bench-device-mps", bench("--device", "mps"), ["--device", "invalid choice: 'mps'"]),
        Case(
            "bench-cuda-graphs-on-cpu",
            bench("--cuda-graphs"),
            ["--cuda-graphs", "needs --device cuda and --compile"],
        ),
        # ---- bench options
        Case("bench-unknown-preset", ["bench", "--preset", "nope"], ["--preset", "invalid choice: 'nope'"]),
        Case("bench-batch-zero", bench("--batch", "0"), ["--batch", ">= 1"]),
        Case("bench-steps-zero", bench("--steps", "0"), ["--steps", ">= 1"]),
        Case("bench-warmup-negative", bench("--warmup", "-1"), ["--warmup", ">= 0"]),
        Case("bench-threads-zero", bench("--threads", "0"), ["--threads", ">= 1"]),
        Case("bench-workers-negative", bench("--workers", "-1"), ["--workers", ">= 0"]),
        Case("bench-size-zero", bench("--size", "0", "0"), ["--size", ">= 1, got (0, 0)"]),
        Case(
            "bench-size-backbone",
            bench("--size", "20", "20"),
            ["--size", "20x20 not supported by the resnet backbone"],
        ),
        Case("bench-size-bomb", bench("--size", "100000", "100000"), ["--size", "exceeds the limit"]),
        Case("bench-peak-zero", bench("--peak-tflops", "0"), ["--peak-tflops", "> 0"]),
        Case("bench-peak-nan", bench("--peak-tflops", "nan"), ["--peak-tflops", "nan"]),
        Case("bench-precision", bench("--precision", "fp8"), ["--precision", "invalid choice: 'fp8'"]),
        Case(
            "bench-size-one-value",
            ["bench", "--preset", "depth_x8", "--size", "32"],
            ["--size", "expected 2 arguments"],
        ),
        # ---- data synth / preview / bench
        Case("synth-size-bomb", synth("--size", "100000", "100000"), ["size", "exceeds the limit"]),
        Case("synth-count-bomb", synth("--count", "100000000000"), ["count", "<= 10000000"]),
        Case("synth-protocol", synth("--protocol", "C"), ["--protocol", "invalid choice: 'C'"]),
        Case("synth-split", synth("--split", "all"), ["--split", "invalid choice: 'all'"]),
        Case("synth-bad-int", synth("--seed", "x"), ["--seed", "invalid int value: 'x'"]),
        Case("data-no-action", ["data"], ["required"]),
        Case("preview-count", preview("--count", "0"), ["count", ">= 1"]),
        Case("preview-size", preview("--size", "4", "4"), ["size", ">= 8"]),
        Case(
            "preview-out-under-file", preview("--out", "{C}/a_regular_file/p.png"), ["a_regular_file/p.png"]
        ),
        Case(
            "preview-out-suffix", preview("--out", "{OUT}/p.txt"), ["p.txt", "unsupported output type '.txt'"]
        ),
        Case("data-bench-count", ["data", "bench", "--task", "depth", "--count", "0"], ["count", ">= 1"]),
        Case("data-bench-scale", ["data", "bench", "--task", "depth", "--scale", "5"], ["scale", "got 5"]),
        # ---- info
        Case(
            "info-missing-checkpoint",
            ["info", "--checkpoint", "{C}/no_such_gen"],
            ["no_such_gen/config.json", "missing"],
        ),
        Case("info-checkpoint-is-file", ["info", "--checkpoint", "{C}/a_regular_file"], ["a_regular_file"]),
        Case(
            "info-bad-config-json",
            ["info", "--checkpoint", "{C}/gen_bad_config"],
            ["config.json", "invalid JSON"],
        ),
        Case(
            "info-latin1-config",
            ["info", "--checkpoint", "{C}/gen_latin1_config"],
            ["config.json", "not UTF-8"],
        ),
        Case(
            "info-too-many-params",
            ["info", "--checkpoint", "{C}/gen_too_many_params"],
            ["config.json", "parameters"],
        ),
        Case("info-ngf-zero", ["info", "--ngf", "0"], ["ngf", ">= 1"]),
        Case("info-input-nc-zero", ["info", "--input_nc", "0"], ["input_nc", ">= 1"]),
        Case("info-huge-bottleneck", ["info", "--bottleneck", "100000"], ["bottleneck", "<= 4096"]),
        Case("info-unknown-backbone", ["info", "--backbone", "vit"], ["--backbone", "invalid choice: 'vit'"]),
        # ---- convert-official
        Case("convert-wrong-keys", convert("{C}/pth/wrong_keys.pth"), ["wrong_keys.pth", "key"]),
        Case("convert-list-pth", convert("{C}/pth/list.pth"), ["list.pth", "not a state dict"]),
        Case("convert-src-is-folder", convert("{C}/pth"), ["pth"]),
        Case(
            "convert-unet-too-shallow",
            convert("{C}/pth/wrong_keys.pth", "--netG", "bFT_unet", "--n_layers", "4"),
            ["--n_layers", ">= 6"],
        ),
        # ---- weights, pretrained
        Case("weights-unknown-package", ["weights", "install", "nope"], ["nope"]),
        Case("weights-no-action", ["weights"], ["required"]),
        Case("pretrained-no-action", ["pretrained"], ["required"]),
        Case("pretrained-list-stray", ["pretrained", "list", "--bogus"], ["unrecognized arguments: --bogus"]),
        Case("translate-unknown-pretrained", translate(ckpt="pretrained:nope"), ["pretrained:nope"]),
        Case("evaluate-unknown-pretrained", evaluate(ckpt="pretrained:nope"), ["pretrained:nope"]),
        # ---- quickstart options (refused before its training starts)
        Case(
            "quickstart-unknown-option",
            ["quickstart", "--out", "{OUT}", "--no-progress", "train.nope=1"],
            ["train.nope", "unknown option"],
        ),
        Case(
            "quickstart-bad-scale",
            ["quickstart", "--out", "{OUT}", "--no-progress", "data.options.scale=3"],
            ["scale", "got 3"],
        ),
        Case(
            "quickstart-out-under-file",
            ["quickstart", "--out", "{C}/a_regular_file/q", "--no-progress"],
            ["a_regular_file", "not writable"],
        ),
        Case(
            "quickstart-stray-argument",
            ["quickstart", "--out", "{OUT}", "--fast"],
            ["unrecognized arguments: --fast"],
        ),
        # ---- score options and folders
        Case(
            "score-float-range-reversed",
            score("{C}/score/pred", "{C}/score/pred", "--float-range", "1,0"),
            ["--float-range", "LO must be below HI"],
        ),
        Case(
            "score-float-range-text",
            score("{C}/score/pred", "{C}/score/pred", "--float-range", "low"),
            ["--float-range", "expected LO,HI"],
        ),
        Case("score-pred-is-file", score(pred="{C}/a_regular_file"), ["a_regular_file", "not a directory"]),
        Case("score-empty-folders", score("{C}/score/empty_dir", "{C}/score/empty_dir"), ["empty_dir"]),
        Case("score-ambiguous-stem", score(target="{C}/score/ambiguous"), ["ambiguous", "a"]),
        Case("score-nan-float", score(target="{C}/score/nan_float"), ["nan_float/a.tif", "NaN"]),
        Case(
            "score-is-without-classifier",
            score("{C}/score/pred", "{C}/score/pred", "--metrics", "inception_score"),
            ["--classifier", "inception_score needs a classifier"],
        ),
        Case(
            "score-missing-classifier",
            score(
                "{C}/score/pred",
                "{C}/score/pred",
                "--metrics",
                "inception_score",
                "--classifier",
                "{C}/no_such.pt",
            ),
            ["no_such.pt"],
        ),
        Case(
            "score-corrupt-classifier",
            score(
                "{C}/score/pred",
                "{C}/score/pred",
                "--metrics",
                "inception_score",
                "--classifier",
                "{C}/score/not_torchscript.pt",
            ),
            ["not_torchscript.pt"],
        ),
        Case(
            "score-splits-zero", score("{C}/score/pred", "{C}/score/pred", "--splits", "0"), ["--splits", "0"]
        ),
        Case(
            "score-empty-metrics", score("{C}/score/pred", "{C}/score/pred", "--metrics", ","), ["--metrics"]
        ),
        Case(
            "score-per-image-under-file",
            score("{C}/score/pred", "{C}/score/pred", "--per-image", "{C}/a_regular_file/p.json"),
            ["a_regular_file/p.json"],
        ),
        # ---- translate: arguments, outputs and arrays
        Case(
            "translate-file-and-folder",
            translate(guide="{C}/pairs/guide"),
            ["--guide", "two files or two folders"],
        ),
        Case(
            "translate-folder-missing-partner",
            [
                "translate",
                "--checkpoint",
                "{C}/gen",
                "--input",
                "{C}/pairs_missing/input",
                "--guide",
                "{C}/pairs_missing/guide",
                "--out",
                "{OUT}",
            ],
            ["b"],
        ),
        Case(
            "translate-folder-out-is-file",
            [
                "translate",
                "--checkpoint",
                "{C}/gen",
                "--input",
                "{C}/pairs/input",
                "--guide",
                "{C}/pairs/guide",
                "--out",
                "{C}/a_regular_file",
            ],
            ["--out", "is a file"],
        ),
        Case(
            "translate-out-suffix",
            [*translate()[:-1], "{OUT}/o.gif"],
            ["o.gif", "unsupported output type '.gif'"],
        ),
        Case(
            "translate-16bit-to-jpeg",
            [
                *translate("{C}/img/grey.png", "{C}/img/rgb.png", "{C}/gen", "--depth", "file")[:-3],
                "{OUT}/o.jpg",
                "--depth",
                "file",
            ],
            ["o.jpg", "16-bit input"],
        ),
        Case(
            "translate-float-to-png",
            translate("{C}/img/float.npy", "{C}/img/rgb.png", "{C}/gen", "--depth", "file"),
            ["o.png", "float input"],
        ),
        Case(
            "translate-sensor-rgb-model",
            translate("{C}/img/rgb_b.png", "{C}/img/rgb.png", "{C}/gen_rgb", "--depth", "sensor"),
            ["--depth", "1 input channel"],
        ),
        Case(
            "translate-out-under-file",
            [*translate()[:-1], "{C}/a_regular_file/o.png"],
            ["a_regular_file/o.png"],
        ),
        Case(
            "translate-unsupported-guide",
            translate(guide="{C}/img/photo.gif"),
            ["photo.gif", "unsupported file type"],
        ),
        Case(
            "translate-object-npy",
            translate(inp="{C}/img/object.npy"),
            ["object.npy", "object arrays are refused"],
        ),
        Case(
            "translate-two-array-npz",
            translate(inp="{C}/img/two_arrays.npz"),
            ["two_arrays.npz", "exactly one array"],
        ),
        Case("translate-4d-npy", translate(inp="{C}/img/four_d.npy"), ["four_d.npy", "shape"]),
        Case("translate-1d-npy", translate(inp="{C}/img/one_d.npy"), ["one_d.npy", "shape"]),
        Case(
            "translate-zero-rows-npy",
            translate(inp="{C}/img/zero_rows.npy"),
            ["zero_rows.npy", "found shape (0, 32)"],
        ),
        Case("translate-corrupt-npz", translate(inp="{C}/img/corrupt.npz"), ["corrupt.npz", "corrupt"]),
        Case(
            "translate-corrupt-npy-header",
            translate(inp="{C}/img/corrupt_header.npy"),
            ["corrupt_header.npy", "corrupt array header"],
        ),
        Case(
            "translate-truncated-npy-data",
            translate("{C}/img/truncated_data.npy", "{C}/img/rgb.png", "{C}/gen", "--depth", "file"),
            ["truncated_data.npy", "truncated"],
        ),
        Case("translate-empty-npy", translate(inp="{C}/img/empty.npy"), ["empty.npy", "empty file"]),
        # ---- translate: generator folders broken in one way each
        Case(
            "translate-no-config-json", translate(ckpt="{C}/gen_no_config"), ["gen_no_config", "config.json"]
        ),
        Case(
            "translate-no-weights",
            translate(ckpt="{C}/gen_no_weights"),
            ["gen_no_weights", "model.safetensors"],
        ),
        Case(
            "translate-empty-weights", translate(ckpt="{C}/gen_empty_weights"), ["model.safetensors", "empty"]
        ),
        Case("translate-list-config", translate(ckpt="{C}/gen_list_config"), ["config.json", "list"]),
        Case("translate-ngf-string", translate(ckpt="{C}/gen_ngf_string"), ["config.json", "ngf"]),
        Case("translate-ngf-zero", translate(ckpt="{C}/gen_ngf_zero"), ["config.json", "ngf"]),
        Case(
            "translate-unknown-config-field",
            translate(ckpt="{C}/gen_unknown_field"),
            ["config.json", "colour"],
        ),
        Case(
            "translate-missing-tensor",
            translate(ckpt="{C}/gen_missing_key"),
            ["model.safetensors", "missing"],
        ),
        Case(
            "translate-extra-tensor",
            translate(ckpt="{C}/gen_extra_key"),
            ["model.safetensors", "extra.weight"],
        ),
        Case(
            "translate-wrong-tensor-shape",
            translate(ckpt="{C}/gen_wrong_shape"),
            ["model.safetensors", "shape"],
        ),
        Case("translate-checkpoint-is-file", translate(ckpt="{C}/a_regular_file"), ["a_regular_file"]),
        Case("translate-checkpoint-no-generator", translate(ckpt="{C}/folders/good"), ["folders/good"]),
        # ---- train: values and overrides
        Case("train-beta2-above-1", train("train.beta2=1.5"), ["train.beta2", "<= 0.999999"]),
        Case("train-lambda-negative", train("train.lambda_l1=-1"), ["train.lambda_l1", ">= 0"]),
        Case("train-batch-zero", train("train.batch_size=0"), ["train.batch_size", ">= 1"]),
        Case("train-precision", train("train.precision=fp8"), ["train.precision", "must be one of"]),
        Case("train-device-mps", train("train.device=mps"), ["train.device", "must be one of"]),
        Case(
            "train-unknown-backbone", train("model.backbone=vit"), ["model.backbone", "unknown value 'vit'"]
        ),
        Case("train-unknown-dataset", train("data.dataset=nope"), ["data.dataset", "must be one of"]),
        Case("train-workers-negative", train("data.num_workers=-1"), ["data.num_workers", ">= 0"]),
        Case("train-workers-too-many", train("data.num_workers=1000"), ["data.num_workers", "<= 256"]),
        Case("train-crop-small", train("train.crop=[4,4]"), ["train.crop"]),
        Case("train-crop-three", train("train.crop=[8,8,8]"), ["train.crop"]),
        Case(
            "train-override-no-value",
            ["train", "--config", "synthetic_depth", "--out", "{OUT}", "train.lr"],
            ["train.lr", "overrides are KEY=VALUE"],
        ),
        Case("train-override-empty-key", train("=1"), ["=1"]),
        Case("train-section-scalar-override", train("train=5"), ["train: is a section"]),
        Case("train-int-as-list", train("model.ngf=[4]"), ["model.ngf", "must be an int"]),
        Case("train-int-as-float", train("train.max_steps=1.5"), ["train.max_steps", "1.5"]),
        Case("train-bool-as-text", train("train.flip=maybe"), ["train.flip", "maybe"]),
        Case("train-size-one-value", train("data.options.size=[32]"), ["size", "[32]"]),
        Case("train-protocol", train("data.options.protocol=C"), ["protocol", "C"]),
        Case("train-on-error", train("data.options.on_error=ignore"), ["on_error", "ignore"]),
        Case("train-val-max-items-zero", train("data.val_max_items=0"), ["data.val_max_items", ">= 1"]),
        Case("train-max-bad-steps-zero", train("train.max_bad_steps=0"), ["train.max_bad_steps", ">= 1"]),
        # ---- train: config files and run folders
        Case(
            "train-yaml-empty-defaults",
            train(config="{C}/yaml/empty.yaml"),
            ["model", "do not match those of dataset"],
        ),
        Case("train-yaml-scalar", train(config="{C}/yaml/scalar.yaml"), ["scalar.yaml", "mapping"]),
        Case(
            "train-yaml-section-scalar",
            train(config="{C}/yaml/section_scalar.yaml"),
            ["model: is a section", "section_scalar.yaml"],
        ),
        Case("train-yaml-base-missing", train(config="{C}/yaml/base_missing.yaml"), ["no_such_base.yaml"]),
        Case(
            "train-yaml-too-big", train(config="{C}/yaml/big.yaml"), ["big.yaml", "larger than 1048576 bytes"]
        ),
        Case("train-yaml-base-too-deep", train(config="{C}/yaml/deep_0.yaml"), ["deep_", "16"]),
        Case("train-config-is-folder", train(config="{C}/yaml/folder.yaml"), ["folder.yaml"]),
        Case(
            "train-out-is-file",
            ["train", "--config", "synthetic_depth", "--out", "{C}/a_regular_file", "--no-progress", *tiny],
            ["a_regular_file"],
        ),
        Case(
            "train-run-config-list",
            ["train", "--config", "synthetic_depth", "--out", "{C}/runs/list_config", "--no-progress", *tiny],
            ["list_config/config.yaml", "mapping"],
        ),
        Case(
            "train-run-config-invalid",
            ["train", "--config", "synthetic_depth", "--out", "{C}/runs/not_yaml", "--no-progress", *tiny],
            ["not_yaml/config.yaml", "invalid YAML"],
        ),
        # ---- train: datasets
        Case(
            "train-folder-root-is-file",
            train("data.dataset=folder", "data.options={root: {C}/a_regular_file}"),
            ["a_regular_file"],
        ),
        Case("train-folder-empty", train(*folder("empty")), ["folders/empty"]),
        Case(
            "train-float-out-of-range",
            train(*folder("out_of_range")),
            ["target/a.npy", "range"],
            run_folder=True,
        ),
        Case("train-unsupported-partner", train(*folder("unsupported")), ["unsupported"]),
        Case(
            "train-deepfashion-missing-key",
            train(
                "data.dataset=deepfashion",
                "data.options={root: {C}/pkl/missing_key}",
                "model.input_nc=3",
                "model.guide_nc=18",
                "model.output_nc=3",
            ),
            ["0.pkl", "pose_target"],
        ),
        Case(
            "train-deepfashion-list",
            train(
                "data.dataset=deepfashion",
                "data.options={root: {C}/pkl/list}",
                "model.input_nc=3",
                "model.guide_nc=18",
                "model.output_nc=3",
            ),
            ["0.pkl", "list"],
        ),
        Case(
            "train-nyu-no-dataset",
            train("data.dataset=nyu", "data.options={root: {C}/mat/no_dataset, scale: 8}"),
            ["input_8x_train.mat", "has no dataset 'input_8x_train'"],
        ),
        Case(
            "evaluate-nyu-v5-truncated",
            evaluate("data.dataset=nyu", "data.options={root: {C}/mat/v5_truncated, scale: 8}"),
            ["input_8x_test.mat"],
        ),
        # ---- evaluate options
        Case("evaluate-unknown-split", evaluate("--split", "nope"), ["split", "nope"]),
        Case("evaluate-unknown-dataset", evaluate("--dataset", "nope"), ["nope"]),
        Case("evaluate-patches-zero", evaluate("--patches", "0"), ["--patches", ">= 1"]),
        Case("evaluate-patches-not-texture", evaluate("--patches", "2"), ["--patches", "cannot redraw"]),
        Case("evaluate-batch-size", evaluate("--batch-size", "0"), ["--batch-size", ">= 1"]),
        Case("evaluate-missing-is-weights", evaluate("--is-weights", "{C}/no_such.pt"), ["no_such.pt"]),
        Case("evaluate-unknown-baseline", evaluate("--baselines", "nope"), ["nope"]),
        Case(
            "evaluate-unknown-tune-on",
            evaluate("--baselines", "guided_filter", "--tune-on", "nope"),
            ["nope"],
        ),
        Case(
            "evaluate-no-config",
            ["evaluate", "--checkpoint", "{C}/gen", "--out", "{OUT}", "--device", "cpu"],
            ["--config", "not inside a run folder"],
        ),
        Case("evaluate-run-config-list", evaluate(ckpt="{C}/runs/list_config"), ["list_config"]),
    ]


if __name__ == "__main__":  # pragma: no cover
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus")
    for case in build(out):
        print(case.id, " ".join(case.argv).replace("{C}", str(out)))
