"""End to end through the harness's Runner for each method, and resume equality."""

from __future__ import annotations

import importlib

import pytest

from climb_harness.results import validate_results
from climb_harness.runner import Runner

SMALL = {
    "stable-sgd": {"lr_decay": 0.5},
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
    with pytest.raises(Interrupted):
        Runner(
            make_spec(make_algo(name, _stopping(name), **SMALL[name]), tiny_tasks(2), tmp_path / "resumed")
        ).run()
    resumed = Runner(make_spec(make_algo(name, **SMALL[name]), tiny_tasks(2), tmp_path / "resumed")).run(
        resume=True
    )
    assert resumed["accuracy_matrix"] == full["accuracy_matrix"]
