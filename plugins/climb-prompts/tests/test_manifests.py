"""The hook module: three schema-valid manifests, what each requires of an encoder, the papers' defaults,
and descriptions that name the setting's differences (what `climb show` prints)."""

from __future__ import annotations

import pytest

from climb_harness.testing import check_options_schema, options_with_defaults, validate_manifest
from climb_prompts.plugin import climb_algorithms


def _manifests() -> dict[str, dict]:
    return {component.name: dict(component.manifest) for component in climb_algorithms()}


def test_manifests_are_schema_valid_and_require_a_prompting_capability():
    manifests = _manifests()
    assert sorted(manifests) == ["coda-prompt", "dualprompt", "l2p"]
    for manifest in manifests.values():
        assert validate_manifest("algorithm", manifest) == []
        assert check_options_schema(manifest["options"]) == []
        assert options_with_defaults(manifest["options"], {})[1] == []
        assert "task-incremental" in manifest["description"] and "frozen" in manifest["description"]
        assert "Official code" in manifest["paper"]
    assert manifests["l2p"]["requires"] == ["prompt-tuning"]
    assert manifests["dualprompt"]["requires"] == manifests["coda-prompt"]["requires"] == ["prefix-tuning"]
    assert "Wang" in manifests["l2p"]["paper"] and "CVPR 2022" in manifests["l2p"]["paper"]
    assert "ECCV 2022" in manifests["dualprompt"]["paper"] and "Smith" in manifests["coda-prompt"]["paper"]


@pytest.mark.parametrize("name, bad", [
    ("l2p", {"top_n": 0}), ("l2p", {"pool": 3}), ("dualprompt", {"g_layers": []}),
    ("dualprompt", {"e_layers": [-1]}), ("coda-prompt", {"prompt_length": 5}),
    ("coda-prompt", {"ortho_weight": -1}),
])
def test_bad_options_are_refused_by_the_schema(name, bad):
    assert options_with_defaults(_manifests()[name]["options"], bad)[1] != []


def test_the_registry_builds_each_with_options(climb_registry):
    built = climb_registry.build("algorithm", "dualprompt", {"e_layers": [1], "g_layers": [0]})
    assert type(built).__name__ == "DualPrompt" and built.options["e_layers"] == [1]
    assert climb_registry.get("algorithm", "l2p").plugin.distribution == "climb-prompts"
