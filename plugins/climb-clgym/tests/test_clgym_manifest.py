"""The hook module: schema-valid manifests, option defaults, the registry building them.

The entry point and a torch-free import are the kit's items (test_clgym_conformance.py).
"""

from __future__ import annotations

import pytest
from climb_clgym.plugin import climb_algorithms, defaults
from jsonschema import Draft202012Validator

from climb_harness.testing import check_options_schema, validate_manifest

NAMES = ["stable-sgd", "ogd", "mc-sgd"]


def test_three_algorithms():
    assert [c.name for c in climb_algorithms()] == NAMES
    assert all(c.kind == "algorithm" for c in climb_algorithms())


@pytest.mark.parametrize("component", climb_algorithms(), ids=lambda c: c.name)
def test_manifest_is_schema_valid(component):
    manifest = dict(component.manifest)
    assert validate_manifest("algorithm", manifest) == []
    assert check_options_schema(manifest["options"]) == []
    assert validate_manifest("algorithm", {**manifest, "surprise": 1}) != []
    options = manifest["options"]
    assert options["additionalProperties"] is False
    validator = Draft202012Validator(options)
    assert validator.is_valid(defaults(manifest))
    assert not validator.is_valid({**defaults(manifest), "typo_option": 1})
    assert manifest["paper"] and manifest["description"]


def test_paper_defaults():
    stable, ogd, mcsgd = (defaults(dict(c.manifest)) for c in climb_algorithms())
    assert stable == {"lr": 0.01, "lr_decay": 0.8, "min_lr": 5e-5, "momentum": 0.0, "batch_size": 10, "dropout": 0.25}
    assert ogd["memories_per_task"] == 200 and ogd["project_update"] is True
    assert ogd["memory_size"] is None and mcsgd["memory_size"] is None
    assert (mcsgd["alpha"], mcsgd["line_samples"], mcsgd["batch_size"]) == (0.5, 5, 32)


@pytest.mark.parametrize("name", ["ogd", "mc-sgd"])
def test_memory_methods_offer_one_total_budget(name):
    prop = {c.name: c for c in climb_algorithms()}[name].manifest["options"]["properties"]["memory_size"]
    assert prop["type"] == ["integer", "null"] and prop["minimum"] == 1 and prop["default"] is None
    assert prop["description"].startswith("Total training examples stored over the whole task sequence")




def test_core_registry_builds_them(climb_registry):
    registry = climb_registry
    for name in NAMES:
        entry = registry.get("algorithm", name)
        assert entry.problems == [] and entry.plugin.distribution == "climb-clgym"
    assert registry.build("algorithm", "ogd", {"memories_per_task": 3}).options["memories_per_task"] == 3
    assert registry.build("algorithm", "stable-sgd", {}).options["lr_decay"] == 0.8
