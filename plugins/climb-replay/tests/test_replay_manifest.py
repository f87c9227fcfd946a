"""The hook module: four schema-valid manifests with defaults, the registry building them.

The entry point and a torch-free import are the kit's items (test_replay_conformance.py).
"""

from __future__ import annotations

import importlib

import pytest
from climb_replay.plugin import climb_algorithms, default_options

from climb_harness.api import Algorithm
from climb_harness.testing import check_options_schema, options_with_defaults, validate_manifest

NAMES = ["experience-replay", "er-reservoir", "er-ring", "agem"]
DEFAULTS = {
    "experience-replay": {"memory_percentage": 0.01, "memory_size": None, "replay_frequency": 100, "replay_batch_size": None},
    "er-reservoir": {"memory_size": 1000, "replay_frequency": 100, "replay_batch_size": None, "replay_from": "past"},
    "er-ring": {"memories_per_task": 250, "memory_size": None, "replay_batch_size": None},
    "agem": {"memories_per_task": 250, "memory_size": None, "sample_size": 256, "project_update": True},
}


def test_four_replay_algorithms():
    assert [c.name for c in climb_algorithms()] == NAMES
    assert all(c.kind == "algorithm" and c.manifest["family"] == "replay" for c in climb_algorithms())


@pytest.mark.parametrize("component", climb_algorithms(), ids=lambda c: c.name)
def test_manifest_is_schema_valid_and_factory_resolves(component):
    manifest = dict(component.manifest)
    assert validate_manifest("algorithm", manifest) == []
    assert check_options_schema(manifest["options"]) == []
    assert manifest["paper"] and manifest["description"]
    module, attr = component.factory.split(":")
    assert issubclass(getattr(importlib.import_module(module), attr), Algorithm)
    assert validate_manifest("algorithm", {**manifest, "surprise": 1}) != []


@pytest.mark.parametrize("name", NAMES)
def test_option_defaults_and_unknown_options(name):
    schema = {c.name: c for c in climb_algorithms()}[name].manifest["options"]
    assert schema["additionalProperties"] is False
    assert default_options(name) == DEFAULTS[name]
    resolved, problems = options_with_defaults(schema, {})
    assert resolved == DEFAULTS[name] and problems == []
    assert options_with_defaults(schema, {"memory": 5})[1] != []
    first_int = next(k for k, v in schema["properties"].items() if v["type"] == "integer")
    assert options_with_defaults(schema, {first_int: 0})[1] != []


@pytest.mark.parametrize("name", NAMES)
def test_every_method_offers_one_total_memory_budget(name):
    """memory_size: total examples stored over the whole sequence, the same option name in every replay method."""
    prop = {c.name: c for c in climb_algorithms()}[name].manifest["options"]["properties"]["memory_size"]
    assert "integer" in prop["type"] and prop["minimum"] == 1
    assert "total" in prop["description"].lower() or "Total" in prop["description"]




def test_core_registry_finds_and_builds_them(climb_registry):
    registry = climb_registry
    for name in NAMES:
        entry = registry.get("algorithm", name)
        assert entry.plugin.distribution == "climb-replay" and entry.problems == []
    agem = registry.build("algorithm", "agem", {"sample_size": 7})
    assert agem.name == "agem" and agem.sample_size == 7 and agem.memory.capacity == 250
