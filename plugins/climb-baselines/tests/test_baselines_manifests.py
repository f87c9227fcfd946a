"""The hook module: the five manifests, their options and defaults, and the registry building each.

The entry point and a torch-free import are the kit's items (test_baselines_conformance.py).
"""

from __future__ import annotations

import pytest

from climb_baselines.plugin import FACTORIES, climb_algorithms
from climb_harness.testing import check_options_schema, options_with_defaults, validate_manifest

NAMES = ["sequential-ft", "direct-ft", "frozen-encoder", "frozen-bottom-k", "multitask"]


def test_five_algorithms():
    assert [c.name for c in climb_algorithms()] == NAMES
    assert all(c.kind == "algorithm" for c in climb_algorithms())


@pytest.mark.parametrize("component", climb_algorithms(), ids=lambda c: c.name)
def test_manifest_is_schema_valid(component):
    manifest = dict(component.manifest)
    assert validate_manifest("algorithm", manifest) == []
    assert check_options_schema(manifest["options"]) == []
    assert manifest["options"]["additionalProperties"] is False
    assert all("default" in spec for spec in manifest["options"]["properties"].values())
    assert ("CLiMB" in manifest["paper"]) or ("CL-Gym" in manifest["paper"])
    assert validate_manifest("algorithm", {**manifest, "surprise": 1}) != []


def test_families_and_defaults():
    manifests = {c.name: c.manifest for c in climb_algorithms()}
    assert manifests["multitask"]["family"] == "upper-bound"
    assert {manifests[n]["family"] for n in NAMES if n != "multitask"} == {"baseline"}
    assert manifests["frozen-bottom-k"]["options"]["properties"]["k"]["default"] == 9  # CLiMB: 9 of 12
    assert options_with_defaults(manifests["frozen-bottom-k"]["options"], {})[0] == {"k": 9}
    assert options_with_defaults(manifests["frozen-bottom-k"]["options"], {"k": -1})[1] != []
    assert options_with_defaults(manifests["multitask"]["options"], {"mode": "joint"})[1] != []
    assert options_with_defaults(manifests["direct-ft"]["options"], {"k": 1})[1] != []  # unknown option


def test_registry_builds_each(climb_registry):
    registry = climb_registry
    for name in NAMES:
        entry = registry.get("algorithm", name)
        assert entry.problems == [] and entry.plugin.distribution == "climb-baselines"
        built = registry.build("algorithm", name, {})
        assert type(built).__name__ == FACTORIES[name].split(":")[1] and built.name == name
    assert registry.build("algorithm", "frozen-bottom-k", {"k": 3}).options == {"k": 3}
