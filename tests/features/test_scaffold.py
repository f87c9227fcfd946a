"""``climb new``: each kind of plugin is scaffolded, really pip-installed, and passes the conformance kit.

The three distributions are written once per module, installed together with
``pip install --no-build-isolation --no-deps --target`` (the real build backend reads the generated
pyproject, entry point and package data) and put on ``sys.path``, where ``importlib.metadata``
finds their entry points exactly as for a plugin installed in the venv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from climb_harness.api import API_VERSION
from climb_harness.api.errors import UsageError
from climb_harness.core.registry import Registry
from climb_harness.scaffold.files import names, new_plugin, next_steps, plan, render
from climb_harness.testing.conformance import check_component, check_plugin, conformance_cases, format_results

#: kind -> component name; the names use each separator the manifest pattern allows.
PLUGINS = {"task": "zscaf-colours", "encoder": "zscaf.bow", "algorithm": "zscaf_l2"}


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """The three scaffolded distributions, pip-installed into a folder on ``sys.path``."""
    root = tmp_path_factory.mktemp("scaffold")
    made = {kind: new_plugin(kind, name, root) for kind, name in PLUGINS.items()}
    target = root / "site"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-build-isolation",
            "--no-deps",
            "--no-compile",
            "--target",
            str(target),
            *map(str, made.values()),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(target))
        yield {**made, "site": target}
    for module in [m for m in sys.modules if m.startswith("climb_zscaf")]:
        del sys.modules[module]


def test_layout_of_a_new_plugin(installed):
    for kind, name in PLUGINS.items():
        root = installed[kind]
        values = names(kind, name)
        assert root.name == f"climb-{name}"
        expected = {
            "pyproject.toml",
            "README.md",
            ".github/workflows/climb-check.yml",
            f"{values['PACKAGE']}/__init__.py",
            f"{values['PACKAGE']}/plugin.py",
            f"{values['PACKAGE']}/{kind}.py",
            f"tests/test_{values['PACKAGE']}.py",
        }
        written = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
        assert expected <= written, expected - written
        assert f'"{name}" = "{values["PACKAGE"]}.plugin"' in (root / "pyproject.toml").read_text()
        assert f"climb check {name}" in (root / ".github/workflows/climb-check.yml").read_text()
        readme = (root / "README.md").read_text()
        assert f"`{values['CLASS']}`" in readme and "@" + "NAME@" not in readme
        assert "import torch" not in (root / values["PACKAGE"] / "plugin.py").read_text()
    sample = installed["task"] / "climb_zscaf_colours" / "sample"
    assert sorted(p.name for p in sample.glob("*.jsonl")) == ["test.jsonl", "train.jsonl", "val.jsonl"]
    assert len(list((sample / "images").glob("*.png"))) == 6


def test_installed_plugins_register_valid_components(installed):
    registry = Registry()
    for kind, name in PLUGINS.items():
        entry = registry.get(kind, name)  # raises if missing or invalid
        assert entry.plugin.distribution == f"climb-{name}" and entry.plugin.version == "0.1.0"
        assert entry.manifest["api_version"] == API_VERSION


@pytest.mark.parametrize("kind", list(PLUGINS))
def test_scaffolded_plugin_passes_the_conformance_kit(installed, kind, tmp_path):
    results = check_plugin(Registry(), f"climb-{PLUGINS[kind]}", tmp_path)
    assert len({r.component for r in results}) == 2  # the plugin and its one component
    assert all(r.status == "passed" for r in results), format_results(results)  # none skipped either


def test_scaffolded_task_reads_a_data_dir(installed, tmp_path):
    from PIL import Image

    data = tmp_path / "data"
    (data / "pics").mkdir(parents=True)
    Image.new("RGB", (10, 10), (0, 0, 255)).save(data / "pics" / "b.png")
    for split, count in (("train", 5), ("val", 2), ("test", 2)):
        lines = [
            json.dumps({"id": f"{split}{i}", "text": "which colour", "image": "pics/b.png", "label": "blue"})
            for i in range(count)
        ]
        (data / f"{split}.jsonl").write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    registry = Registry()
    results = check_component(registry, "task", PLUGINS["task"], tmp_path, options={"data_dir": str(data)})
    assert all(r.status == "passed" for r in results), format_results(results)
    assert "train: 5 examples" in {r.name: r.message for r in results}["examples('train') load"]
    task = registry.build("task", PLUGINS["task"], {"data_dir": str(data), "max_examples": 3})
    train = task.examples("train")
    assert [e.target for e in train] == [2, 2, 2] and train[0].images == (str(data / "pics" / "b.png"),)
    missing = {
        r.name: r
        for r in check_component(
            registry, "task", PLUGINS["task"], tmp_path, options={"data_dir": str(tmp_path / "none")}
        )
    }
    assert missing["examples('train') load"].status == "skipped"
    assert "train.jsonl does not exist" in missing["examples('train') load"].message


def test_scaffolded_algorithm_with_its_hook_on_resumes_exactly(installed, tmp_path):
    """l2_weight > 0 carries the previous task's weights across tasks: they must survive resume."""
    results = check_component(
        Registry(), "algorithm", PLUGINS["algorithm"], tmp_path, options={"l2_weight": 0.5}
    )
    by_name = {r.name: r for r in results}
    assert all(r.status == "passed" for r in results), format_results(results)
    from climb_harness.testing.components import TinyEncoder

    anchored = len(list(TinyEncoder({}).parameters()))  # the conformance run's encoder
    assert f"{anchored} entries ({anchored} tensor(s))" in by_name["state_dict checkpointable"].message
    assert "identical" in by_name["resume reproduces the run"].message


@pytest.mark.slow  # pytest in a subprocess
def test_generated_tests_pass(installed):
    """The tests written into each plugin pass as its author would run them: each kit check its own item."""
    env = dict(
        os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=os.pathsep.join([str(installed["site"]), *sys.path])
    )
    tests = [str(installed[kind] / "tests") for kind in PLUGINS]  # one session: torch is imported once
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "-o", "addopts=", *tests],
        capture_output=True,
        text=True,
        cwd=installed["site"].parent,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    registry = Registry()
    kit = sum(len(conformance_cases(f"climb-{name}", registry=registry)) for name in PLUGINS.values())
    penalty_on = f"algorithm:{PLUGINS['algorithm']}"
    kit += len(conformance_cases(penalty_on, options={"l2_weight": 0.1}, registry=registry))
    own = 3 + 2 + 2  # the task's, the encoder's and the algorithm's own tests
    # 4 per plugin; the task (3 splits); the encoder (test_options, 6 probes); the algorithm twice
    assert kit == 4 * 3 + 8 + 15 + 9 * 2
    summary = proc.stdout.strip().splitlines()[-1]
    assert f"{kit + own} passed" in summary and "skipped" not in summary, proc.stdout[-2000:]
    for item in ("test_conformance[plugin:zscaf_l2::light-import]",
                 "test_conformance[task:zscaf-colours::examples-test]",
                 "test_conformance_with_the_penalty_on[algorithm:zscaf_l2::resume-is-exact]"):
        assert item in proc.stdout, proc.stdout[-2000:]


# --------------------------------------------------------------------------- refusals
def test_refuses_to_overwrite(tmp_path):
    existing = tmp_path / "climb-zscaf-taken"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="already exists; climb new never overwrites") as info:
        new_plugin("task", "zscaf-taken", tmp_path)
    assert info.value.exit_code == 2
    assert [p.name for p in existing.iterdir()] == ["keep.txt"] and sorted(
        p.name for p in tmp_path.iterdir()
    ) == ["climb-zscaf-taken"]


@pytest.mark.parametrize(
    ("kind", "name", "message"),
    [
        ("task", "My Task", "is not a valid component name"),
        ("task", "-task", "is not a valid component name"),
        ("task", "Task", "is not a valid component name"),
        ("task", "", "is not a valid component name"),
        ("encoder", "climb-zscaf", "without the 'climb-' prefix"),
        ("algorithm", "harness", "A module named climb_harness is already importable"),
        ("model", "zscaf", "Unknown kind 'model'"),
    ],
)
def test_refuses_bad_arguments(tmp_path, kind, name, message):
    with pytest.raises(UsageError, match=message) as info:
        new_plugin(kind, name, tmp_path)
    assert info.value.exit_code == 2
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    from climb_harness.scaffold import files as scaffold

    def broken(folder, *args):
        raise OSError("disk full")

    monkeypatch.setattr(scaffold, "write_task_sample", broken)
    with pytest.raises(OSError, match="disk full"):
        new_plugin("task", "zscaf-broken", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_names_and_rendering():
    assert names("task", "3d-vqa")["CLASS"] == "Climb3dVqaTask"
    assert names("algorithm", "my_algo.v2") == {
        **names("algorithm", "my_algo.v2"),
        "PACKAGE": "climb_my_algo_v2",
        "CLASS": "MyAlgoV2Algorithm",
        "DIST": "climb-my_algo.v2",
    }
    assert names("encoder", "bow-encoder")["CLASS"] == "BowEncoder"
    with pytest.raises(ValueError, match="unknown placeholder"):
        render("x = @NOPE@", {"NAME": "a"})
    for kind in PLUGINS:
        for path, text in plan(kind, "zscaf-plan").items():
            if path.endswith(".py"):
                compile(text, path, "exec")  # every generated module is valid Python
    assert "pip install -e" in next_steps(Path("climb-x"), "x")
