"""The hook module: schema-valid manifests, heads and labels, option defaults, the registry building them.

Loading through pluggy, the entry point and a torch-free hook module are the kit's items
(test_easyvqa_conformance.py); the task module's own torch-free import is tested here.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from climb_easyvqa.labels import ANSWERS
from climb_easyvqa.plugin import DEFAULT_OPTIONS, climb_tasks
from jsonschema import Draft202012Validator

from climb_harness.testing import validate_manifest


def test_three_tasks_in_order():
    assert [c.name for c in climb_tasks()] == ["easyvqa-shape", "easyvqa-color", "easyvqa-yesno"]
    assert all(c.kind == "task" for c in climb_tasks())


@pytest.mark.parametrize("component", climb_tasks(), ids=lambda c: c.name)
def test_manifest_is_schema_valid(component):
    assert validate_manifest("task", dict(component.manifest)) == []


def test_validator_rejects_an_unknown_field():
    manifest = {**climb_tasks()[0].manifest, "surprise": 1}
    assert validate_manifest("task", manifest) != []


@pytest.mark.parametrize("component", climb_tasks(), ids=lambda c: c.name)
def test_manifest_head_and_baseline(component):
    m = component.manifest
    qtype = m["name"].removeprefix("easyvqa-")
    assert m["head"] == {"type": "classification", "num_labels": len(ANSWERS[qtype])}
    assert m["random_baseline"] == pytest.approx(100 / len(ANSWERS[qtype]))
    assert (m["modality"], m["images_per_example"], m["metric"]) == ("vision-language", 1, "accuracy")
    assert m["max_text_length"] == 40 and m["splits"] == ["train", "val", "test"]
    assert m["data"]["license"] == "MIT"


def test_label_sets():
    assert ANSWERS["shape"] == ("circle", "rectangle", "triangle")
    assert ANSWERS["yesno"] == ("no", "yes")
    assert len(ANSWERS["color"]) == 8
    all_answers = [a for answers in ANSWERS.values() for a in answers]
    assert len(all_answers) == len(set(all_answers)) == 13


def test_option_defaults_are_valid_and_extra_options_rejected():
    schema = climb_tasks()[0].manifest["options"]
    validator = Draft202012Validator(schema)
    assert validator.is_valid(DEFAULT_OPTIONS)
    for key, prop in schema["properties"].items():
        assert "default" in prop, key
        assert DEFAULT_OPTIONS[key] == prop["default"]
    assert not validator.is_valid({**DEFAULT_OPTIONS, "datadir": "x"})
    assert not validator.is_valid({**DEFAULT_OPTIONS, "val_fraction": 1.0})
    assert not validator.is_valid({**DEFAULT_OPTIONS, "max_train_examples": 0})
    assert validator.is_valid({**DEFAULT_OPTIONS, "max_train_examples": None, "data_dir": "/data/easy-vqa"})




def test_factories_resolve_to_task_classes():
    import importlib

    from climb_harness.api import Task

    for component in climb_tasks():
        module, attr = component.factory.split(":")
        assert issubclass(getattr(importlib.import_module(module), attr), Task)


def test_task_module_does_not_import_torch():
    """Beyond the kit's check of the hook module: the tasks themselves read data without torch."""
    code = (
        "import sys, climb_easyvqa.tasks; "
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'torch imported'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_core_registry_finds_and_builds_the_tasks(climb_registry):
    """End to end through the harness: discovery by entry point, validation, options, factory."""
    registry = climb_registry
    for name in ("easyvqa-shape", "easyvqa-color", "easyvqa-yesno"):
        entry = registry.get("task", name)
        assert entry.plugin.distribution == "climb-easyvqa" and entry.problems == []
    task = registry.build("task", "easyvqa-color", {"max_train_examples": 16})
    assert (
        task.name == "easyvqa-color"
        and task.options["max_eval_examples"] == DEFAULT_OPTIONS["max_eval_examples"]
    )
    assert len(task.examples("train")) == 16
