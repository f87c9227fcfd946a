"""The hook module: a schema-valid manifest, option defaults, entry point, nothing heavy imported."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

from climb_adapters.plugin import DEFAULT_OPTIONS, MANIFEST, climb_algorithms
from climb_harness.schemas import check_options_schema, options_with_defaults, validate


def test_manifest_is_schema_valid():
    [component] = climb_algorithms()
    assert component.name == "adapters" and component.kind == "algorithm"
    manifest = dict(component.manifest)
    assert validate("algorithm", manifest) == [] and check_options_schema(manifest["options"]) == []
    assert manifest["family"] == "parameter-isolation" and "CLiMB" in manifest["paper"]
    assert validate("algorithm", {**manifest, "surprise": 1}) != []


def test_options_defaults_follow_climb():
    assert DEFAULT_OPTIONS == {"config": "houlsby", "reduction_factor": 16, "lora_r": 8, "lora_alpha": 16}
    schema = MANIFEST["options"]
    assert options_with_defaults(schema, {})[1] == []
    assert options_with_defaults(schema, {"config": "compacter"})[1] != []
    assert options_with_defaults(schema, {"reduction_factor": 0})[1] != []
    assert options_with_defaults(schema, {"rank": 4})[1] != []


def test_entry_point_and_registry_build():
    from climb_harness.registry import Registry

    eps = [ep for ep in metadata.entry_points(group="climb.plugins") if ep.name == "adapters"]
    assert [ep.value for ep in eps] == ["climb_adapters.plugin"] and eps[0].dist.name == "climb-adapters"
    registry = Registry()
    assert registry.get("algorithm", "adapters").problems == []
    built = registry.build("algorithm", "adapters", {"config": "lora", "lora_r": 4})
    assert type(built).__name__ == "TaskAdapters" and built.options["lora_r"] == 4 and built.name == "adapters"


def test_import_does_not_import_torch_or_adapters():
    code = (
        "import sys, climb_adapters.plugin as p; p.climb_algorithms(); "
        "assert 'torch' not in sys.modules and 'adapters' not in sys.modules, 'heavy import'"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
