"""The manifest: schema-valid, CLiMB's settings, option defaults valid, torch-free task module."""

from __future__ import annotations

import subprocess
import sys

from climb_vcr.plugin import DEFAULT_OPTIONS, climb_tasks
from jsonschema import Draft202012Validator

from climb_harness.testing import validate_manifest


def test_manifest_is_schema_valid_and_matches_climb():
    (component,) = climb_tasks()
    m = component.manifest
    assert component.name == "vcr" and validate_manifest("task", dict(m)) == []
    assert m["head"] == {"type": "multiple-choice", "num_choices": 4}
    assert (m["modality"], m["images_per_example"], m["metric"], m["random_baseline"]) == (
        "vision-language", 1, "accuracy", 25.0)
    assert m["defaults"] == {"epochs": 10, "lr": 1e-4, "batch_size": 16, "low_shot": ["5%"]}
    assert m["splits"] == ["train", "val", "test"]
    assert {"source", "license", "citation", "how_to_get", "layout"} <= set(m["data"])


def test_option_defaults_valid_and_typos_rejected():
    schema = climb_tasks()[0].manifest["options"]
    validator = Draft202012Validator(schema)
    assert validator.is_valid(DEFAULT_OPTIONS)
    assert all("default" in p and p.get("description") for p in schema["properties"].values())
    assert not validator.is_valid({**DEFAULT_OPTIONS, "datadir": "x"})
    assert not validator.is_valid({**DEFAULT_OPTIONS, "val_fraction": 1.0})
    assert not validator.is_valid({**DEFAULT_OPTIONS, "max_eval_examples": 0})


def test_task_module_does_not_import_torch():
    code = "import sys, climb_vcr.tasks; assert 'torch' not in sys.modules, 'torch imported'"
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
