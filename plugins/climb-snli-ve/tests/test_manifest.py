"""The hook module: a schema-valid manifest with CLiMB's settings, valid option defaults, torch-free imports."""

from __future__ import annotations

import subprocess
import sys

import pytest
from jsonschema import Draft202012Validator

from climb_harness.testing import validate_manifest
from climb_snli_ve.plugin import DEFAULT_OPTIONS, LABELS, climb_tasks


def test_one_task_with_a_schema_valid_manifest():
    (component,) = climb_tasks()
    assert component.name == "snli-ve" and component.kind == "task"
    assert validate_manifest("task", dict(component.manifest)) == []
    assert validate_manifest("task", {**component.manifest, "surprise": 1}) != []


def test_manifest_carries_climbs_settings():
    m = climb_tasks()[0].manifest
    assert (m["modality"], m["images_per_example"], m["metric"]) == ("vision-language", 1, "accuracy")
    assert m["head"] == {"type": "classification", "num_labels": 3}
    assert m["random_baseline"] == pytest.approx(33.33)
    assert m["defaults"] == {"epochs": 5, "lr": 5e-5, "batch_size": 64, "low_shot": ["2048/class"]}
    assert m["splits"] == ["train", "val", "test"]
    assert set(m["data"]) == {"source", "license", "citation", "how_to_get", "layout"}
    assert "snli_ve_{train,dev,test}.jsonl" in m["data"]["layout"] and "\n" not in m["data"]["layout"]
    assert LABELS == {"entailment": 0, "contradiction": 1, "neutral": 2}


def test_option_defaults_are_valid_and_extra_options_rejected():
    schema = climb_tasks()[0].manifest["options"]
    validator = Draft202012Validator(schema)
    for key, prop in schema["properties"].items():
        assert "default" in prop and prop.get("description"), key
    assert validator.is_valid(DEFAULT_OPTIONS)
    assert DEFAULT_OPTIONS == {"data_dir": None, "images_dir": None, "max_train_examples": None,
                               "max_eval_examples": None, "max_image_pixels": 4_000_000,
                               "allow_symlinks_out": False}
    assert not validator.is_valid({**DEFAULT_OPTIONS, "datadir": "x"})
    assert not validator.is_valid({**DEFAULT_OPTIONS, "max_train_examples": 0})
    assert validator.is_valid({**DEFAULT_OPTIONS, "data_dir": "/data/snli-ve", "max_eval_examples": 10})


def test_task_module_does_not_import_torch_or_pil():
    code = ("import sys, climb_snli_ve.tasks; "
            "bad = {'torch', 'transformers', 'PIL'} & set(sys.modules); assert not bad, bad")
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_registry_builds_it_with_options(climb_registry, snli_dir):
    entry = climb_registry.get("task", "snli-ve")
    assert entry.plugin.distribution == "climb-snli-ve" and entry.problems == []
    task = climb_registry.build("task", "snli-ve", {"data_dir": str(snli_dir), "max_train_examples": 3})
    assert task.name == "snli-ve" and task.options["max_eval_examples"] is None
    assert len(task.examples("train")) == 3
