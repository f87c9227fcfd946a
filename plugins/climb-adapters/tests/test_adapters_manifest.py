"""The hook module: the manifest (what it requires of an encoder), option defaults, a build with options.

The kit's items (test_adapters_conformance.py) check that the manifest validates, the entry point
resolves and the hook module imports no torch (and so not the adapters library, which needs it).
"""

from __future__ import annotations

from climb_adapters.plugin import DEFAULT_OPTIONS, MANIFEST, climb_algorithms
from climb_harness.testing import check_options_schema, options_with_defaults, validate_manifest


def test_manifest_is_schema_valid():
    [component] = climb_algorithms()
    assert component.name == "adapters" and component.kind == "algorithm"
    manifest = dict(component.manifest)
    assert validate_manifest("algorithm", manifest) == [] and check_options_schema(manifest["options"]) == []
    assert manifest["family"] == "parameter-isolation" and "CLiMB" in manifest["paper"]
    assert validate_manifest("algorithm", {**manifest, "surprise": 1}) != []
    assert manifest["requires"] == ["hf-transformer"]  # the kit runs it on an encoder providing that


def test_options_defaults_follow_climb():
    assert DEFAULT_OPTIONS == {"config": "houlsby", "reduction_factor": 16, "lora_r": 8, "lora_alpha": 16}
    schema = MANIFEST["options"]
    assert options_with_defaults(schema, {})[1] == []
    assert options_with_defaults(schema, {"config": "compacter"})[1] != []
    assert options_with_defaults(schema, {"reduction_factor": 0})[1] != []
    assert options_with_defaults(schema, {"rank": 4})[1] != []


def test_registry_builds_it_with_options(climb_registry):
    registry = climb_registry
    assert registry.get("algorithm", "adapters").plugin.distribution == "climb-adapters"
    built = registry.build("algorithm", "adapters", {"config": "lora", "lora_r": 4})
    assert type(built).__name__ == "TaskAdapters" and built.options["lora_r"] == 4 and built.name == "adapters"
