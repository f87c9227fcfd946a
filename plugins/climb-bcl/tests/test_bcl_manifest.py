"""The hook module: a schema-valid manifest, its option defaults, the entry point, no torch at import."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

from climb_bcl.plugin import DEFAULT_OPTIONS, OPTIONS_SCHEMA, climb_algorithms
from jsonschema import Draft202012Validator

from climb_harness.schemas import check_options_schema, validate


def test_manifest_is_schema_valid():
    (component,) = climb_algorithms()
    assert component.kind == "algorithm" and component.name == "bcl"
    assert validate("algorithm", dict(component.manifest)) == []
    assert check_options_schema(OPTIONS_SCHEMA) == []
    assert validate("algorithm", {**component.manifest, "surprise": 1}) != []


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


def test_entry_point_names_the_hook_module():
    eps = [ep for ep in metadata.entry_points(group="climb.plugins") if ep.name == "bcl"]
    assert [ep.value for ep in eps] == ["climb_bcl.plugin"]
    assert eps[0].dist.name == "climb-bcl"


def test_hook_module_does_not_import_torch():
    code = "import sys, climb_bcl.plugin as p; p.climb_algorithms(); assert 'torch' not in sys.modules, 'torch imported'"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr


def test_core_registry_builds_it():
    from climb_harness.registry import Registry

    registry = Registry()
    entry = registry.get("algorithm", "bcl")
    assert entry.problems == [] and entry.plugin.distribution == "climb-bcl"
    algorithm = registry.build("algorithm", "bcl", {"n_memories": 10})
    assert algorithm.options["n_memories"] == 10 and algorithm.options["beta"] == DEFAULT_OPTIONS["beta"]
