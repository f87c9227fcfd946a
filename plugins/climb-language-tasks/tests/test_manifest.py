"""The hook module: six schema-valid manifests with CLiMB's settings, valid option defaults, torch-free imports."""

from __future__ import annotations

import subprocess
import sys

import pytest
from jsonschema import Draft202012Validator

from climb_harness.testing import validate_manifest
from climb_language_tasks.plugin import climb_tasks

EXPECTED = {  # name: (head, max_text_length, random_baseline)
    "imdb": ({"type": "classification", "num_labels": 2}, 160, 50.0),
    "sst2": ({"type": "classification", "num_labels": 2}, 40, 50.0),
    "piqa": ({"type": "multiple-choice", "num_choices": 2}, 80, 50.0),
    "hellaswag": ({"type": "multiple-choice", "num_choices": 4}, 120, 25.0),
    "commonsenseqa": ({"type": "multiple-choice", "num_choices": 5}, 80, 20.0),
    "wordnet-supersense": ({"type": "classification", "num_labels": 26}, 64, 3.85),
}


def test_six_tasks_with_schema_valid_manifests():
    components = climb_tasks()
    assert [c.name for c in components] == list(EXPECTED)
    for c in components:
        assert c.kind == "task" and validate_manifest("task", dict(c.manifest)) == [], c.name
        assert validate_manifest("task", {**c.manifest, "surprise": 1}) != []


@pytest.mark.parametrize("name", list(EXPECTED))
def test_manifest_carries_the_settings(name):
    m = {c.name: c.manifest for c in climb_tasks()}[name]
    head, max_len, baseline = EXPECTED[name]
    assert (m["modality"], m["images_per_example"], m["metric"]) == ("language", 0, "accuracy")
    assert m["head"] == head and m["max_text_length"] == max_len
    assert m["random_baseline"] == pytest.approx(baseline)
    assert m["defaults"] == {"epochs": 10, "lr": 4e-5, "batch_size": 32}
    assert m["splits"] == ["train", "val", "test"]
    assert set(m["data"]) == {"source", "license", "citation", "how_to_get", "layout"}
    assert all(m["data"][k].strip() for k in m["data"]) and "\n" not in m["data"]["layout"]


@pytest.mark.parametrize("name", list(EXPECTED))
def test_option_defaults_are_valid_and_typos_rejected(name):
    schema = {c.name: c.manifest for c in climb_tasks()}[name]["options"]
    validator = Draft202012Validator(schema)
    defaults = {key: prop["default"] for key, prop in schema["properties"].items()}
    assert defaults == {"data_dir": None, "max_train_examples": None, "max_eval_examples": None}
    assert all(prop.get("description") for prop in schema["properties"].values())
    assert validator.is_valid(defaults)
    assert not validator.is_valid({**defaults, "datadir": "x"})
    assert not validator.is_valid({**defaults, "max_train_examples": 0})
    assert validator.is_valid({**defaults, "data_dir": "/data/x", "max_eval_examples": 10})


def test_modules_do_not_import_torch():
    modules = ", ".join(f"climb_language_tasks.{m}" for m in
                        ("plugin", "imdb", "sst2", "piqa", "hellaswag", "commonsenseqa", "wordnet_supersense"))
    code = f"import sys, {modules}; bad = {{'torch', 'transformers', 'PIL', 'numpy'}} & set(sys.modules); assert not bad, bad"
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_registry_builds_them_with_options(climb_registry, sample_root):
    for name in EXPECTED:
        entry = climb_registry.get("task", name)
        assert entry.plugin.distribution == "climb-language-tasks" and entry.problems == [], name
        task = climb_registry.build("task", name, {"data_dir": str(sample_root / name), "max_train_examples": 2})
        assert task.name == name and task.options["max_eval_examples"] is None
        assert len(task.examples("train")) == 2
