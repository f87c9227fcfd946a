"""A corpus of invalid manifests: each is caught by ``climb validate`` (and refused by the registry
that ``climb run`` uses) with the plugin, the component and the JSON path named, and no traceback.

Before this corpus, ``climb validate`` passed option defaults that broke their own schema, invalid
regexes, unresolvable ``$ref``\\s, NaN baselines, names with a trailing newline and more, which
``climb run`` then rejected (some only after training a task).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner

from climb_harness.cli import main
from climb_harness.api.errors import PluginError
from climb_harness.core.registry import Registry

FACTORY = "{module}:Thing"
NAME = "ztest-bad"


def _opt(**spec: Any) -> dict[str, Any]:
    """An options schema with one option ``x`` described by ``spec``."""
    return {"type": "object", "additionalProperties": False, "properties": {"x": spec}}


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation setting ``a.b.c`` (creating mappings on the way)."""

    def mutate(manifest: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = manifest
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value

    return mutate


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda manifest: manifest.pop(key)


def _nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


# (id, kind, mutation, JSON path the error names, words the message holds)
CASES: list[tuple[str, str, Callable[[dict[str, Any]], None], str, str]] = [
    # identity
    ("name-missing", "task", _drop("name"), "$", "'name' is a required property"),
    ("name-upper-case", "task", _set("name", "ztest-Bad"), "$.name", "does not match"),
    ("name-trailing-newline", "task", _set("name", "ztest-bad\n"), "$.name", "trailing newline"),
    ("name-200k-characters", "task", _set("name", "z" * 200_000), "$.name", "at most 20000"),
    ("name-70-characters", "encoder", _set("name", "z" * 70), "$.name", "is too long"),
    ("name-not-a-string", "algorithm", _set("name", 7), "$.name", "is not of type 'string'"),
    ("api-version-missing", "task", _drop("api_version"), "$", "'api_version' is a required property"),
    ("api-version-trailing-newline", "task", _set("api_version", "1.0\n"), "$.api_version", "trailing newline"),
    ("api-version-future-major", "encoder", _set("api_version", "9.0"), "$.api_version", "versions that work"),
    ("api-version-words", "algorithm", _set("api_version", "one"), "$.api_version", "does not match"),
    ("summary-empty", "task", _set("summary", ""), "$.summary", "should be non-empty"),
    ("summary-too-long", "encoder", _set("summary", "s" * 300), "$.summary", "is too long"),
    ("unknown-top-level-field", "algorithm", _set("colour", "red"), "$", "'colour' was unexpected"),
    # task fields
    ("modality-unknown", "task", _set("modality", "audio"), "$.modality", "is not one of"),
    ("images-per-example-3", "task", _set("images_per_example", 3), "$.images_per_example", "greater than the maximum"),
    ("images-per-example-string", "task", _set("images_per_example", "1"), "$.images_per_example", "is not of type"),
    ("head-missing", "task", _drop("head"), "$", "'head' is a required property"),
    ("head-type-unknown", "task", _set("head", {"type": "regression", "num_labels": 1}), "$.head.type", "is not one of"),
    ("head-zero-labels", "task", _set("head", {"type": "classification", "num_labels": 0}), "$.head.num_labels", "less than the minimum"),
    ("head-one-choice", "task", _set("head", {"type": "multiple-choice", "num_choices": 1}), "$.head.num_choices", "less than the minimum"),
    ("metric-unknown", "task", _set("metric", "bleu"), "$.metric", "is not one of"),
    ("random-baseline-nan", "task", _set("random_baseline", float("nan")), "$.random_baseline", "NaN is not a finite number"),
    ("random-baseline-inf", "task", _set("random_baseline", float("inf")), "$.random_baseline", "not a finite number"),
    ("random-baseline-150", "task", _set("random_baseline", 150), "$.random_baseline", "greater than the maximum"),
    ("random-baseline-string", "task", _set("random_baseline", "33"), "$.random_baseline", "is not of type 'number'"),
    ("splits-dev", "task", _set("splits", ["train", "dev"]), "$.splits[1]", "is not one of"),
    ("defaults-zero-epochs", "task", _set("defaults.epochs", 0), "$.defaults.epochs", "less than the minimum"),
    ("defaults-negative-lr", "task", _set("defaults.lr", -1.0), "$.defaults.lr", "less than or equal to the minimum"),
    ("defaults-unknown-key", "task", _set("defaults.warmup", 3), "$.defaults", "'warmup' was unexpected"),
    ("data-unknown-key", "task", _set("data.url", "x"), "$.data", "'url' was unexpected"),
    # encoder and algorithm fields
    ("modalities-empty", "encoder", _set("modalities", []), "$.modalities", "should be non-empty"),
    ("max-images-5", "encoder", _set("max_images_per_example", 5), "$.max_images_per_example", "greater than the maximum"),
    ("family-unknown", "algorithm", _set("family", "magic"), "$.family", "is not one of"),
    ("options-missing", "algorithm", _drop("options"), "$", "'options' is a required property"),
    ("paper-not-a-string", "algorithm", _set("paper", ["a", "b"]), "$.paper", "is not of type 'string'"),
    # option schemas
    ("options-type-array", "task", _set("options", {"type": "array", "properties": {}}), "$.options.type", "'object' was expected"),
    ("options-properties-list", "encoder", _set("options", {"type": "object", "properties": []}), "$.options.properties", "is not of type 'object'"),
    ("options-additional-true", "algorithm", _set("options", {"type": "object", "properties": {}, "additionalProperties": True}), "$.options.additionalProperties", "False was expected"),
    ("option-without-default", "task", _set("options", _opt(type="integer")), "$.options.properties.x", "'default' is a required property"),
    ("default-wrong-type", "task", _set("options", _opt(type="integer", default="ten")), "$.options.properties.x.default", "is not of type 'integer'"),
    ("default-below-minimum", "encoder", _set("options", _opt(type="integer", minimum=1, default=0)), "$.options.properties.x.default", "less than the minimum"),
    ("default-not-in-enum", "algorithm", _set("options", _opt(enum=["a", "b"], default="c")), "$.options.properties.x.default", "is not one of"),
    ("default-too-long", "algorithm", _set("options", _opt(type="string", maxLength=2, default="abc")), "$.options.properties.x.default", "is too long"),
    ("default-fails-pattern", "task", _set("options", _opt(type="string", pattern="^a+$", default="b")), "$.options.properties.x.default", "does not match"),
    ("default-nan", "algorithm", _set("options", _opt(type="number", default=float("nan"))), "$.options.properties.x.default", "NaN is not a finite number"),
    ("default-inf-in-list", "algorithm", _set("options", _opt(type="array", default=[1.0, float("-inf")])), "$.options.properties.x.default[1]", "not a finite number"),
    ("invalid-regex-pattern", "task", _set("options", _opt(type="string", pattern="(", default="x")), "$.options.properties.x.pattern", "is not a 'regex'"),
    ("invalid-pattern-properties-key", "encoder", _set("options", {"type": "object", "properties": {}, "patternProperties": {"[": {}}}), "$.options.patternProperties", "'[' is not a 'regex'"),
    ("unresolvable-ref", "task", _set("options", _opt(**{"$ref": "#/$defs/missing", "default": 1})), "$.options", "a $ref must point inside the schema"),
    ("remote-ref", "algorithm", _set("options", _opt(**{"$ref": "https://example.com/s.json", "default": 1})), "$.options", "Unresolvable"),
    ("required-undeclared", "encoder", _set("options", {**_opt(type="integer", default=1), "required": ["y"]}), "$.options.required", "not among the declared options"),
    ("schema-list", "task", _set("options", {**_opt(default=1), "$schema": ["x"]}), "$.options.$schema", "names no JSON Schema draft"),
    ("schema-empty-object", "encoder", _set("options", {**_opt(default=1), "$schema": {}}), "$.options.$schema", "names no JSON Schema draft"),
    ("schema-true", "algorithm", _set("options", {**_opt(default=1), "$schema": True}), "$.options.$schema", "names no JSON Schema draft"),
    ("schema-unknown-uri", "task", _set("options", {**_opt(default=1), "$schema": "https://example.com/draft-99"}), "$.options.$schema", "names no JSON Schema draft"),
    ("option-type-misspelled", "task", _set("options", _opt(type="integr", default=1)), "$.options.properties.x.type", "is not valid under any of the given schemas"),
    ("minimum-not-a-number", "encoder", _set("options", _opt(type="integer", minimum="1", default=1)), "$.options.properties.x.minimum", "is not of type 'number'"),
    # values that are not JSON
    ("set-value", "task", _set("data.source", {"a", "b"}), "$.data.source", "a set is not a JSON value"),
    ("non-string-key", "algorithm", _set("options", {"type": "object", "properties": {1: {"default": 1}}}), "$.options.properties", "key 1 is not a string"),
    ("nested-too-deep", "algorithm", _set("options", _opt(type="array", default=_nested(40))), "$.options.properties.x.default" + "[0]" * 29, "nested more than 32 levels"),
    ("string-too-long", "encoder", _set("description", "d" * 30_000), "$.description", "a string of 30000 characters"),
]

# (id, kind, factory, words)
FACTORY_CASES: list[tuple[str, str, Any, str]] = [
    ("factory-not-a-string", "task", 5, "the factory is a int"),
    ("factory-without-colon", "encoder", "ztest_pkg.tasks.Task", "must be 'package.module:attribute'"),
    ("factory-two-colons", "algorithm", "a:b:c", "must be 'package.module:attribute'"),
    ("factory-missing-attribute", "task", "{module}:Nope", "cannot be imported (AttributeError"),
    ("factory-missing-module", "encoder", "ztest_no_such_module_xyz:Thing", "cannot be imported (ModuleNotFoundError"),
    ("factory-not-callable", "algorithm", "{module}:CONSTANT", "is a int, not a callable"),
]


def _manifest(pf: Any, kind: str) -> dict[str, Any]:
    return copy.deepcopy(getattr(pf, f"{kind}_manifest")(NAME))


def _invoke(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result


def _add(site: Any, pf: Any, kind: str, manifest: Any, factory: Any) -> str:
    """A distribution with the bad component; the hook module is written by hand (a manifest with a
    set or NaN has no literal ``repr`` that Python can read back)."""
    source = "\n".join(
        [
            "from climb_harness.api import algorithm, encoder, hookimpl, task",
            pf.FACTORY_CLASS,
            "CONSTANT = 3",
            f"MANIFEST = {manifest!r}".replace("nan", "float('nan')").replace("inf", "float('inf')"),
            f"FACTORY = {factory!r}",
            "@hookimpl",
            f"def climb_{kind}s():",
            "    factory = FACTORY.replace('{module}', __name__) if isinstance(FACTORY, str) else FACTORY",
            f"    return [{kind}(MANIFEST, factory)]",
        ]
    )
    return site.add_plugin("climb-ztest-corpus", version="0.9.1", source=source)


def _assert_caught(site: Any, kind: str, plugin: str, path: str, words: str, name: Any = NAME) -> None:
    result = _invoke("validate", plugin)
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stdout.splitlines() if line.startswith("ERROR ")]
    assert errors, result.stdout
    assert all(len(line) < 2_000 for line in result.stdout.splitlines()), "an unbounded message"
    matching = [e for e in errors if f"> {path}:" in e or (path == "(factory)" and "> (factory):" in e)]
    assert matching, f"no error at {path}: {errors}"
    line = next((e for e in matching if words in e), None)
    assert line is not None, f"{words!r} not in {matching}"
    assert f"plugin {plugin!r} (climb-ztest-corpus 0.9.1)" in line
    assert f"> {kind} " in line
    # what `climb run` does with the name: refused with the same problems, never built
    registry = Registry()
    if path == "(factory)" and "cannot be imported" in words or "not a callable" in words:
        with pytest.raises(PluginError, match="names the factory"):
            registry.build(kind, name)
        return
    key = "<unnamed>" if name is None else name if isinstance(name, str) else f"<{type(name).__name__} name>"
    entries = registry.entries[kind].get(key, [])
    assert entries and entries[0].problems
    if isinstance(name, str) and len(name) < 100:
        with pytest.raises(PluginError, match="is invalid"):
            registry.get(kind, name)
    # every other command still works
    assert _invoke("list", "--json").exit_code == 0


@pytest.mark.parametrize(("case", "kind", "mutate", "path", "words"), CASES, ids=[c[0] for c in CASES])
def test_invalid_manifest_is_caught_by_validate(site, pf, case, kind, mutate, path, words):
    manifest = _manifest(pf, kind)
    mutate(manifest)
    plugin = _add(site, pf, kind, manifest, FACTORY)
    _assert_caught(site, kind, plugin, path, words, manifest.get("name"))


@pytest.mark.parametrize(("case", "kind", "factory", "words"), FACTORY_CASES, ids=[c[0] for c in FACTORY_CASES])
def test_invalid_factory_is_caught_by_validate(site, pf, case, kind, factory, words):
    plugin = _add(site, pf, kind, _manifest(pf, kind), factory)
    _assert_caught(site, kind, plugin, "(factory)", words)


def test_corpus_is_large_enough():
    assert len(CASES) + len(FACTORY_CASES) >= 50
    assert len({c[0] for c in CASES + FACTORY_CASES}) == len(CASES) + len(FACTORY_CASES)


def test_a_valid_manifest_of_each_kind_passes(site, pf):
    """The corpus's base manifests are valid: each case fails for its own mutation only."""
    for kind in ("task", "encoder", "algorithm"):
        plugin = _add(site, pf, kind, _manifest(pf, kind), FACTORY)
        result = _invoke("validate", plugin)
        assert result.exit_code == 0, result.output
        site.cleanup_modules()
        for info in list(site.root.glob("*.dist-info")):
            for f in info.iterdir():
                f.unlink()
            info.rmdir()
