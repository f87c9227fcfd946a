"""Loading the packaged JSON schemas and turning jsonschema errors into readable problems."""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

SCHEMA_NAMES = ("task", "encoder", "algorithm", "options", "experiment", "results")


@dataclasses.dataclass(frozen=True)
class Violation:
    """One broken rule: where (a JSON path such as ``$.head.num_labels``), which rule, and why."""

    path: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} (rule: {self.rule})"


def schema_dir() -> Path:
    """The folder holding the schemas: inside the wheel, or the repository's top-level ``schemas/``."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "schemas", here.parent / "schemas"):
        if (candidate / "task.schema.json").is_file():
            return candidate
    raise FileNotFoundError(
        f"climb-harness cannot find its JSON schemas (looked in {here / 'schemas'} and "
        f"{here.parent / 'schemas'}); the installation is broken: reinstall climb-harness."
    )


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """The schema ``schemas/<name>.schema.json`` as a dict."""
    return json.loads((schema_dir() / f"{name}.schema.json").read_text(encoding="utf-8"))


@functools.cache
def _registry() -> Registry:
    resources = []
    for name in SCHEMA_NAMES:
        path = schema_dir() / f"{name}.schema.json"
        if path.is_file():
            resource = Resource.from_contents(load_schema(name))
            resources += [(f"{name}.schema.json", resource), (resource.id() or name, resource)]
    return Registry().with_resources(resources)


@functools.cache
def validator(name: str) -> jsonschema.protocols.Validator:
    schema = load_schema(name)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, registry=_registry(), format_checker=cls.FORMAT_CHECKER)


def json_path(parts: Iterable[Any]) -> str:
    """``["head", "num_labels"]`` -> ``$.head.num_labels``; list indices as ``[0]``."""
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _violations(errors: Iterable[jsonschema.ValidationError]) -> list[Violation]:
    found: list[Violation] = []
    for error in errors:
        if error.validator in ("oneOf", "anyOf") and error.context:
            # Report the alternative that came closest (fewest errors: e.g. the head whose ``type`` matched),
            # not "is not valid under any of the given schemas". Context errors' paths are already absolute.
            branches: dict[Any, list[jsonschema.ValidationError]] = {}
            for sub in error.context:
                branches.setdefault(sub.relative_schema_path[0], []).append(sub)
            found += _violations(min(branches.values(), key=len))
            continue
        found.append(Violation(json_path(error.absolute_path), str(error.validator), error.message))
    return sorted(found, key=lambda v: v.path)


def validate(name: str, instance: Any) -> list[Violation]:
    """Every violation of schema ``name`` by ``instance`` (empty when valid)."""
    return _violations(validator(name).iter_errors(instance))


@functools.cache
def _meta_validator(cls: type) -> Any:
    return cls(cls.META_SCHEMA)  # building one costs ~20 ms: once per draft, not once per component


def check_options_schema(options_schema: Mapping[str, Any]) -> list[Violation]:
    """An options schema must itself be a valid JSON schema (on top of ``options.schema.json``)."""
    cls = jsonschema.validators.validator_for(options_schema, default=jsonschema.Draft202012Validator)
    return [
        Violation(json_path(["options", *e.absolute_path]), str(e.validator), e.message)
        for e in _meta_validator(cls).iter_errors(options_schema)
    ]


def options_with_defaults(options_schema: Mapping[str, Any] | None, given: Mapping[str, Any]) -> tuple[dict[str, Any], list[Violation]]:
    """Fill defaults from an options schema into ``given`` and validate the result."""
    schema = dict(options_schema or {"type": "object", "properties": {}, "additionalProperties": False})
    schema.setdefault("additionalProperties", False)
    resolved = {key: copy.deepcopy(spec.get("default")) for key, spec in schema.get("properties", {}).items()}
    resolved.update(given)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return resolved, _violations(cls(schema).iter_errors(resolved))
