"""scripts/changed_plugins.py: which plugins a pull request needs tested (the CI selection step)."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "changed_plugins.py"
PLUGINS = ["climb-adapters", "climb-ewc", "climb-replay"]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("climb_changed_plugins_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cp = _load()


def selected(*paths: str, plugins: list[str] = PLUGINS) -> list[str]:
    return list(cp.select(paths, plugins))


# --------------------------------------------------------------------------- the rules, on hand-made lists
def test_a_change_inside_a_plugin_selects_that_plugin_only():
    assert selected("plugins/climb-ewc/climb_ewc/ewc.py") == ["climb-ewc"]
    assert selected("plugins/climb-ewc/tests/test_ewc_run.py", "plugins/climb-replay/pyproject.toml") == [
        "climb-ewc",
        "climb-replay",
    ]


def test_a_plugins_markdown_selects_it_because_its_tests_read_its_readme():
    assert selected("plugins/climb-ewc/README.md") == ["climb-ewc"]


@pytest.mark.parametrize(
    "path",
    ["climb_harness/runner.py", "climb_harness/templates/common/README.md.tmpl", "schemas/task.schema.json",
     "pyproject.toml", "scripts/setup.sh", "conftest.py", "scripts/changed_plugins.py",
     ".github/workflows/plugins.yml"],
)
def test_a_core_change_selects_every_plugin(path):
    assert selected(path) == PLUGINS


@pytest.mark.parametrize(
    "path",
    ["README.md", "CONTRIBUTING.md", "docs/design.md", "tests/test_runner.py", "benchmarks/throughput.py",
     ".github/pull_request_template.md", "plugins/README.md", "climb_harness_extra/x.py",
     "schemas.md", "old/pyproject.toml", "scripts/other.sh"],
)
def test_docs_core_tests_and_lookalikes_select_nothing(path):
    assert selected(path) == []


def test_a_deleted_plugin_is_not_selected_even_by_a_core_change():
    assert selected("plugins/climb-bcl/climb_bcl/bcl.py", "plugins/climb-bcl/pyproject.toml") == []
    assert selected("climb_harness/api.py", plugins=["climb-ewc"]) == ["climb-ewc"]


def test_a_renamed_plugin_selects_only_its_new_folder():
    assert selected("plugins/climb-er/pyproject.toml", "plugins/climb-replay/pyproject.toml") == ["climb-replay"]


def test_paths_are_normalised_and_blank_lines_ignored():
    assert selected("./plugins/climb-ewc/a.py", "", "   ", "plugins\\climb-replay\\b.py") == ["climb-ewc", "climb-replay"]


def test_reasons_name_the_paths_that_selected_each_plugin():
    reasons = cp.select(["plugins/climb-ewc/a.py", "schemas/task.schema.json"], ["climb-ewc", "climb-replay"])
    assert reasons == {
        "climb-ewc": ["plugins/climb-ewc/a.py", "schemas/task.schema.json"],
        "climb-replay": ["schemas/task.schema.json"],
    }


def test_nothing_changed_selects_nothing():
    assert selected() == []


# --------------------------------------------------------------------------- the command line
def _fake_repo(root: Path, plugins: list[str] = PLUGINS) -> Path:
    for name in plugins:
        (root / "plugins" / name).mkdir(parents=True)
        (root / "plugins" / name / "pyproject.toml").write_text(f'[project]\nname = "{name}-dist"\nversion = "0.1"\n')
    (root / "plugins" / "not-a-plugin").mkdir()  # no pyproject.toml: never selected
    return root


def test_discover_plugins_needs_a_pyproject(tmp_path):
    assert cp.discover_plugins(_fake_repo(tmp_path)) == PLUGINS
    assert cp.discover_plugins(tmp_path / "missing") == []


def test_cli_prints_one_folder_a_line_from_arguments(tmp_path, capsys):
    root = _fake_repo(tmp_path)
    assert cp.main(["--root", str(root), "plugins/climb-replay/x.py", "plugins/not-a-plugin/y.py", "README.md"]) == 0
    assert capsys.readouterr().out == "plugins/climb-replay\n"


def test_cli_reads_stdin_and_prints_json_with_distribution_names(tmp_path, capsys, monkeypatch):
    root = _fake_repo(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO("plugins/climb-ewc/a.py\nCONTRIBUTING.md\n"))
    assert cp.main(["--root", str(root), "--json", "--verbose"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == [
        {"folder": "plugins/climb-ewc", "distribution": "climb-ewc-dist", "reasons": ["plugins/climb-ewc/a.py"]}
    ]
    assert "plugins/climb-ewc: plugins/climb-ewc/a.py" in captured.err


def test_cli_with_nothing_selected_prints_nothing_and_succeeds(tmp_path, capsys):
    assert cp.main(["--root", str(_fake_repo(tmp_path)), "--json", "README.md"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_cli_refuses_paths_together_with_base(tmp_path, capsys):
    assert cp.main(["--root", str(tmp_path), "--base", "main", "README.md"]) == 2
    assert "not both" in capsys.readouterr().err


# --------------------------------------------------------------------------- against a real (temporary) git repository
def _git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(
        ["git", "-c", "user.name=CI", "-c", "user.email=ci@example.invalid", "-c", "commit.gpgsign=false", *args],
        cwd=root, env=env, capture_output=True, text=True, check=True,
    )
    return done.stdout


def test_base_ref_diffs_the_branch_against_its_merge_base(tmp_path):
    root = _fake_repo(tmp_path / "repo", ["climb-a", "climb-b", "climb-c"])
    (root / "README.md").write_text("# repo\n")
    (root / "plugins" / "climb-c" / "code.py").write_text("x = 1\n")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "base")
    _git(root, "checkout", "-q", "-b", "feature")
    (root / "plugins" / "climb-a" / "new.py").write_text("y = 2\n")  # changed: selected
    for path in (root / "plugins" / "climb-b").iterdir():  # deleted: not selected
        path.unlink()
    (root / "plugins" / "climb-b").rmdir()
    (root / "README.md").write_text("# repo, documented\n")  # docs only: nothing
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "feature")
    _git(root, "checkout", "-q", "main")  # a later commit on the base is not the branch's change
    (root / "plugins" / "climb-c" / "code.py").write_text("x = 3\n")
    _git(root, "commit", "-q", "-am", "main moves on")
    _git(root, "checkout", "-q", "feature")

    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--base", "main", "--verbose"], cwd=root, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == "plugins/climb-a\n"

    bad = subprocess.run([sys.executable, str(SCRIPT), "--base", "no-such-ref"], cwd=root, capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stdout == ""
    assert "could not diff no-such-ref...HEAD" in bad.stderr and "fetch-depth: 0" in bad.stderr


def test_the_workflow_runs_the_selection_then_each_plugins_checks():
    import yaml

    workflow = yaml.safe_load((SCRIPT.parents[1] / ".github" / "workflows" / "plugins.yml").read_text())
    assert set(workflow[True]) == {"pull_request"}  # YAML reads the key `on` as True
    steps = workflow["jobs"]["changed-plugins"]["steps"]
    checkout = next(s for s in steps if str(s.get("uses", "")).startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    script = "\n".join(str(s.get("run", "")) for s in steps)
    order = [script.index(part) for part in ("scripts/setup.sh", "scripts/changed_plugins.py --base", "climb check", "pytest")]
    assert order == sorted(order)
    assert "github.event.pull_request.base.sha" in str(steps)
