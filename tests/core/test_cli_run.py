"""`climb run` end to end: configs, overrides, bad input, a real process kill and --resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from climb_harness.cli import main

TEST_PLUGIN = "climb_harness.testing.plugin"

CONFIG = {
    "name": "tiny",
    "tasks": [{"name": "synthetic-colour", "options": {"size": 48, "seed": 1}},
              {"name": "synthetic-yesno", "options": {"size": 48, "seed": 2}}],
    "encoder": "tiny",
    "algorithms": ["finetune"],
    "seeds": [0],
    "training": {"epochs": 2, "progress": False},
    "references": {"direct": True},
}


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIMB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def write_config(tmp_path: Path, config: dict | None = None, name: str = "exp.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config or CONFIG))
    return path


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_run_writes_results_prints_matrix_and_table(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("run", "--config", str(write_config(tmp_path)), "--plugin", TEST_PLUGIN, "--output", str(out))
    assert result.exit_code == 0, result.output
    assert "after synthetic-colour" in result.output and "| finetune | 1 |" in result.output
    results = json.loads((out / "finetune" / "seed-0" / "results.json").read_text())
    assert results["status"] == "complete"
    assert set(results["references"]["direct"]) == {"synthetic-colour", "synthetic-yesno"}
    assert all(v is not None for v in results["references"]["direct"].values())
    assert set(results["metrics"]["knowledge_transfer"]) == {"synthetic-colour", "synthetic-yesno"}
    assert json.loads((out / "experiment.json").read_text())["tasks"][0]["name"] == "synthetic-colour"
    assert (out / "summary.md").read_text().startswith("| algorithm")
    # the direct reference is cached: a second experiment reuses it
    cached = list((tmp_path / "cache" / "direct").glob("*.json"))
    assert len(cached) == 2
    mtimes = {p: p.stat().st_mtime_ns for p in cached}
    again = invoke("run", "--config", str(write_config(tmp_path)), "--plugin", TEST_PLUGIN, "--output", str(tmp_path / "out2"))
    assert again.exit_code == 0 and "direct fine-tuning reference" not in again.output
    assert {p: p.stat().st_mtime_ns for p in cached} == mtimes
    # a complete run is not redone
    third = invoke("run", "--config", str(write_config(tmp_path)), "--plugin", TEST_PLUGIN, "--output", str(out))
    assert "already complete" in third.output


def test_grid_over_algorithms_and_seeds_with_set_overrides(tmp_path: Path) -> None:
    out = tmp_path / "grid"
    result = invoke("run", "--config", str(write_config(tmp_path)), "--plugin", TEST_PLUGIN, "--output", str(out),
                    "--set", "seeds=[0,1]", "--set", "algorithms=[finetune, {name: finetune, label: ft-again}]",
                    "--set", "training.epochs=1", "--set", "references.direct=false")
    assert result.exit_code == 0, result.output
    runs = sorted(str(p.relative_to(out)) for p in out.rglob("results.json"))
    assert runs == ["finetune/seed-0/results.json", "finetune/seed-1/results.json", "ft-again/seed-0/results.json", "ft-again/seed-1/results.json"]
    config = json.loads((out / "finetune" / "seed-1" / "results.json").read_text())["config"]
    assert config["training"]["epochs"] == 1 and config["seed"] == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--set", "tasks=[synthetic-colur]"], ["No task named 'synthetic-colur'", "Did you mean 'synthetic-colour'", "synthetic-yesno"]),
        (["--set", "encoder=tinyy"], ["No encoder named 'tinyy'", "Did you mean 'tiny'"]),
        (["--set", "algorithms=[finetun]"], ["No algorithm named 'finetun'", "Did you mean 'finetune'"]),
        (["--set", "trainig.epochs=2"], ["unknown key 'trainig' at $", "did you mean 'training'"]),
        (["--set", "training.epoch=2"], ["unknown key 'epoch' at $.training", "did you mean 'epochs'"]),
        (["--set", "algorithms=[{name: finetune, options: {lr: 1}}]"], ["Invalid options for algorithm 'finetune' at algorithms[0].options", "'lr'"]),
        (["--set", "tasks.0.options.size=-3"], ["Invalid options for task 'synthetic-colour' at tasks[0].options", "$.size"]),
        (["--set", "training.epochs=zero"], ["$.training.epochs", "is not of type"]),
        (["--set", "nonsense"], ["must look like KEY=VALUE"]),
    ],
)
def test_bad_input_is_a_one_paragraph_usage_error(tmp_path: Path, args: list[str], expected: list[str]) -> None:
    out = tmp_path / "out"
    result = invoke("run", "--config", str(write_config(tmp_path)), "--plugin", TEST_PLUGIN, "--output", str(out), *args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for text in expected:
        assert text in result.output
    assert not (out / "finetune").exists()  # nothing trained


def test_missing_config_file_and_unparseable_yaml(tmp_path: Path) -> None:
    result = invoke("run", "--config", str(tmp_path / "nope.yaml"), "--plugin", TEST_PLUGIN)
    assert result.exit_code == 2 and "does not exist" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("tasks: [a, b\n")
    result = invoke("run", "--config", str(bad), "--plugin", TEST_PLUGIN)
    assert result.exit_code == 2 and "not valid YAML" in result.output


def test_missing_data_folder_is_a_clear_error(tmp_path: Path) -> None:
    pytest.importorskip("climb_easyvqa")
    config = {**CONFIG, "tasks": [{"name": "easyvqa-shape", "options": {"data_dir": str(tmp_path / "no-such-folder")}}],
              "references": {"direct": False}}
    result = invoke("run", "--config", str(write_config(tmp_path, config)), "--plugin", TEST_PLUGIN, "--output", str(tmp_path / "o"))
    assert result.exit_code == 1, result.output
    assert "Data for task 'easyvqa-shape'" in result.output and "no-such-folder" in result.output
    assert "Traceback" not in result.output


def test_corrupt_checkpoint_on_resume_leaves_results_untouched(tmp_path: Path) -> None:
    out = tmp_path / "out"
    config = write_config(tmp_path)
    assert invoke("run", "--config", str(config), "--plugin", TEST_PLUGIN, "--output", str(out)).exit_code == 0
    run_dir = out / "finetune" / "seed-0"
    results = json.loads((run_dir / "results.json").read_text())
    results.update(status="running", accuracy_matrix=results["accuracy_matrix"][:1])
    (run_dir / "results.json").write_text(json.dumps(results))
    before = (run_dir / "results.json").read_bytes()
    (run_dir / "checkpoints" / "task-00-synthetic-colour.safetensors").write_bytes(b"\x00garbage")
    result = invoke("run", "--config", str(config), "--plugin", TEST_PLUGIN, "--output", str(out), "--resume")
    assert result.exit_code == 1
    assert "corrupt" in result.output and "task-00-synthetic-colour.safetensors" in result.output
    assert (run_dir / "results.json").read_bytes() == before


def _climb(*args: str, env: dict[str, str]) -> subprocess.Popen:
    code = "import sys; from climb_harness.cli import main; sys.exit(main())"
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow  # a process killed and resumed
def test_killed_during_second_task_then_resumed_equals_uninterrupted(tmp_path: Path, pf) -> None:
    killer = tmp_path / "killer.py"
    killer.write_text(pf.STALL_IN_SECOND_TASK)
    config_path = write_config(tmp_path)
    env = {**os.environ, "CLIMB_CACHE_DIR": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"}
    common = ["run", "--config", str(config_path), "--plugin", TEST_PLUGIN, "--plugin", str(killer)]

    stall = tmp_path / "stalled"
    killed = _climb(*common, "--output", str(tmp_path / "killed"), env={**env, "CLIMB_TEST_STALL": str(stall)})
    deadline = time.time() + 240
    while not stall.exists():
        assert killed.poll() is None, killed.communicate()[0]
        assert time.time() < deadline, "the run never reached its second task"
        time.sleep(0.1)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    assert killed.returncode == -signal.SIGKILL
    run_dir = tmp_path / "killed" / "finetune" / "seed-0"
    partial = json.loads((run_dir / "results.json").read_text())
    assert partial["status"] == "running" and len(partial["accuracy_matrix"]) == 1

    resumed = _climb(*common, "--output", str(tmp_path / "killed"), "--resume", env=env)
    output = resumed.communicate(timeout=240)[0]
    assert resumed.returncode == 0, output
    straight = _climb(*common, "--output", str(tmp_path / "straight"), env=env)
    output = straight.communicate(timeout=240)[0]
    assert straight.returncode == 0, output

    a = json.loads((run_dir / "results.json").read_text())
    b = json.loads((tmp_path / "straight" / "finetune" / "seed-0" / "results.json").read_text())
    assert a["status"] == b["status"] == "complete"
    assert a["accuracy_matrix"] == b["accuracy_matrix"]
    assert a["metrics"] == b["metrics"]
    assert a["initial_scores"] == b["initial_scores"]
