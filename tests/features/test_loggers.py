"""Loggers: a component kind enabled from the config, the shipped TensorBoard and W&B (offline) ones."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from climb_harness.api import Algorithm, Logger
from climb_harness.cli import main
from climb_harness.core.engine import Runner
from climb_harness.testing import conformance_test
from climb_harness.testing.runs import run_spec

TEST_PLUGIN = "climb_harness.testing.plugin"

test_logger_conformance = conformance_test("logger:tensorboard")
test_wandb_conformance = conformance_test("logger:wandb")


class _Recording(Logger):
    def __init__(self) -> None:
        super().__init__({})
        self.calls: list[str] = []

    def run_start(self, run):
        self.calls.append("run_start")

    def epoch_end(self, run, task_index, task, epoch, logs):
        self.calls.append(f"epoch {task}:{epoch}:{sorted(logs)[:2]}")

    def task_end(self, run, task_index, task, scores):
        self.calls.append(f"task_end {task}")

    def run_end(self, run, results):
        self.calls.append("run_end")

    def close(self):
        self.calls.append("close")


class _Broken(Logger):
    def epoch_end(self, run, task_index, task, epoch, logs):
        raise RuntimeError("disk on fire")


def test_a_logger_sees_every_event_and_a_broken_one_cannot_stop_the_run(tmp_path):
    recording, lines = _Recording(), []
    spec = run_spec(Algorithm(), tmp_path / "run", epochs=2)
    spec.loggers, spec.echo = [_Broken(), recording], lines.append
    results = Runner(spec).run()
    assert results["status"] == "complete"
    assert recording.calls[0] == "run_start" and recording.calls[-2:] == ["run_end", "close"]
    assert sum(c.startswith("epoch ") for c in recording.calls) == 4
    assert [c for c in recording.calls if c.startswith("task_end")] == ["task_end colours", "task_end yesno"]
    assert sum("disk on fire" in line for line in lines) == 1  # warned once, not per epoch


def _config(tmp_path: Path, loggers) -> Path:
    config = {"name": "tiny", "tasks": [{"name": "synthetic-colour", "options": {"size": 32, "seed": 1}},
                                        {"name": "synthetic-yesno", "options": {"size": 32, "seed": 2}}],
              "encoder": "tiny", "algorithms": ["finetune"], "training": {"epochs": 2, "progress": False},
              "references": {"direct": False}, "loggers": loggers}
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None, reason="the tensorboard extra is not installed")
def test_tensorboard_event_files_read_back(tmp_path, monkeypatch):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    monkeypatch.setenv("CLIMB_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", "--config", str(_config(tmp_path, ["tensorboard"])), "--plugin", TEST_PLUGIN,
                                       "--output", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    events = EventAccumulator(str(out / "finetune" / "seed-0" / "tensorboard"), size_guidance={"images": 4})
    events.Reload()
    tags = events.Tags()
    assert [e.step for e in events.Scalars("train/loss")] == [1, 2, 3, 4]  # two tasks x two epochs
    assert {"score/synthetic-colour", "score/synthetic-yesno", "metrics/average_accuracy"} <= set(tags["scalars"])
    assert [e.step for e in events.Scalars("score/synthetic-colour")] == [1, 2]
    image = events.Images("accuracy_matrix")[0]
    assert (image.width, image.height) == (2 * 24, 2 * 24)


@pytest.mark.skipif(importlib.util.find_spec("wandb") is None, reason="the wandb extra is not installed")
def test_wandb_writes_an_offline_run(tmp_path, monkeypatch):
    monkeypatch.setenv("CLIMB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", "--config", str(_config(tmp_path, [{"name": "wandb", "options": {"project": "t"}}])),
                                       "--plugin", TEST_PLUGIN, "--output", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    runs = list((out / "finetune" / "seed-0" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and list(runs[0].glob("*.wandb"))


def test_a_logger_whose_package_is_missing_is_refused_before_running(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a))
    result = CliRunner().invoke(main, ["run", "--config", str(_config(tmp_path, ["tensorboard"])), "--plugin", TEST_PLUGIN,
                                       "--output", str(tmp_path / "out")])
    assert result.exit_code == 2 and "pip install climb-harness[tensorboard]" in result.output
    assert not (tmp_path / "out" / "finetune").exists()


def test_an_unknown_logger_is_a_usage_error_naming_the_installed_ones(tmp_path):
    result = CliRunner().invoke(main, ["run", "--config", str(_config(tmp_path, ["tensorbord"])), "--plugin", TEST_PLUGIN,
                                       "--output", str(tmp_path / "out")])
    assert result.exit_code == 2 and "tensorboard" in result.output and "Traceback" not in result.output


def test_climb_list_loggers():
    result = CliRunner().invoke(main, ["list", "loggers"])
    assert result.exit_code == 0 and "tensorboard" in result.output and "wandb" in result.output


def test_logger_methods_and_lifecycle_hooks_are_one_definition() -> None:
    """Each run event is a hook ``climb_<event>`` and a Logger method ``<event>`` with the same parameters."""
    import inspect

    from climb_harness.api import Logger, hookspecs

    hooks = {name.removeprefix("climb_") for name in dir(hookspecs) if name.startswith("climb_") and
             name.removeprefix("climb_") not in ("tasks", "encoders", "algorithms", "loggers")}
    assert hooks == set(hookspecs.RUN_EVENTS)
    for event in hookspecs.RUN_EVENTS:
        spec = inspect.signature(getattr(hookspecs, f"climb_{event}"))
        method = inspect.signature(getattr(Logger, event))
        assert list(method.parameters)[1:] == list(spec.parameters), event
        assert [p.annotation for p in list(method.parameters.values())[1:]] == \
               [p.annotation for p in spec.parameters.values()], event
