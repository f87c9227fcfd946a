"""Fuzzing config loading: whatever a user writes, the only exception that escapes is a ClimbError.

Three targets: generated config mappings (``validate_config`` and ``load_config``), config file text
(random, and mutations of the embedded default experiment) and ``--set`` assignments. An accepted
config must be plain finite JSON; a refused one must be a bounded one-paragraph message. The fast
profile runs in CI; ``pytest -m slow`` runs 10,000 inputs per target.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from climb_harness.core import config as config_module
from climb_harness.api.errors import ClimbError

settings.register_profile(
    "climb-fuzz-fast", max_examples=150, deadline=None, database=None, derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture],  # the autouse HF_HUB_OFFLINE fixture
)
settings.register_profile("climb-fuzz-long", settings.get_profile("climb-fuzz-fast"), max_examples=10_000)
FAST = settings.get_profile("climb-fuzz-fast")
LONG = settings.get_profile("climb-fuzz-long")

MAX_MESSAGE = 1_200
DEFAULT_YAML = (Path(config_module.__file__).parent / "experiments" / "default.yaml").read_text("utf-8")

# --------------------------------------------------------------------------- building blocks
TOP_KEYS = ["name", "tasks", "encoder", "algorithms", "seeds", "plugins", "output", "eval_split", "protocol",
            "training", "references"]
TRAINING_KEYS = ["epochs", "lr", "batch_size", "eval_batch_size", "weight_decay", "warmup_ratio", "adam_betas",
                 "adam_eps", "max_grad_norm", "max_steps_per_epoch", "preload", "device", "progress"]
PROTOCOL_KEYS = ["selection_split", "report_split", "confidence_level", "bootstrap_resamples"]
NAMES = ["easyvqa-shape", "ewc", "tiny", "finetune", "vl-minilm", "a", "", "..", "a/b", "x" * 300, "\x00", "\ud800"]
ODD_STRINGS = ["", ".", "..", "../../etc", "a/b", "a\\b", "\x00", "\ud800", "x" * 300, "é", "a\nb", "cuda:0", "val", "test"]
YAML_SNIPPETS = [
    "[", "]", "{", "}", "{a", "[1, 2", "!!python/object/apply:os.system [\"echo hi\"]", "!!python/name:os.system",
    ".nan", ".NaN", ".inf", "-.inf", "1.0e+400", "18446744073709551616", "9" * 5000, "-1", "0", "1.0", "true", "no",
    "null", "~", "2020-01-01", "2020-13-45", "2001-12-14t21:59:43.10-05:00", "!!binary aGk=", "!!binary @@",
    "!!set {a, b}", "!!omap [a: 1, b: 2]", "!!pairs [a: 1]", "!!int x", "!!float x", "!!timestamp x", "&a [*a]", "*a",
    "&a {b: *a}", "{1: 2}", "{null: 1}", "{[1]: 2}", "{? [1] : 2}", "{a: 1, a: 2}", "[1, [2, [3]]]", "[[[[[[[[[[]]]]]]]]]]",
    "{name: ewc, label: " + "x" * 300 + "}", "{name: ewc, label: ..}", "\"\\0\"", "\"\\ud800\"", "'a/b'", "..",
    "a: b\n---\nc", "\t", "%YAML 1.1\n--- 1", "<<: *a", "{<<: {a: 1}}", "@", "`", "'", "\"", "|", ">", "- x", "? a",
    "[finetune, {name: finetune, label: ft}]", "{name: x, options: {y: .nan}}", "[0, 0]", "[4294967296]", "[true]",
    "[1.5]", "[1.0]", "{epochs: 2.0}",
]
KEY_PARTS = ["training", "epochs", "lr", "seeds", "0", "1", "5", "algorithms", "tasks", "encoder", "options", "label",
             "name", "protocol", "confidence_level", "references", "direct", "cache_dir", "x", "", "00", "²", "٣", "-1",
             "99999999999999999999", "output", "plugins", "batch_size", "adam_betas", "device", " epochs"]


def laughs(depth: int, width: int) -> str:
    """A "billion laughs" alias bomb: ``width ** depth`` leaves from about ``depth * width`` aliases."""
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, depth + 1)]
    return "\n".join(lines) + "\n"


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12), st.sampled_from(ODD_STRINGS),
    st.dates(), st.binary(max_size=4),
)
keys = st.one_of(st.sampled_from(TOP_KEYS + TRAINING_KEYS + PROTOCOL_KEYS + ["options", "label"]),
                 st.text(max_size=8), st.integers(), st.none(), st.booleans(), st.floats(allow_nan=True))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4),
                            st.tuples(inner, inner), st.frozensets(st.integers(), max_size=3)),
    max_leaves=12,
)
names = st.one_of(st.sampled_from(NAMES), st.text(max_size=8), scalars)
labels = st.one_of(st.sampled_from(["ft", "ft-2", "a.b", "..", ".", "-x", "a/b", "x" * 64, "x" * 65, "x" * 300]),
                   st.text(max_size=8), scalars)
components = st.one_of(
    names,
    st.fixed_dictionaries({"name": names}, optional={"options": st.dictionaries(keys, values, max_size=3) | values,
                                                      "label": labels, "x": values}),
    values,
)
seeds = st.one_of(
    st.lists(st.one_of(st.integers(min_value=0, max_value=10), st.integers(), scalars), max_size=4), values
)


def section(known: list[str]) -> st.SearchStrategy[Any]:
    return st.one_of(st.fixed_dictionaries({}, optional={k: values for k in known}), values)


plain_configs = st.fixed_dictionaries(
    {"tasks": st.one_of(st.lists(components, max_size=3), values), "encoder": components,
     "algorithms": st.one_of(st.lists(components, max_size=3), values)},
    optional={"name": names, "seeds": seeds, "plugins": st.lists(names, max_size=2) | values, "output": names,
              "eval_split": names, "protocol": section(PROTOCOL_KEYS), "training": section(TRAINING_KEYS),
              "references": section(["direct", "cache_dir"])},
)


@st.composite
def configs(draw: st.DrawFn) -> tuple[Any, str, int, str]:
    """A recipe: a valid-looking config with random values and stray keys, a shape, a depth and a key.

    The shape (now and then a cycle, deep nesting or no mapping at all) is built by :func:`materialise`
    inside the test: Hypothesis itself cannot print a structure 3,000 levels deep.
    """
    config: Any = draw(plain_configs)
    config.update(draw(st.dictionaries(keys, values, max_size=2)))
    shape = draw(st.sampled_from(["plain"] * 8 + ["cycle", "deep", "not-a-mapping"]))
    if shape == "not-a-mapping":
        config = draw(values)
    return config, shape, draw(st.integers(min_value=50, max_value=3_000)), draw(st.sampled_from(TOP_KEYS))


def materialise(recipe: tuple[Any, str, int, str]) -> Any:
    config, shape, depth, key = recipe
    if isinstance(config, dict):
        config = dict(config)  # the recipe stays printable
    if shape == "cycle":
        config[key] = [config]
    elif shape == "deep":
        nested: Any = 0
        for level in range(depth):
            nested = [nested] if level % 3 else {"options": nested}
        config[key] = nested
    return config


def json_ready(value: Any) -> Any:
    """``value`` with what neither YAML nor JSON can write (tuples, sets, bytes, odd keys) made plain."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, frozenset)):
        return [json_ready(v) for v in value]
    if isinstance(value, (bytes, bytearray)) or hasattr(value, "isoformat"):
        return str(value)
    return value


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    """``text`` after a few insertions, deletions and replacements of YAML-ish snippets."""
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        at = draw(st.integers(min_value=0, max_value=len(text)))
        span = draw(st.integers(min_value=0, max_value=20))
        tokens = st.sampled_from(YAML_SNIPPETS + [": ", "- ", "\n", "  ", "&a ", "*a", "#"])
        piece = draw(st.one_of(tokens, st.text(max_size=4)))
        inserted = piece if draw(st.booleans()) else ""
        text = text[:at] + inserted + text[at + (span if draw(st.booleans()) else 0):]
    return text


def dumped(config: Any, as_json: bool) -> str:
    plain = json_ready(config)
    if as_json:
        return json.dumps(plain)
    return yaml.safe_dump(plain, default_flow_style=None, allow_unicode=True)


@st.composite
def config_texts(draw: st.DrawFn) -> tuple[str | bytes, str, str]:
    """(file contents, suffix, file stem)."""
    suffix = draw(st.sampled_from([".yaml", ".yml", ".json"]))
    stem = draw(st.sampled_from(["exp", "config", "...", "my exp", "x" * 200, "-x"]))
    kind = draw(st.sampled_from(["default"] * 3 + ["dumped"] * 2 + ["random", "bomb", "deep", "bytes"]))
    if kind == "default":
        text: str | bytes = draw(mutated(DEFAULT_YAML))
    elif kind == "dumped":
        flat = draw(plain_configs)
        try:
            base = dumped(flat, suffix == ".json")
        except (TypeError, ValueError, yaml.YAMLError):
            base = DEFAULT_YAML
        text = draw(mutated(base)) if draw(st.booleans()) else base
    elif kind == "random":
        scalar_files = st.sampled_from(YAML_SNIPPETS + ["5", '"x"', "", "null", "[]", "{}"])
        text = draw(st.one_of(st.text(max_size=200), scalar_files))
    elif kind == "bomb":
        text = laughs(draw(st.integers(min_value=1, max_value=9)), draw(st.integers(min_value=2, max_value=9)))
        text += f"tasks: *l{draw(st.integers(min_value=0, max_value=1))}\nencoder: x\nalgorithms: [y]\n"
    elif kind == "deep":
        depth = draw(st.integers(min_value=10, max_value=20_000))
        opener, closer = draw(st.sampled_from([("[", "]"), ("{a: ", "}"), ('{"a": ', "}")]))
        text = ("" if suffix == ".json" else "tasks: ") + opener * depth + closer * depth
    else:
        text = draw(st.binary(max_size=64))
    return text, suffix, stem


@st.composite
def assignments(draw: st.DrawFn) -> list[str]:
    """One to three ``KEY=VALUE`` strings built from plausible key paths and YAML snippets."""
    out = []
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        part = st.one_of(st.sampled_from(KEY_PARTS), st.text(max_size=4))
        parts = draw(st.lists(part, min_size=1, max_size=6))
        value = draw(st.one_of(
            st.sampled_from(YAML_SNIPPETS), st.text(max_size=20), scalars.map(lambda v: _flow(json_ready(v))),
            plain_configs.map(lambda c: _flow(json_ready(c))),
            st.builds(laughs, st.integers(min_value=1, max_value=9), st.integers(min_value=2, max_value=9)),
        ))
        out.append(".".join(parts) + "=" + value if draw(st.integers(0, 9)) else draw(st.text(max_size=10)))
    return out


def _flow(value: Any) -> str:
    try:
        return yaml.safe_dump(value, default_flow_style=True, width=math.inf, allow_unicode=True).strip()
    except (yaml.YAMLError, ValueError, TypeError):
        return "null"


# --------------------------------------------------------------------------- targets
def run_mapping(recipe: tuple[Any, str, int, str]) -> dict[str, Any] | None:
    """``validate_config`` on the mapping itself, then the whole ``load_config`` on it as the experiment."""
    config = materialise(recipe)
    config_module.validate_config(config, "a fuzzed mapping")
    with mock.patch.object(config_module, "default_config", return_value=config):
        return config_module.load_config(None)


def run_text(folder: Path, text: str | bytes, suffix: str, stem: str) -> dict[str, Any]:
    path = folder / f"{stem}{suffix}"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return config_module.load_config(path)


def run_overrides(overrides: list[str]) -> dict[str, Any]:
    return config_module.load_config(None, overrides)


def check_only_climb_errors(target: Callable[[], dict[str, Any] | None]) -> None:
    """The property: a bounded one-paragraph ClimbError, or a config that is plain finite JSON."""
    try:
        resolved = target()
    except ClimbError as exc:
        message = str(exc)
        assert len(message) <= MAX_MESSAGE, message[:2_000]
        assert "\n" not in message and "Traceback" not in message, message
        return
    json.dumps(resolved, allow_nan=False)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-config")


# --------------------------------------------------------------------------- fast (CI) and long (-m slow)
@FAST
@given(configs())
def test_config_mappings_raise_only_climb_errors(recipe: tuple[Any, str, int, str]) -> None:
    check_only_climb_errors(lambda: run_mapping(recipe))


@FAST
@given(config_texts())
def test_config_files_raise_only_climb_errors(folder: Path, case: tuple[str | bytes, str, str]) -> None:
    check_only_climb_errors(lambda: run_text(folder, *case))


@FAST
@given(assignments())
def test_set_overrides_raise_only_climb_errors(overrides: list[str]) -> None:
    check_only_climb_errors(lambda: run_overrides(overrides))


@pytest.mark.soak
@LONG
@given(configs())
def test_config_mappings_long(recipe: tuple[Any, str, int, str]) -> None:
    check_only_climb_errors(lambda: run_mapping(recipe))


@pytest.mark.soak
@LONG
@given(config_texts())
def test_config_files_long(folder: Path, case: tuple[str | bytes, str, str]) -> None:
    check_only_climb_errors(lambda: run_text(folder, *case))


@pytest.mark.soak
@LONG
@given(assignments())
def test_set_overrides_long(overrides: list[str]) -> None:
    check_only_climb_errors(lambda: run_overrides(overrides))
