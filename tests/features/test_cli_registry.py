"""``climb list``, ``climb validate`` and ``climb --version`` against real plugin distributions.

In-process through click's ``CliRunner`` where possible; in a subprocess where the process
matters (torch must stay unimported) and for a plugin really installed with pip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

import climb_harness
from climb_harness.api import API_VERSION
from climb_harness.cli import main

FACTORY = "{module}:Thing"


def invoke(*args: str):
    result = CliRunner().invoke(main, list(args))
    # a ClimbError must become a message and an exit code, never an uncaught exception
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def listed(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def subprocess_env(*paths: Path) -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONDONTWRITEBYTECODE="1")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(p) for p in paths] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    return env


@pytest.fixture
def healthy(site, pf):
    """One plugin with a component of every kind."""
    return site.add_plugin(
        "climb-ztest-good",
        version="1.4.0",
        tasks=[(pf.task_manifest("ztest-colour"), FACTORY)],
        encoders=[(pf.encoder_manifest("ztest-encoder"), FACTORY)],
        algorithms=[(pf.algorithm_manifest("ztest-finetune"), FACTORY)],
    )


# --------------------------------------------------------------------------- version, list
def test_version():
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"climb, version {climb_harness.__version__}"


def test_list_json_shows_every_kind(site, pf, healthy):
    data = listed(invoke("list", "--json"))
    rows = {r["name"]: r for r in pf.mine(data["components"])}
    assert set(rows) == {"ztest-colour", "ztest-encoder", "ztest-finetune"}
    assert rows["ztest-colour"] == {
        "name": "ztest-colour",
        "kind": "task",
        "distribution": "climb-ztest-good",
        "version": "1.4.0",
        "plugin": healthy,
        "summary": "test task ztest-colour",
        "paper": None,
        "options": pf.task_manifest()["options"],
        "status": "ok",
        "problems": [],
    }
    assert [rows[n]["kind"] for n in ("ztest-encoder", "ztest-finetune")] == ["encoder", "algorithm"]
    assert not [p for p in data["plugin_errors"] if p["distribution"].startswith("climb-ztest")]


@pytest.mark.parametrize(
    ("what", "kind"), [("tasks", "task"), ("encoders", "encoder"), ("algorithms", "algorithm")]
)
def test_list_filters_by_kind(site, pf, healthy, what, kind):
    data = listed(invoke("list", what, "--json"))
    assert data["components"], "nothing listed"
    assert {r["kind"] for r in data["components"]} == {kind}
    assert len(pf.mine(data["components"])) == 1


def test_list_rejects_an_unknown_kind():
    result = invoke("list", "widgets")
    assert result.exit_code == 2
    assert "widgets" in result.output


def test_list_text_output(site, pf, healthy):
    result = invoke("list", "tasks")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "DISTRIBUTION", "VERSION", "STATUS", "SUMMARY"]
    (row,) = [line for line in lines if line.startswith("ztest-colour ")]
    assert row.split()[:5] == ["ztest-colour", "task", "climb-ztest-good", "1.4.0", "ok"]
    assert row.endswith("test task ztest-colour")


def test_list_shows_healthy_plugins_beside_broken_ones(site, pf, healthy):
    raises = site.add_plugin(
        "climb-ztest-raises", version="0.0.3", source="raise ImportError('needs libztest.so')\n"
    )
    typo = site.add_plugin(
        "climb-ztest-typo",
        version="0.2.0",
        source=pf.hook_module(extra="@hookimpl\ndef climb_taks():\n    return []\n"),
    )
    invalid = site.add_plugin(
        "climb-ztest-invalid",
        version="0.3.0",
        tasks=[(pf.task_manifest("ztest-invalid", num_lables=2), FACTORY)],
    )

    data = listed(invoke("list", "--json"))
    rows = {r["name"]: r for r in pf.mine(data["components"])}
    assert {n: r["status"] for n, r in rows.items()} == {
        "ztest-colour": "ok",
        "ztest-encoder": "ok",
        "ztest-finetune": "ok",
        "ztest-invalid": "invalid",
    }
    assert rows["ztest-invalid"]["plugin"] == invalid
    assert any(
        "$" in p and "num_lables" in p and "additionalProperties" in p
        for p in rows["ztest-invalid"]["problems"]
    )
    errors = {p["plugin"]: p for p in data["plugin_errors"]}
    assert errors[raises]["distribution"] == "climb-ztest-raises" and errors[raises]["version"] == "0.0.3"
    assert "ImportError: needs libztest.so" in errors[raises]["errors"][0]
    assert "climb_taks" in errors[typo]["errors"][0]

    text = invoke("list")
    assert text.exit_code == 0
    assert any(line.startswith("ztest-colour ") for line in text.stdout.splitlines())
    assert (
        "    invalid: $: Additional properties are not allowed ('num_lables' was unexpected) (rule: additionalProperties)"
        in text.stdout
    )
    assert f"plugin error: plugin {raises!r} (climb-ztest-raises 0.0.3) failed to import" in text.stderr


def test_list_with_a_plugin_path_that_does_not_exist(tmp_path):
    missing = tmp_path / "ztest_missing_plugin.py"
    result = invoke("list", "--plugin", str(missing))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: --plugin {str(missing)!r}: no such file or folder")
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_list_with_a_local_plugin_file(site, pf, tmp_path):
    path = tmp_path / "ztest_cli_local.py"
    path.write_text(
        pf.hook_module(tasks=[(pf.task_manifest("ztest-cli-local"), "climb_plugin_ztest_cli_local:Thing")]),
        encoding="utf-8",
    )
    data = listed(invoke("list", "tasks", "--json", "--plugin", str(path)))
    (row,) = pf.mine(data["components"])
    assert (row["name"], row["distribution"], row["plugin"], row["status"]) == (
        "ztest-cli-local",
        "(--plugin)",
        "ztest_cli_local",
        "ok",
    )


# --------------------------------------------------------------------------- validate
def test_validate_a_clean_plugin_exits_0(site, pf, healthy):
    result = invoke("validate", healthy)
    assert result.exit_code == 0, result.output
    assert f"ok    plugin {healthy!r} (climb-ztest-good 1.4.0): 3 component(s)" in result.stdout
    assert "1 plugin(s) checked, 0 error(s)" in result.stdout
    # a distribution name selects its plugins too
    assert invoke("validate", "climb-ztest-good").exit_code == 0


def test_validate_with_an_unknown_plugin_name_is_a_usage_error(site, pf, healthy):
    result = invoke("validate", "climb-ztest-nope")
    assert result.exit_code == 2
    assert "No plugin or distribution named 'climb-ztest-nope'" in result.stderr
    assert "climb-ztest-good" in result.stderr


def test_validate_with_a_plugin_path_that_does_not_exist(tmp_path):
    result = invoke("validate", "--plugin", str(tmp_path / "nope" / "plugin"))
    assert result.exit_code == 2
    assert "no such file or folder" in result.stderr


# (dist name, version, how to build the plugin, words the ERROR line must hold)
def _missing_field(site, pf):
    return {"tasks": [(pf.without(pf.task_manifest("ztest-bad"), "random_baseline"), FACTORY)]}, [
        "task 'ztest-bad'",
        "$:",
        "'random_baseline' is a required property",
        "(rule: required)",
    ]


def _wrong_type(site, pf):
    head = {"type": "classification", "num_labels": "three"}
    return {"tasks": [(pf.task_manifest("ztest-bad", head=head), FACTORY)]}, [
        "task 'ztest-bad'",
        "$.head.num_labels:",
        "'three' is not of type 'integer'",
        "(rule: type)",
    ]


def _unknown_field(site, pf):
    return {"encoders": [(pf.encoder_manifest("ztest-bad", colour="red"), FACTORY)]}, [
        "encoder 'ztest-bad'",
        "$:",
        "'colour' was unexpected",
        "(rule: additionalProperties)",
    ]


def _api_version(site, pf):
    return {"algorithms": [(pf.algorithm_manifest("ztest-bad", api_version="9.0"), FACTORY)]}, [
        "algorithm 'ztest-bad'",
        "$.api_version:",
        "api_version 9.0",
        "versions that work: ",
        "(rule: compatible api_version)",
    ]


def _no_default(site, pf):
    options = {"type": "object", "additionalProperties": False, "properties": {"epochs": {"type": "integer"}}}
    return {"algorithms": [(pf.algorithm_manifest("ztest-bad", options=options), FACTORY)]}, [
        "algorithm 'ztest-bad'",
        "$.options.properties.epochs:",
        "'default' is a required property",
        "(rule: required)",
    ]


def _factory_without_colon(site, pf):
    return {"tasks": [(pf.task_manifest("ztest-bad"), "ztest_pkg.tasks.Task")]}, [
        "task 'ztest-bad'",
        "factory 'ztest_pkg.tasks.Task' must be 'package.module:attribute'",
        "(rule: module:attribute)",
    ]


def _misspelled_hook(site, pf):
    return {"source": pf.hook_module(extra="@hookimpl\ndef climb_taks():\n    return []\n")}, [
        "implements hooks that do not exist",
        "'climb_taks' (did you mean 'climb_tasks'?)",
    ]


def _extra_argument(site, pf):
    return {"source": pf.hook_module(extra="@hookimpl\ndef climb_encoders(config):\n    return []\n")}, [
        "invalid hook implementation",
        "climb_encoders",
        "config",
    ]


def _import_raises(site, pf):
    return {"source": "import json\njson.loads('{')\n"}, [
        "failed to import (JSONDecodeError",
        "uninstall climb-ztest-broken",
    ]


BAD_INPUTS = {
    "missing-field": _missing_field,
    "wrong-type": _wrong_type,
    "unknown-field": _unknown_field,
    "incompatible-api-version": _api_version,
    "option-without-default": _no_default,
    "factory-without-colon": _factory_without_colon,
    "misspelled-hook": _misspelled_hook,
    "hook-with-extra-argument": _extra_argument,
    "import-raises": _import_raises,
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_validate_reports_each_bad_input(site, pf, healthy, case):
    spec, words = BAD_INPUTS[case](site, pf)
    bad = site.add_plugin("climb-ztest-broken", version="0.7.1", **spec)

    result = invoke("validate", bad, healthy)
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stdout.splitlines() if line.startswith("ERROR ")]
    assert len(errors) == 1, result.stdout
    (error,) = errors
    assert f"plugin {bad!r} (climb-ztest-broken 0.7.1)" in error  # plugin name, distribution, version
    for word in words:
        assert word in error, f"{word!r} not in {error!r}"
    assert f"ok    plugin {healthy!r} (climb-ztest-good 1.4.0): 3 component(s)" in result.stdout
    assert "2 plugin(s) checked, 1 error(s)" in result.stdout
    # every line of the output is a whole message: no continuation lines, no traceback
    assert all(line.startswith(("ERROR ", "ok    ")) for line in result.stdout.splitlines()[:-1]), (
        result.stdout
    )

    # `climb list` still lists the healthy plugin beside the broken one
    names = [r["name"] for r in listed(invoke("list", "--json"))["components"]]
    assert {"ztest-colour", "ztest-encoder", "ztest-finetune"} <= set(names)


def test_validate_duplicate_names_across_distributions(site, pf):
    a = site.add_plugin(
        "climb-ztest-dup-a", version="1.0.0", tasks=[(pf.task_manifest("ztest-dup"), FACTORY)]
    )
    b = site.add_plugin(
        "climb-ztest-dup-b", version="2.5.0", tasks=[(pf.task_manifest("ztest-dup"), FACTORY)]
    )
    result = invoke("validate", a, b)
    assert result.exit_code == 1
    errors = [line for line in result.stdout.splitlines() if line.startswith("ERROR ")]
    assert len(errors) == 2
    for error in errors:
        assert "task 'ztest-dup' > $.name:" in error and "(rule: unique name)" in error
        assert "climb-ztest-dup-a 1.0.0" in error and "climb-ztest-dup-b 2.5.0" in error


def test_validate_everything_fails_when_one_plugin_is_broken(site, pf, healthy):
    site.add_plugin("climb-ztest-broken", source="raise RuntimeError('boom')\n")
    result = invoke("validate")
    assert result.exit_code == 1
    assert "RuntimeError: boom" in result.stdout


# --------------------------------------------------------------------------- subprocesses
LIST_WITHOUT_TORCH = textwrap.dedent(
    """
    import contextlib, io, json, sys, traceback

    class Spy:  # remembers who imported torch first, for the failure message
        culprit = None
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("torch", "transformers") and Spy.culprit is None:
                Spy.culprit = "".join(traceback.format_stack(limit=12))
            return None
    sys.meta_path.insert(0, Spy())

    from climb_harness.cli import main
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["list", "--json"], standalone_mode=False)
    listing = json.loads(out.getvalue())
    heavy_after_list = sorted(m for m in ("torch", "transformers") if m in sys.modules)
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            main(["validate", sys.argv[1]], standalone_mode=False)
        except SystemExit as exc:
            code = exc.code
    print(json.dumps({
        "names": [c["name"] for c in listing["components"]],
        "validate_exit": code,
        "heavy": heavy_after_list,
        "after_validate": sorted(m for m in ("torch", "transformers") if m in sys.modules),
        "culprit": Spy.culprit,
    }))
    """
)


def test_list_does_not_import_torch_and_validate_imports_factories(site, pf):
    """``climb list`` reads manifests only; ``climb validate`` also imports each factory (it must resolve)."""
    heavy = site.write_module(
        "heavy",
        "import torch\n\nclass Model:\n    def __init__(self, options):\n        self.net = torch.nn.Linear(1, 1)\n",
    )
    ep = site.add_plugin(
        "climb-ztest-notorch",
        tasks=[(pf.task_manifest("ztest-notorch"), f"{heavy}:Model")],
        encoders=[(pf.encoder_manifest("ztest-notorch-enc"), f"{heavy}:Model")],
    )
    proc = subprocess.run(
        [sys.executable, "-c", LIST_WITHOUT_TORCH, ep],
        check=False,
        capture_output=True,
        text=True,
        env=subprocess_env(site.root),
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {"ztest-notorch", "ztest-notorch-enc"} <= set(report["names"])
    assert report["validate_exit"] == 0
    assert report["heavy"] == [], (
        f"climb list imported {report['heavy']}; first import from:\n{report['culprit']}"
    )
    assert "torch" in report["after_validate"]  # the factories' module was imported


def test_plugin_installed_with_pip_is_listed(tmp_path):
    """A real setuptools project, installed by pip into a folder, is found by a fresh ``climb list``."""
    pytest.importorskip("setuptools", reason="--no-build-isolation builds with the environment's setuptools")
    project = tmp_path / "project"
    package = project / "climb_ztest_wheel"
    package.mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [build-system]
            requires = ["setuptools>=68"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "climb-ztest-wheel"
            version = "0.3.1"
            requires-python = ">=3.10"

            [project.entry-points."climb.plugins"]
            ztest_wheel = "climb_ztest_wheel.plugin"

            [tool.setuptools.packages.find]
            include = ["climb_ztest_wheel*"]
            """
        ),
        encoding="utf-8",
    )
    (package / "__init__.py").write_text("", encoding="utf-8")
    manifest = {
        "name": "ztest-wheel-task",
        "api_version": API_VERSION,
        "summary": "a task from an installed wheel",
        "modality": "language",
        "images_per_example": 0,
        "head": {"type": "multiple-choice", "num_choices": 4},
        "metric": "accuracy",
        "random_baseline": 25.0,
        "options": {"type": "object", "additionalProperties": False, "properties": {}},
    }
    (package / "plugin.py").write_text(
        "from climb_harness.api import hookimpl, task\n\n"
        f"@hookimpl\ndef climb_tasks():\n    return [task({manifest!r}, 'climb_ztest_wheel.tasks:WheelTask')]\n",
        encoding="utf-8",
    )
    target = tmp_path / "target"
    env = subprocess_env()
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INDEX="1", PIP_NO_INPUT="1")
    pip = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-build-isolation",
            "--no-deps",
            "--target",
            str(target),
            str(project),
        ],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr
    assert (target / "climb_ztest_wheel-0.3.1.dist-info" / "entry_points.txt").is_file()

    climb = Path(sys.executable).with_name("climb")
    command = [str(climb)] if climb.is_file() else [sys.executable, "-m", "climb_harness.cli.main"]
    proc = subprocess.run(
        [*command, "list", "tasks", "--json"],
        check=False,
        capture_output=True,
        text=True,
        env=subprocess_env(target),
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [r for r in json.loads(proc.stdout)["components"] if r["name"] == "ztest-wheel-task"]
    assert rows == [
        {
            "name": "ztest-wheel-task",
            "kind": "task",
            "distribution": "climb-ztest-wheel",
            "version": "0.3.1",
            "plugin": "ztest_wheel",
            "summary": "a task from an installed wheel",
            "paper": None,
            "options": manifest["options"],
            "status": "ok",
            "problems": [],
        }
    ]
    # without the folder on the path, the plugin is gone: it was found through its metadata, nothing else
    proc = subprocess.run(
        [*command, "list", "tasks", "--json"],
        check=False,
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=60,
    )
    assert "ztest-wheel-task" not in [r["name"] for r in json.loads(proc.stdout)["components"]]
