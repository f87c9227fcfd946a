"""The hook module: schema-valid manifests, pluggy registration, entry point, no torch at import."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from climb_easyvqa.labels import ANSWERS
from climb_easyvqa.plugin import DEFAULT_OPTIONS, climb_tasks
from jsonschema import Draft202012Validator
from referencing import Registry, Resource


def _schemas_dir() -> Path:
    import climb_harness

    candidates = [
        Path(__file__).resolve().parents[3] / "schemas",
        Path(climb_harness.__file__).parent / "schemas",
    ]
    for candidate in candidates:
        if (candidate / "task.schema.json").is_file():
            return candidate
    pytest.fail(f"task.schema.json not found in {candidates}")


@pytest.fixture(scope="module")
def task_validator() -> Draft202012Validator:
    schemas = {
        name: json.loads((_schemas_dir() / name).read_text())
        for name in ("task.schema.json", "options.schema.json")
    }
    registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in schemas.values())
    return Draft202012Validator(schemas["task.schema.json"], registry=registry)


def test_three_tasks_in_order():
    assert [c.name for c in climb_tasks()] == ["easyvqa-shape", "easyvqa-color", "easyvqa-yesno"]
    assert all(c.kind == "task" for c in climb_tasks())


@pytest.mark.parametrize("component", climb_tasks(), ids=lambda c: c.name)
def test_manifest_is_schema_valid(component, task_validator):
    errors = [e.message for e in task_validator.iter_errors(dict(component.manifest))]
    assert errors == []


def test_validator_rejects_an_unknown_field(task_validator):
    manifest = {**climb_tasks()[0].manifest, "surprise": 1}
    assert not task_validator.is_valid(manifest)


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


def test_registers_against_the_harness_hookspecs():
    import pluggy
    from climb_easyvqa import plugin

    from climb_harness import hookspecs

    pm = pluggy.PluginManager("climb")
    pm.add_hookspecs(hookspecs)
    pm.register(plugin)
    pm.check_pending()
    names = [c.name for components in pm.hook.climb_tasks() for c in components]
    assert names == ["easyvqa-shape", "easyvqa-color", "easyvqa-yesno"]


def test_entry_point_names_the_hook_module():
    eps = [ep for ep in metadata.entry_points(group="climb.plugins") if ep.name == "easyvqa"]
    assert [ep.value for ep in eps] == ["climb_easyvqa.plugin"]
    assert eps[0].dist.name == "climb-easyvqa"


def test_factories_resolve_to_task_classes():
    import importlib

    from climb_harness.api import Task

    for component in climb_tasks():
        module, attr = component.factory.split(":")
        assert issubclass(getattr(importlib.import_module(module), attr), Task)


def test_import_does_not_import_torch():
    code = (
        "import sys, climb_easyvqa.plugin, climb_easyvqa.tasks; "
        "climb_easyvqa.plugin.climb_tasks(); "
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'torch imported'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_core_registry_finds_and_builds_the_tasks():
    """End to end through the harness: discovery by entry point, validation, options, factory."""
    from climb_harness.registry import Registry

    registry = Registry()
    for name in ("easyvqa-shape", "easyvqa-color", "easyvqa-yesno"):
        entry = registry.get("task", name)
        assert entry.plugin.distribution == "climb-easyvqa" and entry.problems == []
    task = registry.build("task", "easyvqa-color", {"max_train_examples": 16})
    assert (
        task.name == "easyvqa-color"
        and task.options["max_eval_examples"] == DEFAULT_OPTIONS["max_eval_examples"]
    )
    assert len(task.examples("train")) == 16
