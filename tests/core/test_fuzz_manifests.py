"""Fuzzing the plugin boundary with hypothesis: manifests and option schemas from a plugin's code.

Properties:

* registering a component never raises: whatever a hook returns becomes an entry (with its
  problems) or a plugin error, so one bad plugin cannot take down a command;
* what passes (no problems) is what ``climb run`` accepts: its defaults resolve, and asking for it
  raises nothing but the harness's own errors.

A fast profile runs in CI; the 10,000-input profile is behind ``-m slow``
(``benchmarks/fuzz_boundary.py`` prints crash counts per target).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from climb_harness.api import API_VERSION, Component
from climb_harness.api.errors import ClimbError
from climb_harness.core.registry import KINDS, PluginInfo, Registry

FAST = settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
LONG = settings(max_examples=10_000, deadline=None, database=None, suppress_health_check=list(HealthCheck))

BASE: dict[str, dict[str, Any]] = {
    "task": {
        "name": "ztest-fuzz", "api_version": API_VERSION, "summary": "s", "modality": "vision-language",
        "images_per_example": 1, "head": {"type": "classification", "num_labels": 3}, "metric": "accuracy",
        "random_baseline": 33.3, "options": {"type": "object", "additionalProperties": False, "properties": {}},
    },
    "encoder": {
        "name": "ztest-fuzz", "api_version": API_VERSION, "summary": "s", "modalities": ["vision-language"],
        "options": {"type": "object", "additionalProperties": False, "properties": {}},
    },
    "algorithm": {
        "name": "ztest-fuzz", "api_version": API_VERSION, "summary": "s", "family": "baseline",
        "options": {"type": "object", "additionalProperties": False, "properties": {}},
    },
    "logger": {
        "name": "ztest-fuzz", "api_version": API_VERSION, "summary": "s", "requires_packages": ["json"],
        "options": {"type": "object", "additionalProperties": False, "properties": {}},
    },
}
KEYS = sorted({k for m in BASE.values() for k in m} | {"kind", "description", "paper", "splits", "defaults", "data", "max_text_length", "max_images_per_example", "$schema"})
SCHEMA_KEYS = ["type", "default", "minimum", "maximum", "exclusiveMinimum", "enum", "const", "pattern", "items", "$ref",
               "anyOf", "oneOf", "required", "properties", "additionalProperties", "$schema", "$defs", "minLength", "format",
               "patternProperties", "description", "not", "if", "then", "multipleOf", "uniqueItems"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["", "\n", "ztest-fuzz\n", "1.0\n", "object", "integer", "#", "#/$defs/x", "(", "[a-", "^a+$",
                     "https://json-schema.org/draft/2020-12/schema", "http://json-schema.org/draft-07/schema#", "z" * 300]),
    st.binary(max_size=4), st.just(b"x"), st.just({1, 2}), st.just(object()),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.tuples(inner),
        st.dictionaries(st.one_of(st.sampled_from(KEYS + SCHEMA_KEYS), st.text(max_size=5), st.integers()), inner, max_size=4),
    ),
    max_leaves=12,
)
option_specs = st.dictionaries(st.sampled_from(SCHEMA_KEYS), values, max_size=5)
option_schemas = st.one_of(
    st.builds(
        lambda props, extra: {"type": "object", "additionalProperties": False, "properties": props, **extra},
        st.dictionaries(st.text(min_size=1, max_size=6), option_specs, max_size=3),
        st.dictionaries(st.sampled_from(["required", "$schema", "$defs", "patternProperties", "type"]), values, max_size=2),
    ),
    values,
)


@st.composite
def manifests(draw: Any) -> tuple[str, Any]:
    kind = draw(st.sampled_from(KINDS))
    if draw(st.integers(0, 9)) == 0:
        return kind, draw(values)  # not even a dict
    manifest = copy.deepcopy(BASE[kind])
    for _ in range(draw(st.integers(1, 4))):
        key = draw(st.sampled_from(KEYS))
        if draw(st.booleans()):
            manifest.pop(key, None)
        else:
            manifest[key] = draw(option_schemas if key == "options" else values)
    return kind, manifest


factories = st.one_of(st.just("ztest_fuzz_module:Thing"), st.text(max_size=20), values, st.just(lambda options: options))


def register(kind: str, manifest: Any, factory: Any, component_kind: str | None = None) -> Registry:
    """What discovery does with one component returned by a hook (no import of the factory)."""
    registry = Registry(entry_points=False)
    info = PluginInfo("ztest_fuzz", "climb-ztest-fuzz", "0.0.1", "entry point", "ztest_fuzz")
    registry.plugins.append(info)
    registry._add(kind, Component(component_kind or kind, manifest, factory), info)  # noqa: SLF001 - the unit under test
    return registry


def check_manifest(kind: str, manifest: Any, factory: Any = "ztest_fuzz_module:Thing") -> None:
    """The property: registering never raises; a valid entry's defaults resolve as ``climb run`` would."""
    registry = register(kind, manifest, factory)
    for entry in registry.all_entries(kind):
        if entry.problems:
            with pytest.raises(ClimbError):
                registry.get(kind, entry.name)
            continue
        resolved = registry.resolve_options(kind, entry.name, {})
        assert all(not (isinstance(v, float) and not math.isfinite(v)) for v in resolved.values())


def check_options_schema(schema: Any) -> None:
    manifest = copy.deepcopy(BASE["algorithm"])
    manifest["options"] = schema
    check_manifest("algorithm", manifest)


@FAST
@given(manifests(), factories)
def test_fuzz_manifests(case: tuple[str, Any], factory: Any) -> None:
    check_manifest(*case, factory)


@FAST
@given(option_schemas)
def test_fuzz_option_schemas(schema: Any) -> None:
    check_options_schema(schema)


@pytest.mark.soak
@LONG
@given(manifests(), factories)
def test_fuzz_manifests_long(case: tuple[str, Any], factory: Any) -> None:
    check_manifest(*case, factory)


@pytest.mark.soak
@LONG
@given(option_schemas)
def test_fuzz_option_schemas_long(schema: Any) -> None:
    check_options_schema(schema)
