"""Lifecycle observers (plugins implementing climb_run_start ... climb_run_end) can neither stop a
run nor change what it records; only KeyboardInterrupt (a user's Ctrl-C, or AbortRun) gets through."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pluggy
import pytest
import yaml
from click.testing import CliRunner

from climb_harness.api import hookspecs
from climb_harness.api import Algorithm, hookimpl
from climb_harness.cli import main
from climb_harness.core.results import RESULTS_FILE
from climb_harness.core.engine import AbortRun, Runner, RunSpec, plain
from climb_harness.testing.runs import StopRun, run_algorithm, run_spec, tiny_tasks

HOOKS = ("climb_run_start", "climb_task_start", "climb_epoch_end", "climb_task_end", "climb_run_end")


def relay(**plugins: object) -> Any:
    """A pluggy hook relay with ``plugins`` registered under their keyword names (as the registry does)."""
    pm = pluggy.PluginManager("climb")
    pm.add_hookspecs(hookspecs)
    for name, plugin in plugins.items():
        pm.register(plugin, name=name)
    return pm.hook


def spec(out: Path, hooks: Any = None, echo: Any = None) -> RunSpec:
    base = run_spec(Algorithm(), out, tasks=tiny_tasks(2, size=16))
    return dataclasses.replace(base, hooks=hooks, echo=echo, plugins=[
        {"plugin": "raiser", "distribution": "climb-raiser", "version": "0.3"}])


def recorded(out: Path) -> dict[str, Any]:
    """What results.json records, without the fields that differ between two runs (times, dates)."""
    results = json.loads((out / RESULTS_FILE).read_text())
    for log in results["training_log"]:
        for epoch in log["epochs"]:
            for timed in ("seconds", "train_seconds", "eval_seconds", "train_examples_per_second"):
                epoch.pop(timed)
    return {k: v for k, v in results.items() if k not in ("timing", "provenance")}


class Recorder:
    """Counts every event it sees (it must keep seeing them when another observer fails)."""

    def __init__(self) -> None:
        self.events: list[str] = []

    @hookimpl
    def climb_run_start(self, run: Any) -> None:
        self.events.append("run_start")

    @hookimpl
    def climb_task_end(self, task: str) -> None:
        self.events.append(f"task_end {task}")

    @hookimpl
    def climb_run_end(self, results: Any) -> None:
        self.events.append(f"run_end {results['status']}")


class Raiser:
    """Raises ``error`` in every lifecycle hook."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def _raise(self) -> None:
        raise self.error

    @hookimpl
    def climb_run_start(self, run: Any) -> None:
        self._raise()

    @hookimpl
    def climb_epoch_end(self, logs: Any) -> None:
        self._raise()

    @hookimpl
    def climb_task_end(self, scores: Any) -> None:
        self._raise()

    @hookimpl
    def climb_run_end(self, results: Any) -> None:
        self._raise()


@pytest.mark.parametrize("error", [RuntimeError("observer bug " * 200), SystemExit(3), ValueError()],
                         ids=["Exception", "SystemExit", "no message"])
def test_raising_observer_is_warned_about_and_the_run_goes_on(tmp_path: Path, error: BaseException) -> None:
    lines: list[str] = []
    witness = Recorder()
    results = Runner(spec(tmp_path / "run", relay(raiser=Raiser(error), witness=witness), lines.append)).run()
    assert results["status"] == "complete"
    assert recorded(tmp_path / "run") == recorded_clean(tmp_path)
    assert witness.events == ["run_start", "task_end colours", "task_end yesno", "run_end complete"]
    first = [line for line in lines if "raised" in line]
    assert {hook for hook in HOOKS if any(f"in hook {hook};" in line for line in first)} == {
        "climb_run_start", "climb_epoch_end", "climb_task_end", "climb_run_end"}
    assert len(first) == 4, lines  # once per plugin and hook ...
    assert all("'raiser' (climb-raiser 0.3)" in line and type(error).__name__ in line and len(line) < 1000
               for line in first)
    assert any("failed 2 times in hook climb_task_end" in line for line in lines), lines  # ... then counted


def recorded_clean(tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "clean"
    if not (out / RESULTS_FILE).exists():
        Runner(spec(out)).run()
    return recorded(out)


class Mutator:
    """Tries to change everything it is handed; each attempt must fail inside the observer."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def _try(self, label: str, change: Any) -> None:
        try:
            change()
        except (TypeError, AttributeError):
            self.failures.append(label)

    @hookimpl
    def climb_run_start(self, run: Any) -> None:
        self._try("run", lambda: run.__setitem__("algorithm", "hacked"))
        self._try("run.config", lambda: run["config"].__setitem__("tasks", []))

    @hookimpl
    def climb_epoch_end(self, logs: Any) -> None:
        self._try("logs", lambda: logs.__setitem__("train_loss", -1.0))

    @hookimpl
    def climb_task_end(self, scores: Any) -> None:
        self._try("scores", lambda: scores.update({"colours": 100.0}))

    @hookimpl
    def climb_run_end(self, results: Any) -> None:
        self._try("results", lambda: results.__setitem__("status", "hacked"))
        self._try("results.matrix", lambda: results["accuracy_matrix"].append([0.0, 0.0]))
        self._try("results.row", lambda: results["accuracy_matrix"][0].__setitem__(0, 0.0))
        results["metrics"]["bwt"] = 1e9  # not caught here: reported as the observer's failure


def test_mutating_observer_cannot_change_results(tmp_path: Path) -> None:
    lines: list[str] = []
    mutator = Mutator()
    returned = Runner(spec(tmp_path / "run", relay(mutator=mutator), lines.append)).run()
    assert sorted(set(mutator.failures)) == sorted(
        ["run", "run.config", "logs", "scores", "results", "results.matrix", "results.row"])
    assert recorded(tmp_path / "run") == recorded_clean(tmp_path)
    assert returned["status"] == "complete" and returned["metrics"]["bwt"] != 1e9
    assert any("'mutator'" in line and "climb_run_end" in line and "TypeError" in line for line in lines)


def test_views_turn_back_into_plain_data_for_loggers(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    class Logger:
        @hookimpl
        def climb_run_end(self, run: Any, results: Any) -> None:
            seen["json"] = json.dumps(plain(results))

    results = Runner(spec(tmp_path, relay(logger=Logger()))).run()
    assert json.loads(seen["json"]) == json.loads(json.dumps(results))


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, AbortRun])
def test_keyboard_interrupt_propagates_and_the_run_resumes(tmp_path: Path, interrupt: type) -> None:
    class CtrlC:
        @hookimpl
        def climb_task_end(self, task_index: int) -> None:
            if task_index == 0:
                raise interrupt()

    out = tmp_path / "run"
    with pytest.raises(interrupt):
        Runner(spec(out, relay(ctrl_c=CtrlC()))).run()
    assert len(json.loads((out / RESULTS_FILE).read_text())["accuracy_matrix"]) == 1
    assert Runner(spec(out)).run(resume=True)["status"] == "complete"


def test_in_process_hooks_object_still_stops_a_run_for_resume_tests(tmp_path: Path) -> None:
    with pytest.raises(StopRun):
        run_algorithm(Algorithm(), tmp_path, tasks=tiny_tasks(2, size=16), stop_after=0)
    resumed = run_algorithm(Algorithm(), tmp_path, tasks=tiny_tasks(2, size=16), resume=True)
    assert resumed["status"] == "complete"


def test_observer_plugin_raising_system_exit_does_not_end_climb_run(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIMB_CACHE_DIR", str(tmp_path / "cache"))
    observer = tmp_path / "quitter.py"
    observer.write_text("import sys\nfrom climb_harness.api import hookimpl\n\n"
                        "@hookimpl\ndef climb_run_start(run):\n    sys.exit('observer quits')\n")
    task = {"name": "synthetic-colour", "options": {"size": 16}}
    config = {"name": "tiny", "tasks": [task], "encoder": "tiny", "algorithms": ["finetune"],
              "training": {"epochs": 1, "progress": False}, "references": {"direct": False}}
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(config))
    args = ["run", "--config", str(tmp_path / "exp.yaml"), "--plugin", "climb_harness.testing.plugin",
            "--plugin", str(observer), "--output", str(tmp_path / "out")]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "observer plugin 'quitter'" in result.output and "SystemExit: observer quits" in result.output
    written = json.loads((tmp_path / "out" / "finetune" / "seed-0" / RESULTS_FILE).read_text())
    assert written["status"] == "complete"
