"""The packaged JSON schemas, and the helpers that turn their errors into readable problems."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import climb_harness
from climb_harness.core import schemas
from climb_harness.core.schemas import (
    Violation,
    check_options_schema,
    json_path,
    options_with_defaults,
    schema_dir,
    validate,
)

REPO_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
SCHEMA_FILES = sorted(REPO_SCHEMAS.glob("*.json"))
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


# --------------------------------------------------------------------------- the files themselves
def test_schema_files_exist():
    names = {p.name for p in SCHEMA_FILES}
    assert {
        "task.schema.json",
        "encoder.schema.json",
        "algorithm.schema.json",
        "options.schema.json",
    } <= names


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=[p.name for p in SCHEMA_FILES])
def test_every_schema_is_a_valid_draft_2020_12_schema(path):
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema.get("$schema") == DRAFT_2020_12
    jsonschema.Draft202012Validator.check_schema(schema)
    assert jsonschema.validators.validator_for(schema) is jsonschema.Draft202012Validator
    assert schema.get("$id", "").endswith("/" + path.name), (
        "the $id names the file, so $refs between schemas resolve"
    )


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=[p.name for p in SCHEMA_FILES])
def test_every_ref_resolves(path):
    schema = json.loads(path.read_text(encoding="utf-8"))
    resolver = schemas._registry().resolver(base_uri=schema["$id"])
    if path.name in ("task.schema.json", "encoder.schema.json", "algorithm.schema.json"):
        assert "options.schema.json" in _refs(schema)
    for ref in _refs(schema):
        assert resolver.lookup(ref).contents, f"{path.name}: $ref {ref!r} does not resolve"


def test_schema_dir_finds_the_repository_schemas():
    found = schema_dir()
    assert found.resolve() == REPO_SCHEMAS
    for path in SCHEMA_FILES:
        name = path.name.removesuffix(".schema.json")
        assert schemas.load_schema(name) == json.loads(path.read_text(encoding="utf-8"))


def test_schema_dir_finds_the_schemas_inside_an_installed_package(tmp_path):
    """In a wheel the schemas live in ``climb_harness/schemas`` (hatch force-include); no repository beside it."""
    package = tmp_path / "site" / "climb_harness"
    shutil.copytree(
        Path(climb_harness.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(REPO_SCHEMAS, package / "schemas")
    code = "import climb_harness.core.schemas as s; print(s.__file__); print(s.schema_dir()); print(s.validate('algorithm', {}) != [])"
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "site"), HF_HUB_OFFLINE="1", PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    module_file, found, validated = proc.stdout.split()
    assert Path(module_file).parent.parent == package
    assert Path(found) == package / "schemas"
    assert validated == "True"


# --------------------------------------------------------------------------- what the schemas accept
VALID = {
    "task": {
        "name": "vqa-like",
        "kind": "task",
        "api_version": "1.0",
        "summary": "s",
        "modality": "vision-language",
        "images_per_example": 1,
        "head": {"type": "soft-score", "num_labels": 3129},
        "metric": "vqa-score",
        "random_baseline": 0.0,
        "splits": ["train", "val", "test"],
        "defaults": {"epochs": 2, "lr": 1e-4, "batch_size": 8},
        "data": {"source": "x", "license": "y", "citation": "z", "how_to_get": "w"},
        "options": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"n": {"type": "integer", "default": 1}},
        },
    },
    "encoder": {
        "name": "vilt",
        "kind": "encoder",
        "api_version": "1.0",
        "summary": "s",
        "modalities": ["vision-language", "language"],
        "max_images_per_example": 2,
        "options": {"type": "object", "properties": {}},
    },
    "algorithm": {
        "name": "ewc",
        "kind": "algorithm",
        "api_version": "1.0",
        "summary": "s",
        "family": "regularization",
        "paper": "Kirkpatrick et al. 2017",
        "options": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"lambda": {"type": "number", "default": 100}},
        },
    },
}


@pytest.mark.parametrize("kind", sorted(VALID))
def test_a_full_manifest_is_valid(kind):
    assert validate(kind, VALID[kind]) == []


def test_a_multiple_choice_head_is_valid():
    manifest = {**VALID["task"], "head": {"type": "multiple-choice", "num_choices": 4}}
    assert validate("task", manifest) == []


@pytest.mark.parametrize("kind", sorted(VALID))
def test_unknown_fields_are_errors(kind):
    problems = validate(kind, {**VALID[kind], "colour": "red"})
    assert [(p.path, p.rule) for p in problems] == [("$", "additionalProperties")]
    assert "'colour' was unexpected" in problems[0].message


@pytest.mark.parametrize("kind", sorted(VALID))
def test_kind_must_match_the_schema(kind):
    other = "task" if kind != "task" else "encoder"
    problems = validate(kind, {**VALID[kind], "kind": other})
    assert ("$.kind", "const") in [(p.path, p.rule) for p in problems]


@pytest.mark.parametrize("name", ["Upper", "-lead", "with space", ""])
def test_names_are_lower_case_identifiers(name):
    problems = validate("algorithm", {**VALID["algorithm"], "name": name})
    assert [(p.path, p.rule) for p in problems] == [("$.name", "pattern")]


def test_nested_wrong_type_has_a_json_path():
    manifest = {**VALID["task"], "defaults": {"epochs": "two"}}
    assert [(p.path, p.rule) for p in validate("task", manifest)] == [("$.defaults.epochs", "type")]
    manifest = {**VALID["encoder"], "modalities": ["vision", "smell"]}
    assert [(p.path, p.rule) for p in validate("encoder", manifest)] == [("$.modalities[1]", "enum")]


def test_wrong_type_inside_the_head_is_reported_where_it_is():
    """``head`` is a oneOf: report the broken field of the alternative its ``type`` picks, at its own path."""
    manifest = {**VALID["task"], "head": {"type": "classification", "num_labels": "ten"}}
    problems = validate("task", manifest)
    assert [(p.path, p.rule) for p in problems] == [("$.head.num_labels", "type")], [str(p) for p in problems]
    assert str(problems[0]) == "$.head.num_labels: 'ten' is not of type 'integer' (rule: type)"


def test_options_schema_requires_a_default_for_every_property():
    options = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"a": {"default": 1}, "b": {"type": "string"}},
    }
    problems = validate("options", options)
    assert [(p.path, p.rule) for p in problems] == [("$.properties.b", "required")]
    problems = validate("algorithm", {**VALID["algorithm"], "options": options})
    assert [(p.path, p.rule) for p in problems] == [("$.options.properties.b", "required")]


def test_options_schema_must_be_closed_and_an_object():
    problems = validate("options", {"type": "object", "properties": {}, "additionalProperties": True})
    assert [(p.path, p.rule) for p in problems] == [("$.additionalProperties", "const")]
    problems = validate("options", {"type": "array", "properties": {}})
    assert [(p.path, p.rule) for p in problems] == [("$.type", "const")]
    problems = validate("options", {"type": "object"})
    assert [(p.path, p.rule) for p in problems] == [("$", "required")]


# --------------------------------------------------------------------------- helpers
@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ([], "$"),
        (["head", "num_labels"], "$.head.num_labels"),
        (["modalities", 1], "$.modalities[1]"),
        ([0, "a"], "$[0].a"),
    ],
)
def test_json_path(parts, expected):
    assert json_path(parts) == expected


def test_violation_reads_as_path_message_rule():
    assert str(Violation("$.head.num_labels", "minimum", "0 is less than the minimum of 1")) == (
        "$.head.num_labels: 0 is less than the minimum of 1 (rule: minimum)"
    )


def test_check_options_schema_catches_an_invalid_json_schema():
    assert check_options_schema(VALID["task"]["options"]) == []
    problems = check_options_schema({"type": "object", "properties": {"n": {"type": "banana", "default": 1}}})
    assert problems and all(p.path.startswith("$.options.properties.n") for p in problems)
    assert any("banana" in p.message for p in problems)


def test_options_with_defaults():
    options = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "n": {"type": "integer", "minimum": 1, "default": 5},
            "path": {"type": ["string", "null"], "default": None},
        },
    }
    assert options_with_defaults(options, {}) == ({"n": 5, "path": None}, [])
    assert options_with_defaults(options, {"n": 2}) == ({"n": 2, "path": None}, [])
    resolved, problems = options_with_defaults(options, {"n": 0, "colour": "red"})
    assert resolved == {"n": 0, "path": None, "colour": "red"}
    assert sorted((p.path, p.rule) for p in problems) == [("$", "additionalProperties"), ("$.n", "minimum")]


def test_options_with_defaults_without_a_schema_accepts_nothing():
    assert options_with_defaults(None, {}) == ({}, [])
    _, problems = options_with_defaults(None, {"x": 1})
    assert [(p.path, p.rule) for p in problems] == [("$", "additionalProperties")]


def test_options_without_additional_properties_are_still_closed():
    """A component that forgets ``additionalProperties: false`` still rejects a misspelled option."""
    _, problems = options_with_defaults({"type": "object", "properties": {"n": {"default": 1}}}, {"m": 2})
    assert [(p.path, p.rule) for p in problems] == [("$", "additionalProperties")]


def test_options_defaults_are_copies():
    options = {"type": "object", "properties": {"layers": {"type": "array", "default": [1, 2]}}}
    resolved, _ = options_with_defaults(options, {})
    resolved["layers"].append(3)
    assert options["properties"]["layers"]["default"] == [1, 2]
