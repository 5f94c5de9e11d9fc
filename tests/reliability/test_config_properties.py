"""Property-based tests (hypothesis, fixed seed, small budgets) over what reads untrusted text:
the config loader (YAML files), the KEY=VALUE overrides parser and the checkpoint metadata
reader. For any input the outcome is a result or a `UserError` (one line on the command line),
never another exception."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guided_pix2pix.errors import BadFileError, UserError
from guided_pix2pix.training.checkpoint import verify_checkpoint
from guided_pix2pix.training.config import RunConfig, load_config

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # a fixed seed: the same examples in every run and in CI
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

KEYS = [
    "train.lr", "train.max_steps", "train.crop", "train.seed", "train.beta1", "train.niter",
    "train.niter_decay", "train.lambda_gan", "model.ngf", "model.n_layers", "model.backbone",
    "model.bottleneck", "discriminator.kind", "data.dataset", "data.options", "data.options.count",
    "data.val_dataset", "data.val_options", "model", "train", "base", "nope.x", "train.lr.x",
]  # fmt: skip
YAML_BITS = [
    "1", "-1", "0", "1e-4", ".nan", ".inf", "null", "~", "true", "[1, 2]", "{a: 1}", "&a [1]", "*a",
    "!!python/object/apply:os.system ['true']", "[", "}", ":", "- x", "'q", '"\\xff"', "99999999999999999999",
    "2.5", "[0, 8]", "{root: x}", "unet", "bft", "basic", "lambda", "synthetic_depth", "\t", "\n", "#",
]  # fmt: skip
values = st.one_of(st.sampled_from(YAML_BITS), st.text(max_size=12))
overrides = st.lists(
    st.builds(lambda k, v: f"{k}={v}", st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), values)
    | st.text(max_size=10),
    max_size=4,
)


@FUZZ
@given(items=overrides)
def test_any_overrides_give_a_config_or_a_user_error(items):
    try:
        assert isinstance(load_config("synthetic_depth", items), RunConfig)
    except UserError:
        pass


def _yaml_document():
    line = st.builds(
        lambda indent, key, value: f"{' ' * indent}{key}: {value}",
        st.sampled_from([0, 0, 2, 4]),
        st.sampled_from(
            ["model", "train", "data", "discriminator", "base", "ngf", "lr", "crop", "options", "x"]
        ),
        values,
    )
    return st.lists(line | st.sampled_from(YAML_BITS), max_size=8).map("\n".join)


@FUZZ
@given(text=_yaml_document(), raw=st.binary(max_size=64), as_bytes=st.booleans())
def test_any_config_file_gives_a_config_or_a_user_error(tmp_path_factory, text, raw, as_bytes):
    path = Path(tmp_path_factory.mktemp("cfg")) / "c.yaml"
    path.write_bytes(raw if as_bytes else text.encode())
    try:
        assert isinstance(load_config(str(path)), RunConfig)
    except UserError:
        pass


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=70),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
metas = st.one_of(
    json_values,
    st.fixed_dictionaries({"step": json_values | st.just(2), "sha256": json_values}),
    st.fixed_dictionaries(
        {"step": st.just(2), "sha256": st.dictionaries(st.sampled_from(["state.pt", "x", "../a", "/etc/passwd", ""]),
                                                        st.text("0123456789abcdef", min_size=63, max_size=65))}
    ),
)  # fmt: skip


@FUZZ
@given(meta=metas, raw=st.binary(max_size=40), as_bytes=st.booleans())
def test_any_checkpoint_metadata_verifies_or_is_a_bad_file(tmp_path_factory, meta, raw, as_bytes):
    folder = Path(tmp_path_factory.mktemp("ckpt")) / "step_00000002"
    folder.mkdir()
    (folder / "state.pt").write_bytes(b"state")
    (folder / "meta.json").write_bytes(raw if as_bytes else json.dumps(meta).encode())
    try:
        verify_checkpoint(folder)
    except BadFileError:
        pass
