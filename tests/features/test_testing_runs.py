"""The testing kit's run helpers (climb_harness.testing.runs): tiny tasks, a real Context, real
runs, a crash and its resumption, and a resume check that catches an algorithm losing its state."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import torch

from climb_harness.api import Algorithm, algorithm
from climb_harness.core.engine import Runner
from climb_harness.testing import runs
from climb_harness.testing.conformance import tiny_tasks as conformance_tasks
from climb_harness.testing.runs import single_thread


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    with single_thread():
        yield


class Anchored(Algorithm):
    """Pulls the encoder towards its weights at the end of the last task: state carried across tasks."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.anchor: dict[str, torch.Tensor] = {}
        self.learned: list[str] = []

    def training_loss(self, ctx: Any, task: str, batch: Mapping[str, Any]) -> torch.Tensor:
        loss = ctx.model.loss(task, batch)
        for name, param in ctx.model.encoder.named_parameters():
            if name in self.anchor:
                loss = loss + 10.0 * ((param - self.anchor[name]) ** 2).sum()
        return loss

    def on_task_end(self, ctx: Any) -> None:
        self.anchor = {n: p.detach().clone() for n, p in ctx.model.encoder.named_parameters()}
        self.learned.append(ctx.current_task)

    def state_dict(self) -> dict[str, Any]:
        return {"learned": list(self.learned), **{f"anchor.{n}": t for n, t in self.anchor.items()}}

    def load_state_dict(self, state: Mapping[str, Any], ctx: Any) -> None:
        self.learned = list(state["learned"])
        self.anchor = {k[len("anchor."):]: v.to(ctx.device) for k, v in state.items() if k.startswith("anchor.")}


class ForgetsEverything(Anchored):
    def load_state_dict(self, state: Mapping[str, Any], ctx: Any) -> None:
        pass


class ForgetsTheTaskList(Anchored):
    def load_state_dict(self, state: Mapping[str, Any], ctx: Any) -> None:
        super().load_state_dict(state, ctx)
        self.learned = []


def _small() -> dict[str, Any]:
    return {"tasks": runs.tiny_tasks(2, size=24), "epochs": 1}


def test_tiny_tasks_count_names_and_data():
    three = runs.tiny_tasks(3, size=12)
    assert [t.name for t in three] == ["colours", "yesno", "colours-b"]
    assert [t.info.head.num_labels for t in three] == [4, 2, 4]
    assert all(len(t.examples("train")) == 12 for t in three)
    targets = [[e.target for e in t.examples("train")] for t in (three[0], three[2])]
    assert targets[0] != targets[1]  # the third task is other data, not a copy of the first
    renamed = runs.tiny_tasks(1, size=12, names=["other"])
    assert renamed[0].name == "other"
    assert [e.target for e in renamed[0].examples("train")] == targets[0]
    assert [t.name for t in conformance_tasks()] == ["conformance-colour", "conformance-yesno"]
    with pytest.raises(ValueError, match="ask for 1 to 3"):
        runs.tiny_tasks(4)
    with pytest.raises(ValueError, match="one name per task"):
        runs.tiny_tasks(2, names=["only-one"])


def test_build_component_fills_defaults_validates_and_sets_the_manifest():
    options = {"type": "object", "additionalProperties": False,
               "properties": {"strength": {"type": "number", "default": 1.5}}}
    component = algorithm({"name": "anchored", "options": options}, Anchored)
    built = runs.build_component(component)
    assert isinstance(built, Anchored) and built.options == {"strength": 1.5} and built.name == "anchored"
    assert runs.build_component(component, strength=3.0).options == {"strength": 3.0}
    with pytest.raises(ValueError, match="anchored"):
        runs.build_component(component, strenght=3.0)


def test_make_context_matches_a_runs_initial_model_and_optimizer_on_request(tmp_path):
    tasks = runs.tiny_tasks(2, size=24)
    ctx = runs.make_context(tasks, seed=3, batch_size=4)
    assert ctx.optimizer is None and ctx.task_order == ["colours", "yesno"] and ctx.num_train_examples("yesno") == 24
    assert [len(b) for b in ctx.train_batches("colours")] == [4] * 6
    assert ctx.batch("yesno", [0, 1, 2])["targets"].shape[0] == 3
    runner = Runner(runs.run_spec(Algorithm(), tmp_path, tasks=tasks, seed=3))
    runner.run()
    assert ctx.initial_state.keys() == runner.ctx.initial_state.keys()
    assert all(torch.equal(v, runner.ctx.initial_state[k]) for k, v in ctx.initial_state.items())
    with_optimizer = runs.make_context(tasks, lr=1e-2)
    assert isinstance(with_optimizer.optimizer, torch.optim.AdamW)
    assert with_optimizer.optimizer.param_groups[0]["lr"] == 1e-2


def test_stop_after_crashes_after_the_checkpoint_and_resume_finishes(tmp_path):
    with pytest.raises(runs.StopRun):
        runs.run_algorithm(Anchored(), tmp_path / "raised", stop_after=0, **_small())
    stopped_algorithm = Anchored()
    returned, runner = runs.run_with_runner(runs.run_spec(stopped_algorithm, tmp_path, stop_after=0, **_small()))
    assert returned is None and runner.task_order == ["colours", "yesno"] and stopped_algorithm.learned == ["colours"]
    from climb_harness.core.results import RESULTS_FILE, read_results

    stopped = read_results(tmp_path / RESULTS_FILE)
    assert stopped["status"] == "running" and len(stopped["accuracy_matrix"]) == 1
    results = runs.run_algorithm(Anchored(), tmp_path, resume=True, **_small())
    assert results["status"] == "complete" and len(results["accuracy_matrix"]) == 2
    weights, state = runs.final_checkpoint(tmp_path, results)
    assert state["learned"] == ["colours", "yesno"]
    encoder = {k[len("encoder."):]: v for k, v in weights.items() if k.startswith("encoder.")}
    assert encoder and all(torch.equal(state[f"anchor.{name}"], value) for name, value in encoder.items())


def test_resume_check_passes_when_the_state_is_restored(tmp_path):
    results = runs.assert_resume_reproduces(Anchored, tmp_path, **_small())
    assert results["status"] == "complete" and len(results["accuracy_matrix"]) == 2


def test_resume_check_fails_when_the_algorithm_loses_its_state(tmp_path):
    with pytest.raises(AssertionError, match="accuracy matrix|weight tensor"):
        runs.assert_resume_reproduces(ForgetsEverything, tmp_path, **_small())


def test_resume_check_compares_the_algorithm_state_too(tmp_path):
    """Same weights and scores, but a JSON entry of the state lost on resume: still caught."""
    with pytest.raises(AssertionError, match=r"state_dict\(\)\['learned'\] differs"):
        runs.assert_resume_reproduces(ForgetsTheTaskList, tmp_path, **_small())


def test_resume_check_refuses_a_run_that_cannot_crash(tmp_path):
    with pytest.raises(AssertionError, match="at least two tasks"):
        runs.assert_resume_reproduces(Anchored, tmp_path, tasks=runs.tiny_tasks(1, size=12))


def test_resume_after_crash_and_the_comparison_are_the_kits_building_blocks(tmp_path):
    """The conformance kit's resume check is these two calls on a run it already has."""
    full = runs.run_algorithm(Anchored(), tmp_path / "full", **_small())
    resumed = runs.resume_after_crash(Anchored, tmp_path / "resumed", **_small())
    summary = runs.assert_same_final_state(tmp_path / "full", full, tmp_path / "resumed", resumed)
    assert summary.startswith("accuracy matrix, ") and summary.endswith("state entries identical")
    with pytest.raises(AssertionError, match="did not stop there"):
        runs.resume_after_crash(Anchored, tmp_path / "late", after=5, **_small())
