"""The hook module: six schema-valid manifests with CLiMB's settings, valid option defaults, light imports."""

from __future__ import annotations

import subprocess
import sys

import pytest
from jsonschema import Draft202012Validator

from climb_harness.testing import validate_manifest
from climb_vision_tasks.plugin import climb_tasks

NAMES = ["imagenet", "inaturalist2019", "places365", "coco-cls", "fashion-mnist", "digits"]
LABELS = {"imagenet": 1000, "inaturalist2019": 1010, "places365": 365, "coco-cls": 80, "fashion-mnist": 10, "digits": 10}
BASELINES = {"imagenet": 0.1, "inaturalist2019": 100 / 1010, "places365": 100 / 365, "coco-cls": 6.76,
             "fashion-mnist": 10.0, "digits": 10.0}


def test_six_tasks_with_schema_valid_manifests():
    components = climb_tasks()
    assert [c.name for c in components] == NAMES and {c.kind for c in components} == {"task"}
    for c in components:
        assert validate_manifest("task", dict(c.manifest)) == [], c.name
        assert validate_manifest("task", {**c.manifest, "surprise": 1}) != []


@pytest.mark.parametrize("component", climb_tasks(), ids=lambda c: c.name)
def test_manifest_carries_climbs_settings(component):
    m = component.manifest
    assert (m["modality"], m["images_per_example"]) == ("vision", 1)
    assert m["metric"] == ("micro-f1" if m["name"] == "coco-cls" else "accuracy")
    head = "multi-label" if m["name"] == "coco-cls" else "classification"
    assert m["head"] == {"type": head, "num_labels": LABELS[m["name"]]}
    assert m["random_baseline"] == pytest.approx(BASELINES[m["name"]], abs=0.005)
    assert m["defaults"] == {"epochs": 10, "lr": 4e-5, "batch_size": 32}
    assert m["splits"] == ["train", "val", "test"] and "max_text_length" not in m
    assert set(m["data"]) == {"source", "license", "citation", "how_to_get", "layout"}
    assert "\n" not in m["data"]["layout"] and "val" in m["description"]


@pytest.mark.parametrize("component", climb_tasks(), ids=lambda c: c.name)
def test_option_defaults_are_valid_and_extra_options_rejected(component):
    schema = component.manifest["options"]
    validator = Draft202012Validator(schema)
    defaults = {key: prop["default"] for key, prop in schema["properties"].items()}
    assert all(prop.get("description") for prop in schema["properties"].values())
    assert validator.is_valid(defaults)
    expected = {"max_train_examples", "max_eval_examples"} | ({"data_dir"} if component.name != "digits" else set())
    assert set(defaults) == expected and all(v is None for v in defaults.values())
    assert not validator.is_valid({**defaults, "datadir": "x"})
    assert not validator.is_valid({**defaults, "max_train_examples": 0})


def test_importing_the_task_modules_imports_nothing_heavy():
    code = ("import sys, climb_vision_tasks.plugin; "
            "bad = {'torch', 'PIL', 'numpy', 'sklearn', 'transformers'} & set(sys.modules); assert not bad, bad")
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_building_reads_nothing(make_task, tmp_path):
    for name in NAMES[:-1]:
        t = make_task(name, data_dir=str(tmp_path / "nowhere"))  # no error until examples()
        with pytest.raises(FileNotFoundError):
            t.examples("train")
        assert isinstance(t.fingerprint(), str)
    with pytest.raises(ValueError, match="valid splits: train, val, test"):
        make_task("digits").examples("dev")


def test_registry_builds_them(climb_registry, release):
    for name in NAMES:
        entry = climb_registry.get("task", name)
        assert entry.plugin.distribution == "climb-vision-tasks" and entry.problems == []
    task = climb_registry.build("task", "places365", {"data_dir": str(release("places365")), "max_train_examples": 3})
    assert task.name == "places365" and len(task.examples("train")) == 3
