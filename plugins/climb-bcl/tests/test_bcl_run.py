"""End to end through the harness's Runner, and resume equality."""

from __future__ import annotations

import pytest
from climb_bcl.bcl import BCL

from climb_harness.testing import Runner, validate_results

OPTIONS = {"n_memories": 12, "replay_batch_size": 8, "lr": 0.05}


class Interrupted(Exception):
    pass


class StopsAtSecondTask(BCL):
    def on_task_start(self, ctx):
        if ctx.task_index == 1:
            raise Interrupted
        super().on_task_start(ctx)


def test_short_run_completes(make_spec, tiny_tasks, make_bcl, tmp_path):
    results = Runner(make_spec(make_bcl(**OPTIONS), tiny_tasks(3), tmp_path, epochs=2)).run()
    assert results["status"] == "complete" and results["algorithm"] == "bcl"
    assert len(results["accuracy_matrix"]) == 3 and all(len(row) == 3 for row in results["accuracy_matrix"])
    assert validate_results(results) == []
    # it learns: the first task beats its random baseline (25%) once trained
    assert results["accuracy_matrix"][0][0] > 25.0


def test_resume_reproduces_an_uninterrupted_run(make_spec, tiny_tasks, make_bcl, tmp_path):
    full = Runner(make_spec(make_bcl(**OPTIONS), tiny_tasks(2), tmp_path / "full")).run()
    with pytest.raises(Exception) as stopped:  # the runner may report it as the plugin's fault
        Runner(make_spec(make_bcl(StopsAtSecondTask, **OPTIONS), tiny_tasks(2), tmp_path / "resumed")).run()
    assert isinstance(stopped.value, Interrupted) or isinstance(stopped.value.__cause__, Interrupted)
    algorithm = make_bcl(**OPTIONS)
    resumed = Runner(make_spec(algorithm, tiny_tasks(2), tmp_path / "resumed")).run(resume=True)
    assert algorithm.memory.tasks == ["colours"]  # restored from the checkpoint, not rebuilt
    assert resumed["accuracy_matrix"] == full["accuracy_matrix"]
    assert resumed["initial_scores"] == full["initial_scores"]
