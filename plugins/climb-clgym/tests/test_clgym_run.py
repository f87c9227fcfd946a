"""End to end through the harness's Runner for each method, and resume equality."""

from __future__ import annotations

import importlib

import pytest

from climb_harness.testing import Runner, validate_results

SMALL = {
    "stable-sgd": {"lr_decay": 0.5, "dropout": None},
    "ogd": {"memories_per_task": 8},
    "mc-sgd": {"memory_per_task": 12, "mcsgd_steps": 3, "batch_size": 8, "line_samples": 2},
}


class Interrupted(Exception):
    pass


def _stopping(name):
    """The algorithm's class, interrupted when the second task starts."""
    from climb_clgym.plugin import climb_algorithms

    factory = {c.name: c.factory for c in climb_algorithms()}[name]
    module, attr = factory.split(":")
    base = getattr(importlib.import_module(module), attr)

    class Stopping(base):
        def on_task_start(self, ctx):
            if ctx.task_index == 1:
                raise Interrupted
            super().on_task_start(ctx)

    return Stopping


@pytest.mark.parametrize("name", list(SMALL))
def test_short_run_completes(name, make_algo, make_spec, tiny_tasks, tmp_path):
    results = Runner(make_spec(make_algo(name, **SMALL[name]), tiny_tasks(3), tmp_path)).run()
    assert results["status"] == "complete" and results["algorithm"] == name
    assert [len(row) for row in results["accuracy_matrix"]] == [3, 3, 3]
    assert validate_results(results) == []


@pytest.mark.parametrize("name", list(SMALL))
def test_resume_reproduces_an_uninterrupted_run(name, make_algo, make_spec, tiny_tasks, tmp_path):
    full = Runner(make_spec(make_algo(name, **SMALL[name]), tiny_tasks(2), tmp_path / "full")).run()
    with pytest.raises(Exception) as stopped:  # the runner may report it as the plugin's fault
        Runner(
            make_spec(make_algo(name, _stopping(name), **SMALL[name]), tiny_tasks(2), tmp_path / "resumed")
        ).run()
    assert isinstance(stopped.value, Interrupted) or isinstance(stopped.value.__cause__, Interrupted)
    resumed = Runner(make_spec(make_algo(name, **SMALL[name]), tiny_tasks(2), tmp_path / "resumed")).run(
        resume=True
    )
    assert resumed["accuracy_matrix"] == full["accuracy_matrix"]


def test_memory_size_is_one_total_budget(make_algo, make_spec, tiny_tasks, tmp_path):
    """memory_size=7 over 3 tasks: shares 3, 2, 2 (mc-sgd keeps all three; ogd collects none for the last task)."""
    mcsgd = make_algo("mc-sgd", memory_size=7, memory_per_task=20, mcsgd_steps=1, batch_size=4, line_samples=1)
    Runner(make_spec(mcsgd, tiny_tasks(3), tmp_path / "mc")).run()
    assert [len(mcsgd.memory.indices[t]) for t in mcsgd.memory.tasks] == [3, 2, 2]

    ogd = make_algo("ogd", memory_size=7, memories_per_task=20)
    counts = []
    directions = ogd.directions

    def counting(ctx, task):
        rows = directions(ctx, task)
        counts.append(len(rows))
        return rows

    ogd.directions = counting
    Runner(make_spec(ogd, tiny_tasks(3), tmp_path / "ogd")).run()
    assert counts == [3, 2] and ogd.basis.shape[0] <= 5
