"""The hook module: a schema-valid manifest, its option defaults, the registry building it.

The entry point and a torch-free import are the kit's items (test_bcl_conformance.py).
"""

from __future__ import annotations

from climb_bcl.plugin import DEFAULT_OPTIONS, OPTIONS_SCHEMA, climb_algorithms
from jsonschema import Draft202012Validator

from climb_harness.testing import check_options_schema, validate_manifest


def test_manifest_is_schema_valid():
    (component,) = climb_algorithms()
    assert component.kind == "algorithm" and component.name == "bcl"
    assert validate_manifest("algorithm", dict(component.manifest)) == []
    assert check_options_schema(OPTIONS_SCHEMA) == []
    assert validate_manifest("algorithm", {**component.manifest, "surprise": 1}) != []


def test_every_option_has_a_default_and_extras_are_rejected():
    validator = Draft202012Validator(OPTIONS_SCHEMA)
    assert OPTIONS_SCHEMA["additionalProperties"] is False
    assert validator.is_valid(DEFAULT_OPTIONS)
    # the BCL README's example values, except the inner lr (documented choice)
    expected = {
        "n_memories": 65,
        "memory_strength": 100.0,
        "temperature": 5.0,
        "beta": 0.3,
        "inner_steps": 2,
        "n_meta": 2,
        "n_val": 0.2,
        "replay_batch_size": 64,
    }
    assert {k: DEFAULT_OPTIONS[k] for k in expected} == expected
    assert not validator.is_valid({**DEFAULT_OPTIONS, "adapt": True})  # test-time adaptation is not offered
    assert not validator.is_valid({**DEFAULT_OPTIONS, "n_val": 1.0})
    assert not validator.is_valid({**DEFAULT_OPTIONS, "teacher": "other"})




def test_core_registry_builds_it(climb_registry):
    registry = climb_registry
    entry = registry.get("algorithm", "bcl")
    assert entry.problems == [] and entry.plugin.distribution == "climb-bcl"
    algorithm = registry.build("algorithm", "bcl", {"n_memories": 10})
    assert algorithm.options["n_memories"] == 10 and algorithm.options["beta"] == DEFAULT_OPTIONS["beta"]
