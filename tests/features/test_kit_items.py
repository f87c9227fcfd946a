"""The conformance kit as pytest items: one per (component, check), named, sharing one build and run.

``conformance_test("climb-my-plugin")`` is what every plugin's tests use; here it runs on plugins
written into ``--plugin`` files (and one real distribution on a temporary ``sys.path`` entry, for
the entry-point check), directly and in an author's pytest session (pytester).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from climb_harness.core.registry import Registry
from climb_harness.testing.conformance import (
    HEAVY_MODULES,
    check_component,
    check_plugin,
    conformance_cases,
    conformance_params,
    single_thread,
)

pytest_plugins = ["pytester"]

HEADER = """
from climb_harness.api import API_VERSION, Algorithm, algorithm, hookimpl

OPTIONS = {"type": "object", "additionalProperties": False, "properties": {}}


def algo(name, factory, **extra):
    return algorithm({"name": name, "api_version": API_VERSION, "summary": name, "family": "other",
                      "options": OPTIONS, **extra}, factory)
"""

COUNTED = HEADER + """
BUILT = []


class Counted(Algorithm):
    def __init__(self, options=None):
        super().__init__(options)
        BUILT.append(1)


@hookimpl
def climb_algorithms():
    return [algo("zitems-counted", Counted)]
"""

ALGORITHM_IDS = [
    "manifest-valid", "options-defaults-validate", "factory-importable", "builds", "run-completes",
    "state-dict-checkpointable", "results-json-valid", "accuracy-matrix", "resume-is-exact",
]


@pytest.fixture(autouse=True)
def _one_thread():
    with single_thread():
        yield


def load(tmp_path: Path, stem: str, source: str) -> Registry:
    path = tmp_path / f"{stem}.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return Registry([str(path)], entry_points=False)


def test_one_case_per_check_named_component_then_check(tmp_path):
    registry = load(tmp_path, "zitems", COUNTED)
    cases = conformance_cases("zitems", registry=registry)
    assert [c.id for c in cases] == [
        "plugin:zitems::loads", "plugin:zitems::light-import", "plugin:zitems::registers-components",
        *(f"algorithm:zitems-counted::{check}" for check in ALGORITHM_IDS),
    ]
    params = conformance_params("algorithm:zitems-counted", registry=registry)
    assert [p.id for p in params] == [f"algorithm:zitems-counted::{check}" for check in ALGORITHM_IDS]
    assert [p.values[0].check_id for p in params] == ALGORITHM_IDS


def test_cases_share_one_build_and_run_in_any_order(tmp_path):
    """Asked for last-first (as ``-k resume-is-exact`` alone would), each check still runs once."""
    registry = load(tmp_path, "zitems", COUNTED)
    built = registry.pm.get_plugin("zitems").BUILT
    in_order = check_component(registry, "algorithm", "zitems-counted", tmp_path / "a")
    builds_in_order = len(built)
    assert builds_in_order == 4  # the build check, the run, the crashed run, its resumption
    built.clear()
    cases = conformance_cases("algorithm:zitems-counted", registry=registry)
    backwards = [case.run() for case in reversed(cases)][::-1]
    assert len(built) == builds_in_order
    assert [(r.name, r.status) for r in backwards] == [(r.name, r.status) for r in in_order]
    assert all(r.status == "passed" for r in backwards)
    assert cases[-1].run() is backwards[-1]  # cached: asking again runs nothing
    run = next(r for r in backwards if r.name == "two-task run completes")
    resume = backwards[-1]
    assert run.seconds > 0 and resume.seconds > 0  # each counts its own time, not the checks it required


def test_a_selector_that_matches_nothing_is_one_failing_case(tmp_path):
    registry = load(tmp_path, "zitems", COUNTED)
    [missing] = conformance_cases("climb-znot-installed", registry=registry)
    result = missing.run()
    assert missing.id == "climb-znot-installed::installed" and result.status == "failed"
    assert "nothing named 'climb-znot-installed' is installed" in result.message
    assert "pip install -e ." in result.message and "Installed plugins: zitems" in result.message
    [unknown] = conformance_cases("encoder:znone", registry=registry)
    assert unknown.id == "encoder:znone::installed" and "No encoder named 'znone'" in unknown.run().message


def test_a_kind_with_no_component_fails(tmp_path):
    registry = load(tmp_path, "zitems", COUNTED)
    cases = conformance_cases("zitems", kind="encoder", registry=registry)
    assert [c.id for c in cases] == [
        "plugin:zitems::loads", "plugin:zitems::light-import", "plugin:zitems::registers-components",
        "zitems::has-encoder",
    ]
    assert cases[-1].run().status == "failed" and "registers no encoder" in cases[-1].run().message
    assert [c.id for c in conformance_cases("zitems", kind="algorithm", registry=registry)][-1] == (
        "algorithm:zitems-counted::resume-is-exact")


def test_a_plugin_without_components_fails(tmp_path):
    registry = load(tmp_path, "zempty", HEADER + "\n@hookimpl\ndef climb_algorithms():\n    return []\n")
    results = {r.name: r for r in check_plugin(registry, "zempty", tmp_path)}
    assert results["plugin loads"].status == "passed"
    registers = results["registers components"]
    assert registers.status == "failed" and "registers no component" in registers.message


def test_a_hook_module_importing_torch_fails(tmp_path):
    registry = load(tmp_path, "zheavy", "import torch\n" + COUNTED)
    result = {c.check_id: c for c in conformance_cases("zheavy", registry=registry)}["light-import"].run()
    assert result.status == "failed" and "imports torch" in result.message
    assert "factory strings" in result.message
    assert "torch" in HEAVY_MODULES


def test_the_entry_point_of_an_installed_distribution_resolves(site, pf):
    component = (pf.algorithm_manifest("ztest-kit"), "climb_harness.api:Algorithm")
    name = site.add_plugin("climb-ztest-kit", algorithms=[component])
    cases = {c.id: c for c in conformance_cases("climb-ztest-kit", registry=Registry())}
    for check in ("loads", "entry-point-resolves", "light-import", "registers-components"):
        result = cases[f"plugin:{name}::{check}"].run()
        assert result.status == "passed", result
    resolved = cases[f"plugin:{name}::entry-point-resolves"].run().message
    assert f"{name} = {site.module(name.removeprefix(site.prefix))}_hooks (climb-ztest-kit 0.1.0)" == resolved


def test_each_check_is_an_item_in_an_authors_session(pytester, tmp_path):
    plugin = tmp_path / "zauthor.py"
    plugin.write_text(HEADER + textwrap.dedent("""
        class Bad(Algorithm):
            def state_dict(self):
                return {"x": object()}

        @hookimpl
        def climb_algorithms():
            return [algo("zauthor-good", Algorithm), algo("zauthor-bad", Bad)]
    """), encoding="utf-8")
    pytester.makepyfile(test_author=textwrap.dedent(f"""
        from climb_harness.core.registry import Registry
        from climb_harness.testing import conformance_test

        REGISTRY = Registry([{str(plugin)!r}], entry_points=False)
        test_good = conformance_test("algorithm:zauthor-good", registry=REGISTRY)
        test_bad = conformance_test("algorithm:zauthor-bad", registry=REGISTRY)
        test_missing = conformance_test("climb-znot-installed", registry=REGISTRY)
    """))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-o", "addopts=", "-v", "-rs")
    result.assert_outcomes(passed=9 + 4, failed=2 + 1, skipped=3)
    out = result.stdout.str()
    assert "test_good[algorithm:zauthor-good::resume-is-exact] PASSED" in out
    assert "test_bad[algorithm:zauthor-bad::state-dict-checkpointable] FAILED" in out
    assert "test_missing[climb-znot-installed::installed] FAILED" in out
    assert "FAIL  algorithm:zauthor-bad  state_dict checkpointable: state_dict()['x'] is a builtins" in out
    assert "not run because 'two-task run completes' failed" in out
