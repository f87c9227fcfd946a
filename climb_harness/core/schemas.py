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

from climb_harness.api.errors import shorten

SCHEMA_NAMES = ("task", "encoder", "algorithm", "logger", "options", "experiment", "results", "transfer")


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
    here = Path(__file__).resolve().parent.parent  # the climb_harness package
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
            found += _violations(min(branches.values(), key=len))  # type: ignore[arg-type]
            continue
        found.append(Violation(shorten(json_path(error.absolute_path), 200), str(error.validator), shorten(error.message, 300, tail=60)))
    return sorted(found, key=lambda v: v.path)


def validate(name: str, instance: Any) -> list[Violation]:
    """Every violation of schema ``name`` by ``instance`` (empty when valid)."""
    return _violations(validator(name).iter_errors(instance))


@functools.cache
def _meta_validator(cls: Any) -> Any:
    # building one costs ~20 ms: once per draft, not once per component. The format checker makes
    # the meta-schema's ``"format": "regex"`` reject patterns that do not compile.
    return cls(cls.META_SCHEMA, format_checker=cls.FORMAT_CHECKER)


_KNOWN_DRAFTS = {uri.rstrip("#") for uri in jsonschema.validators._META_SCHEMAS}  # type: ignore[attr-defined]  # noqa: SLF001


def _options_validator_class(options_schema: Mapping[str, Any]) -> tuple[type | None, Violation | None]:
    """The validator class an options schema asks for with ``$schema`` (default: draft 2020-12)."""
    declared = options_schema.get("$schema")
    if declared is None:
        return jsonschema.Draft202012Validator, None
    if not isinstance(declared, str) or declared.rstrip("#") not in _KNOWN_DRAFTS:
        return None, Violation(
            "$.options.$schema",
            "known draft",
            f"$schema {shorten(repr(declared), 80)} names no JSON Schema draft this harness knows; "
            "omit it (draft 2020-12 is used) or give a draft URI such as https://json-schema.org/draft/2020-12/schema",
        )
    return jsonschema.validators.validator_for(options_schema), None


def check_options_schema(options_schema: Mapping[str, Any]) -> list[Violation]:
    r"""Everything wrong with an options schema that ``options.schema.json`` cannot see.

    The schema must be a valid JSON schema of its draft (regexes compile), its ``required`` must
    name declared options, its ``$ref``\s must resolve (nothing is fetched), and the defaults must
    satisfy the schema itself: otherwise a run with no options at all would fail, blaming the user.
    """
    cls, problem = _options_validator_class(options_schema)
    if problem is not None:
        return [problem]
    problems = [
        Violation(shorten(json_path(["options", *e.absolute_path]), 200), str(e.validator), shorten(e.message))
        for e in _meta_validator(cls).iter_errors(options_schema)
    ]
    if problems:
        return problems
    declared = options_schema.get("properties", {})
    for name in options_schema.get("required", []):
        if name not in declared:
            problems.append(Violation("$.options.required", "declared option", f"required names {shorten(repr(name), 80)}, which is not among the declared options"))
    try:
        _, wrong = options_with_defaults(options_schema, {})
    except Exception as exc:  # an unresolvable $ref, or a schema the validator cannot apply
        return problems + [Violation("$.options", "usable schema", f"the options schema cannot be applied ({type(exc).__name__}: {shorten(exc)}); a $ref must point inside the schema, e.g. #/$defs/name")]
    for violation in wrong:
        path = violation.path.removeprefix("$")
        key = path.split(".")[1].split("[")[0] if path.startswith(".") else ""
        where = f"$.options.properties.{key}.default" if key in declared else "$.options"
        problems.append(Violation(where, violation.rule, f"the default does not satisfy the option's own schema: {violation.message}"))
    return problems


def options_with_defaults(options_schema: Mapping[str, Any] | None, given: Mapping[str, Any]) -> tuple[dict[str, Any], list[Violation]]:
    """Fill defaults from an options schema into ``given`` and validate the result."""
    schema = dict(options_schema or {"type": "object", "properties": {}, "additionalProperties": False})
    schema.setdefault("additionalProperties", False)
    resolved = {key: copy.deepcopy(spec.get("default")) for key, spec in schema.get("properties", {}).items()}
    resolved.update(given)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return resolved, _violations(strict_integers(cls)(schema).iter_errors(resolved))


@functools.cache
def strict_integers(cls: Any) -> Any:
    """``cls`` for which 48.0 is not an ``integer`` (JSON schema says it is; ``range(48.0)`` disagrees)."""
    checker = cls.TYPE_CHECKER.redefine("integer", lambda _, v: type(v) is not bool and isinstance(v, int))
    return jsonschema.validators.extend(cls, type_checker=checker)


MAX_DEPTH = 32
MAX_NODES = 20_000
MAX_STRING = 20_000


def json_problems(value: Any, root: str = "$") -> list[Violation]:
    """Where ``value`` is not plain, finite, bounded JSON: the schemas can only judge JSON.

    A manifest comes from a plugin's Python code, so it may hold anything: a set, a key that is not a
    string, NaN (which JSON schema's ``number`` accepts), a structure nested a thousand deep, or a
    200,000-character string. Each is reported once, at its JSON path, before any schema sees it.

    >>> [str(v) for v in json_problems({"a": float("nan"), 1: "x"})]
    ['$.a: NaN is not a finite number (rule: finite number)', '$: key 1 is not a string (rule: string keys)']
    """
    problems: list[Violation] = []
    budget = [MAX_NODES]

    def walk(node: Any, path: list[Any], depth: int) -> None:
        budget[0] -= 1
        where = shorten(root + json_path(path)[1:], 200)
        if budget[0] < 0:
            if budget[0] == -1:
                problems.append(Violation(root, "size", f"more than {MAX_NODES} values; a manifest must be small"))
            return
        if depth > MAX_DEPTH:
            problems.append(Violation(where, "depth", f"nested more than {MAX_DEPTH} levels deep"))
        elif isinstance(node, bool) or node is None or isinstance(node, int):
            return
        elif isinstance(node, float):
            if node != node or node in (float("inf"), float("-inf")):
                problems.append(Violation(where, "finite number", f"{node!r:.8} is not a finite number".replace("nan is", "NaN is")))
        elif isinstance(node, str):
            if len(node) > MAX_STRING:
                problems.append(Violation(where, "length", f"a string of {len(node)} characters (at most {MAX_STRING})"))
        elif isinstance(node, Mapping):
            for key, child in node.items():
                if not isinstance(key, str):
                    problems.append(Violation(where, "string keys", f"key {shorten(repr(key), 60)} is not a string"))
                    continue
                walk(child, [*path, key], depth + 1)
        elif isinstance(node, (list, tuple)):
            for index, child in enumerate(node):
                walk(child, [*path, index], depth + 1)
        else:
            problems.append(Violation(where, "JSON value", f"a {type(node).__name__} is not a JSON value (use a string, number, boolean, null, list or dict)"))

    walk(value, [], 0)
    return problems
