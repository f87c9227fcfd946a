"""The conformance kit: its checks pass on real components and fail broken ones clearly.

Every installed plugin runs the kit in its own tests (one item per check, ``conformance_test``);
here the kit runs on the testing plugin's small real components, each check its own item as in a
plugin's tests, and on deliberately broken plugins loaded from ``--plugin`` files, checking that
each fault is reported with a message naming it. The pytest items themselves (ids, shared builds,
empty selections) are tested in test_kit_items.py, capabilities in test_kit_capabilities.py.
"""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path

import pytest

from climb_harness.api.errors import UsageError
from climb_harness.core.registry import Registry
from climb_harness.testing.conformance import (
    CheckResult,
    check_algorithm,
    check_command,
    check_encoder,
    check_plugin,
    check_task,
    conformance_test,
    format_results,
    single_thread,
)

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
TESTING_PLUGIN = "climb_harness.testing.plugin"


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models gain nothing from threads and thrash on a busy two-core machine."""
    with single_thread():
        yield


# --------------------------------------------------------------------------- real components
#: Every check of the testing plugin's tasks, encoder and algorithm, one item each.
test_testing_plugin_conforms = conformance_test(
    TESTING_PLUGIN, registry=Registry([TESTING_PLUGIN], entry_points=False))


def test_installed_plugins_load():
    broken = {p.label: p.errors for p in Registry().plugins if p.errors}
    assert not broken, broken


@pytest.mark.parametrize("folder", sorted((ROOT / "plugins").glob("climb-*/")), ids=lambda f: f.name)
def test_every_plugin_here_runs_the_kit_in_its_tests(folder):
    """Each plugin's tests collect the kit's items for its own distribution (so CI runs them per plugin)."""
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (folder / "tests").glob("test_*.py"))
    assert f'conformance_test("{folder.name}"' in sources, f"no test of {folder.name} calls conformance_test"


# --------------------------------------------------------------------------- broken components
HEADER = """
from climb_harness.api import API_VERSION, Algorithm, Example, Task, algorithm, hookimpl, task

OPTIONS = {"type": "object", "additionalProperties": False, "properties": {}}


def algo(name, factory, **extra):
    return algorithm({"name": name, "api_version": API_VERSION, "summary": name, "family": "other",
                      "options": OPTIONS, **extra}, factory)


def task_manifest(name, head=None, images=1, modality="vision-language"):
    return {"name": name, "api_version": API_VERSION, "summary": name, "modality": modality,
            "images_per_example": images, "head": head or {"type": "classification", "num_labels": 3},
            "metric": "accuracy", "random_baseline": 33.3, "options": OPTIONS}


def image():
    import numpy as np
    return np.zeros((8, 8, 3), dtype=np.uint8)
"""


def write_plugin(tmp_path: Path, stem: str, body: str) -> Registry:
    path = tmp_path / f"{stem}.py"
    path.write_text(HEADER + textwrap.dedent(body), encoding="utf-8")
    registry = Registry([str(path)], entry_points=False)
    assert all(p.ok for p in registry.plugins), [p.errors for p in registry.plugins]
    return registry


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


def test_algorithm_with_unserialisable_state_fails(tmp_path):
    registry = write_plugin(
        tmp_path,
        "zbad_state",
        """
        class SetState(Algorithm):
            def state_dict(self):
                return {"seen": {1, 2, 3}}

        class NestedTensors(Algorithm):
            def state_dict(self):
                import torch
                return {"fisher": {"encoder.w": torch.zeros(2)}}

        @hookimpl
        def climb_algorithms():
            return [algo("zbad-set-state", SetState), algo("zbad-nested", NestedTensors)]
    """,
    )
    results = by_name(check_algorithm(registry, "zbad-set-state", tmp_path / "work"))
    state = results["state_dict checkpointable"]
    assert state.status == "failed"
    assert "state_dict()['seen'] is a builtins.set" in state.message and "JSON" in state.message
    run = results["two-task run completes"]
    assert run.status == "failed" and "state_dict()" in run.message and "RunError" in run.message
    assert results["resume reproduces the run"].status == "skipped"
    assert results["manifest valid"].status == "passed"

    nested = by_name(check_algorithm(registry, "zbad-nested", tmp_path / "work"))["state_dict checkpointable"]
    assert nested.status == "failed" and "flatten it to keys like 'fisher.<name>'" in nested.message


def test_task_with_out_of_range_targets_fails(tmp_path):
    registry = write_plugin(
        tmp_path,
        "zbad_targets",
        """
        class OutOfRange(Task):
            def examples(self, split):
                return [Example("what colour", (image(),), target=i % 5, id=f"{split}-{i}") for i in range(8)]

        @hookimpl
        def climb_tasks():
            return [task(task_manifest("zbad-targets"), OutOfRange)]
    """,
    )
    results = by_name(check_task(registry, "zbad-targets"))
    train = results["examples('train') load"]
    assert train.status == "failed"
    assert "2 of 8 train examples do not match the manifest" in train.message
    assert "example 3 (id 'train-3') has target 3, outside the head's 0..2" in train.message
    assert results["builds with default options"].status == "passed"


@pytest.mark.parametrize(
    ("head", "images", "modality", "example", "expected"),
    [
        (
            {"type": "classification", "num_labels": 3},
            1,
            "vision-language",
            'Example("q", (image(), image()), target=0)',
            "has 2 image(s), the manifest says images_per_example=1",
        ),
        (
            {"type": "classification", "num_labels": 3},
            1,
            "vision-language",
            "Example(None, (image(),), target=0)",
            "has no text",
        ),
        (
            {"type": "classification", "num_labels": 3},
            1,
            "vision-language",
            'Example("q", (image(),), target="red")',
            "has target 'red', not a class index",
        ),
        (
            {"type": "multiple-choice", "num_choices": 4},
            0,
            "language",
            'Example("q", (), choices=("a", "b"), target=1)',
            "has 2 choice(s), the manifest says num_choices=4",
        ),
        (
            {"type": "soft-score", "num_labels": 5},
            1,
            "vision-language",
            'Example("q", (image(),), target={2: 1.5})',
            "has score 1.5 for label 2, not a number in [0, 1]",
        ),
        (
            {"type": "soft-score", "num_labels": 5},
            1,
            "vision-language",
            'Example("q", (image(),), target={7: 0.3})',
            "has soft-score label 7, not an int in 0..4",
        ),
        (
            {"type": "multi-label", "num_labels": 5},
            1,
            "vision-language",
            'Example("q", (image(),), target=[1, 9])',
            "has labels [1, 9], not all ints in 0..4",
        ),
        (
            {"type": "multi-label", "num_labels": 5},
            1,
            "vision-language",
            'Example("q", (image(),), target=3)',
            "not a list of label indices",
        ),
    ],
    ids=[
        "images",
        "text",
        "target-type",
        "choices",
        "soft-score",
        "soft-label",
        "multi-label",
        "multi-label-type",
    ],
)
def test_task_examples_that_contradict_the_manifest_fail(tmp_path, head, images, modality, example, expected):
    registry = write_plugin(
        tmp_path,
        "zbad_examples",
        f"""
        class Bad(Task):
            def examples(self, split):
                return [{example}]

        @hookimpl
        def climb_tasks():
            return [task(task_manifest("zbad-examples", {head!r}, {images}, {modality!r}), Bad)]
    """,
    )
    result = by_name(check_task(registry, "zbad-examples"))["examples('train') load"]
    assert result.status == "failed" and expected in result.message, result.message


def test_task_valid_examples_of_every_head_pass(tmp_path):
    registry = write_plugin(
        tmp_path,
        "zgood_heads",
        """
        class Soft(Task):
            def examples(self, split):
                return [Example("q", (image(),), target={0: 0.3, 4: 1.0}), Example("q", (image(),), target={})]

        class Multi(Task):
            def examples(self, split):
                return [Example("q", (image(),), target=[0, 4]), Example("q", (image(),), target=[])]

        class Choice(Task):
            def examples(self, split):
                return [Example("q", (), choices=("a", "b"), target=1)]

        class Vision(Task):
            def examples(self, split):
                return [Example(None, (image(),), target=2)]

        @hookimpl
        def climb_tasks():
            return [task(task_manifest("zsoft", {"type": "soft-score", "num_labels": 5}), Soft),
                    task(task_manifest("zmulti", {"type": "multi-label", "num_labels": 5}), Multi),
                    task(task_manifest("zchoice", {"type": "multiple-choice", "num_choices": 2}, 0, "language"), Choice),
                    task(task_manifest("zvision", None, 1, "vision"), Vision)]
    """,
    )
    for name in ("zsoft", "zmulti", "zchoice", "zvision"):
        results = check_task(registry, name)
        assert all(r.status == "passed" for r in results), format_results(results)


def test_missing_data_is_skipped_not_failed(tmp_path):
    registry = write_plugin(
        tmp_path,
        "zno_data",
        """
        class NoData(Task):
            def examples(self, split):
                raise FileNotFoundError(f"/data/zno/{split}.jsonl is missing; download it from example.org")

        @hookimpl
        def climb_tasks():
            return [task(task_manifest("zno-data"), NoData)]
    """,
    )
    results = by_name(check_task(registry, "zno-data"))
    train = results["examples('train') load"]
    assert train.status == "skipped" and train.passed
    assert (
        train.message
        == "skipped: data not available: /data/zno/train.jsonl is missing; download it from example.org"
    )
    assert check_command(["zno_data"], [str(tmp_path / "zno_data.py")], echo=lambda _: None) == 0


def test_broken_encoders_fail(tmp_path):
    registry = write_plugin(
        tmp_path,
        "zbad_encoders",
        """
        from climb_harness.testing.components import TinyEncoder


        class Detached(TinyEncoder):
            def forward(self, batch):
                return super().forward(batch).detach()


        class OneView(TinyEncoder):
            def forward(self, batch):
                return super().forward(batch)[:, :1]


        def enc(name, factory):
            from climb_harness.api import encoder
            return encoder({"name": name, "api_version": API_VERSION, "summary": name, "modalities": ["vision-language"],
                            "max_images_per_example": 2, "options": OPTIONS}, factory)


        @hookimpl
        def climb_encoders():
            return [enc("zdetached", Detached), enc("zoneview", OneView), enc("ztiny", TinyEncoder)]
    """,
    )
    detached = by_name(check_encoder(registry, "zdetached"))
    assert detached["encodes vision-language, 1 image"].status == "failed"
    assert (
        "no gradient reaches the encoder's parameters" in detached["encodes vision-language, 1 image"].message
    )
    one_view = by_name(check_encoder(registry, "zoneview"))
    assert one_view["encodes vision-language, 1 image"].status == "passed"
    failure = one_view["encodes vision-language, 2 images"]
    assert (
        failure.status == "failed"
        and "forward() returned (3, 1, 32); expected (examples, views, hidden_size) = (3, 2, 32)"
        in failure.message
    )
    good = check_encoder(registry, "ztiny")
    assert [r.name for r in good if r.name.startswith("encodes")] == [
        "encodes vision-language, 1 image",
        "encodes vision-language, 2 images",
        "encodes vision-language, multiple choice",
    ]
    assert all(r.status == "passed" for r in good), format_results(good)


def test_resume_that_loses_state_fails(tmp_path):
    """A counter carried across tasks but missing from state_dict() changes the resumed run."""
    registry = write_plugin(
        tmp_path,
        "zforgetful",
        """
        class Forgetful(Algorithm):
            def __init__(self, options=None):
                super().__init__(options)
                self.finished = 0

            def on_task_end(self, ctx):
                self.finished += 1

            def training_loss(self, ctx, task, batch):
                return super().training_loss(ctx, task, batch) * (1 + 10 * self.finished)

        @hookimpl
        def climb_algorithms():
            return [algo("zforgetful", Forgetful)]
    """,
    )
    results = by_name(check_algorithm(registry, "zforgetful", tmp_path / "work"))
    assert results["two-task run completes"].status == "passed"
    resume = results["resume reproduces the run"]
    assert resume.status == "failed", resume
    assert "differ after resuming" in resume.message or "accuracy matrix is" in resume.message


def test_given_encoder_factory_is_used(tmp_path):
    from climb_harness.testing.components import TinyEncoder

    registry = write_plugin(
        tmp_path,
        "zplain",
        """
        @hookimpl
        def climb_algorithms():
            return [algo("zplain", Algorithm)]
    """,
    )
    built = []

    def factory():
        built.append(1)
        return TinyEncoder({"hidden_size": 8, "num_layers": 1})

    results = check_algorithm(registry, "zplain", tmp_path / "work", encoder_factory=factory)
    assert all(r.status == "passed" for r in results), format_results(results)
    assert len(built) == 3  # the full run, the one crashed after task 0, its resumption
    assert "with the given encoder" in by_name(results)["two-task run completes"].message


def test_invalid_manifest_and_unimportable_factory_fail(tmp_path):
    registry = write_plugin(
        tmp_path,
        "zbad_manifest",
        """
        @hookimpl
        def climb_algorithms():
            return [algo("zno-family", Algorithm, family="magic"), algo("zmissing", "zbad_nowhere.module:Thing"),
                    algo("zbad-default", Algorithm, options={"type": "object", "additionalProperties": False,
                         "properties": {"k": {"type": "integer", "default": "three"}}})]
    """,
    )
    invalid = by_name(check_algorithm(registry, "zno-family", tmp_path))
    assert invalid["manifest valid"].status == "failed" and "$.family" in invalid["manifest valid"].message
    assert invalid["builds with default options"].status == "skipped"
    missing = by_name(check_algorithm(registry, "zmissing", tmp_path))
    assert (
        missing["factory importable"].status == "failed"
        and "zbad_nowhere.module:Thing" in missing["factory importable"].message
    )
    default = by_name(check_algorithm(registry, "zbad-default", tmp_path))
    assert (
        default["options defaults validate"].status == "failed"
        and "'three' is not of type 'integer'" in default["options defaults validate"].message
    )


def test_check_plugin_reports_import_errors_and_unknown_names(tmp_path):
    path = tmp_path / "zbroken_import.py"
    path.write_text("import zno_such_module_anywhere\n", encoding="utf-8")
    registry = Registry([str(path)], entry_points=False)
    results = check_plugin(registry, "zbroken_import", tmp_path)
    assert [(r.name, r.status) for r in results] == [
        ("plugin loads", "failed"),
        ("hook module imports no heavy module", "skipped"),
        ("registers components", "skipped"),
    ]
    assert "zno_such_module_anywhere" in results[0].message
    assert results[2].message == "skipped: not run because 'plugin loads' failed"
    with pytest.raises(UsageError, match="No plugin or distribution named 'znothing'"):
        check_plugin(registry, "znothing", tmp_path)


def test_check_command_exit_codes_and_output(tmp_path):
    good = tmp_path / "zgood.py"
    good.write_text(
        HEADER
        + textwrap.dedent("""
        @hookimpl
        def climb_algorithms():
            return [algo("zgood-finetune", Algorithm)]
    """),
        encoding="utf-8",
    )
    lines: list[str] = []
    assert check_command([], [str(good)], workdir=tmp_path / "w", echo=lines.append) == 0
    output = "\n".join(lines)
    assert (
        "PASS  plugin:zgood  plugin loads" in output
        and "PASS  algorithm:zgood-finetune  resume reproduces the run" in output
    )
    assert "PASS  plugin:zgood  hook module imports no heavy module" in output
    assert output.endswith("12 check(s) of 1 component(s) and 1 plugin(s): 12 passed, 0 failed, 0 skipped")

    bad = tmp_path / "zbad.py"
    bad.write_text(
        HEADER
        + textwrap.dedent("""
        class Bad(Algorithm):
            def state_dict(self):
                return {"x": object()}

        @hookimpl
        def climb_algorithms():
            return [algo("zbad-finetune", Bad)]
    """),
        encoding="utf-8",
    )
    lines.clear()
    assert (
        check_command(
            ["zbad", "algorithm:zgood-finetune"], [str(good), str(bad)], verbose=False, echo=lines.append
        )
        == 1
    )
    assert all(line.startswith(("FAIL", "SKIP")) for line in lines[:-1]), lines
    assert "FAIL  algorithm:zbad-finetune  state_dict checkpointable" in "\n".join(lines)


def test_results_are_plain_data():
    result = CheckResult("task:x", "manifest valid", "skipped", "skipped: no data")
    assert (
        result.passed and result.skipped and str(result) == "SKIP  task:x  manifest valid: skipped: no data"
    )
    assert json.loads(json.dumps(dataclasses.asdict(result)))["status"] == "skipped"


# --------------------------------------------------------------------------- the pytest plugin
def test_pytest_plugin_fixtures(pytester, tmp_path):
    """The fixtures work in a plugin author's test session (an in-process pytest run)."""
    import importlib.metadata

    plugin = tmp_path / "zfixture_plugin.py"
    plugin.write_text(
        HEADER
        + textwrap.dedent("""
        class Bad(Algorithm):
            def state_dict(self):
                return {"x": object()}

        @hookimpl
        def climb_algorithms():
            return [algo("zfixture-good", Algorithm), algo("zfixture-bad", Bad)]
    """),
        encoding="utf-8",
    )
    pytester.makepyfile(
        test_author=textwrap.dedent(f"""
        from climb_harness.core.registry import Registry

        REGISTRY = Registry([{str(plugin)!r}], entry_points=False)

        def test_registry(climb_registry):
            assert type(climb_registry).__name__ == "Registry"

        def test_tiny_tasks(tiny_tasks):
            assert [t.name for t in tiny_tasks] == ["conformance-colour", "conformance-yesno"]
            assert len(tiny_tasks[0].examples("train")) == 24

        def test_good(climb_check):
            results = climb_check("algorithm:zfixture-good", REGISTRY)
            assert len(results) == 9

        def test_bad(climb_check):
            climb_check("algorithm:zfixture-bad", REGISTRY)
    """)
    )
    registered = any(
        ep.group == "pytest11" and ep.value == "climb_harness.testing.pytest_plugin"
        for dist in importlib.metadata.distributions()
        for ep in dist.entry_points
    )
    load = [] if registered else ["-p", "climb_harness.testing.pytest_plugin"]
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", *load, "-o", "addopts=")
    result.assert_outcomes(passed=3, failed=1)
    out = result.stdout.str()
    assert "conformance check(s) of 'algorithm:zfixture-bad' failed" in out
    assert "FAIL  algorithm:zfixture-bad  state_dict checkpointable" in out


def test_layer_groups_with_a_trailing_dot_fail_with_the_fix(tmp_path):
    registry = write_plugin(
        tmp_path,
        "zdotted_groups",
        """
        from climb_harness.testing.components import TinyEncoder


        class Dotted(TinyEncoder):
            def layer_groups(self):
                return ["layers.0.", "layers.1"]


        @hookimpl
        def climb_encoders():
            from climb_harness.api import encoder
            return [encoder({"name": "zdotted", "api_version": API_VERSION, "summary": "dotted",
                             "modalities": ["vision-language"], "options": OPTIONS}, Dotted)]
    """,
    )
    result = by_name(check_encoder(registry, "zdotted"))["layer_groups name parameters"]
    assert result.status == "failed"
    assert "['layers.0.']" in result.message and "Drop the trailing dot" in result.message
