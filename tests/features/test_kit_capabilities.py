"""Capabilities: algorithms declare what they ``require`` of an encoder, encoders what they ``provide``.

The kit runs an algorithm's checks on an installed encoder that provides everything it requires,
built with that encoder's ``test_options``, and skips them, naming the capability, when none is
installed. The core names no model: which encoders fit is read from manifests only.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from climb_harness.core.registry import Registry
from climb_harness.core.schemas import options_with_defaults, validate
from climb_harness.testing.conformance import check_algorithm, check_encoder, providers, single_thread

ROOT = Path(__file__).resolve().parents[2]

HEADER = """
from climb_harness.api import API_VERSION, Algorithm, algorithm, encoder, hookimpl
from climb_harness.testing.manifests import TINY_ENCODER_MANIFEST

OPTIONS = {"type": "object", "additionalProperties": False, "properties": {}}


def algo(name, factory, **extra):
    return algorithm({"name": name, "api_version": API_VERSION, "summary": name, "family": "other",
                      "options": OPTIONS, **extra}, factory)


def tiny(name, **extra):
    manifest = {k: v for k, v in TINY_ENCODER_MANIFEST.items() if k != "kind"}
    return encoder({**manifest, "name": name, **extra}, "climb_harness.testing.components:TinyEncoder")


class NeedsNarrow(Algorithm):
    def setup(self, ctx):
        width = ctx.model.encoder.hidden_size
        if width != 8:
            raise ValueError(f"zcap: this algorithm needs the 8-wide encoder, got {width}")
"""


@pytest.fixture(autouse=True)
def _one_thread():
    with single_thread():
        yield


def load(tmp_path: Path, stem: str, body: str) -> Registry:
    path = tmp_path / f"{stem}.py"
    path.write_text(HEADER + textwrap.dedent(body), encoding="utf-8")
    registry = Registry([str(path)], entry_points=False)
    assert all(p.ok for p in registry.plugins), [p.errors for p in registry.plugins]
    return registry


def by_name(results):
    return {r.name: r for r in results}


BASE = {"api_version": "1.0", "summary": "s",
        "options": {"type": "object", "properties": {}, "additionalProperties": False}}


@pytest.mark.parametrize(("kind", "extra", "problem"), [
    ("encoder", {}, None),
    ("encoder", {"provides": ["hf-transformer", "x.v2"], "test_options": {"hidden_size": 8}}, None),
    ("encoder", {"provides": ["HF Transformer"]}, "$.provides[0]"),
    ("encoder", {"provides": ["a", "a"]}, "$.provides"),
    ("encoder", {"test_options": [1]}, "$.test_options"),
    ("algorithm", {"requires": ["hf-transformer"]}, None),
    ("algorithm", {"requires": "hf-transformer"}, "$.requires"),
    ("algorithm", {"provides": ["hf-transformer"]}, "$"),  # only encoders provide
], ids=["none", "valid", "pattern", "unique", "test-options-type", "requires", "requires-type",
        "algorithm-provides"])
def test_the_fields_are_optional_and_validated(kind, extra, problem):
    manifest = {**BASE, "name": "z", "kind": kind, **extra,
                **({"modalities": ["language"]} if kind == "encoder" else {"family": "other"})}
    paths = [p.path for p in validate(kind, manifest)]
    assert paths == ([] if problem is None else [problem]), paths


def test_without_a_provider_the_run_checks_are_skipped_naming_the_capability(tmp_path):
    registry = load(tmp_path, "zcap_none", """
        @hookimpl
        def climb_algorithms():
            return [algo("zcap-needs", NeedsNarrow, requires=["zcap-narrow"])]

        @hookimpl
        def climb_encoders():
            return [tiny("zcap-other", provides=["something-else"])]
    """)
    results = by_name(check_algorithm(registry, "zcap-needs", tmp_path / "work"))
    run = results["two-task run completes"]
    assert run.status == "skipped" and "'zcap-narrow'" in run.message
    assert "no installed encoder provides" in run.message
    assert results["builds with default options"].status == "passed"
    for name in ("state_dict checkpointable", "results.json valid", "accuracy matrix",
                 "resume reproduces the run"):
        assert results[name].status == "skipped", results[name]
    expected = "skipped: not run because 'two-task run completes' was skipped"
    assert results["resume reproduces the run"].message == expected


def test_the_run_uses_a_providing_encoder_built_with_its_test_options(tmp_path):
    registry = load(tmp_path, "zcap_some", """
        @hookimpl
        def climb_algorithms():
            return [algo("zcap-needs", NeedsNarrow, requires=["zcap-narrow"])]

        @hookimpl
        def climb_encoders():
            return [tiny("zcap-b", provides=["zcap-narrow"], test_options={"hidden_size": 16}),
                    tiny("zcap-a", provides=["zcap-narrow", "more"],
                         test_options={"hidden_size": 8, "num_layers": 1}),
                    tiny("zcap-plain")]
    """)
    assert [e.name for e in providers(registry, ["zcap-narrow"])] == ["zcap-a", "zcap-b"]  # by name
    assert [e.name for e in providers(registry, ["zcap-narrow", "more"])] == ["zcap-a"]
    results = check_algorithm(registry, "zcap-needs", tmp_path / "work")
    assert all(r.status == "passed" for r in results), [str(r) for r in results]
    run = by_name(results)["two-task run completes"].message
    assert run.startswith("with encoder 'zcap-a' (it provides 'zcap-narrow'; built with its test_options)")


def test_an_algorithm_that_requires_nothing_fails_on_tinyencoder_with_a_hint(tmp_path):
    registry = load(tmp_path, "zcap_undeclared", """
        @hookimpl
        def climb_algorithms():
            return [algo("zcap-undeclared", NeedsNarrow)]
    """)
    run = by_name(check_algorithm(registry, "zcap-undeclared", tmp_path / "work"))["two-task run completes"]
    assert run.status == "failed" and "with TinyEncoder" in run.message
    assert "zcap: this algorithm needs" in run.message
    assert "declare it in the manifest's \"requires\"" in run.message


def test_an_encoders_test_options_must_build(tmp_path):
    registry = load(tmp_path, "zcap_bad_options", """
        @hookimpl
        def climb_encoders():
            return [tiny("zcap-good", test_options={"hidden_size": 8}),
                    tiny("zcap-typo", test_options={"hiden_size": 8})]
    """)
    good = by_name(check_encoder(registry, "zcap-good"))["builds with its test_options"]
    assert good.status == "passed" and "hidden_size 8" in good.message
    # a typo is already a manifest problem (climb validate reports it), so the build is not attempted
    typo = check_encoder(registry, "zcap-typo")
    failed = [r for r in typo if r.status == "failed"]
    assert failed and all("hiden_size" in r.message and "test_options" in r.message for r in failed[:1])
    assert by_name(typo)["builds with its test_options"].status == "skipped"
    plain = [r.name for r in check_encoder(load(tmp_path, "zcap_plain", """
        @hookimpl
        def climb_encoders():
            return [tiny("zcap-plain")]
    """), "zcap-plain")]
    assert "builds with its test_options" not in plain  # only declared test_options are checked


def test_installed_encoders_declare_valid_test_options():
    registry = Registry()
    for entry in registry.all_entries("encoder"):
        if "test_options" in entry.manifest:
            _, problems = options_with_defaults(entry.manifest.get("options"), entry.manifest["test_options"])
            assert not problems, (entry.name, problems)
    for entry in registry.all_entries("algorithm"):
        for capability in entry.manifest.get("requires", []):
            assert providers(registry, [capability]), f"{entry.name} requires {capability!r}, none has it"


def test_the_kit_names_no_model():
    """Which encoder an algorithm runs on comes from manifests, never from a name in the kit."""
    sources = {p: p.read_text(encoding="utf-8") for p in (ROOT / "climb_harness" / "testing").rglob("*.py")}
    model = re.compile(r"\bvilt\b|minilm", re.I)
    named = {str(p.relative_to(ROOT)) for p, text in sources.items() if model.search(text)}
    assert not named, named
