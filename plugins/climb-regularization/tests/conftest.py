"""Shared fixtures: build a method as the harness does, the testing kit's real context and runs.

The helpers come from :mod:`climb_harness.testing.runs` (TinyEncoder, synthetic tasks, a few dozen
examples): a whole two-task run takes well under a second on a CPU.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from climb_harness.testing import runs
from climb_harness.testing.conformance import single_thread

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def build_algorithm(name: str, **options: Any) -> Any:
    """Options validated and defaults filled from the manifest, factory called, manifest set."""
    from climb_regularization.plugin import climb_algorithms

    return runs.build_component({c.name: c for c in climb_algorithms()}[name], **options)


def step(ctx: Any, algorithm: Any, task: str, indices: list[int]) -> None:
    """One training step as the runner takes it: training_loss, backward, the two hooks around the step."""
    ctx.batch_indices = list(indices)
    batch = ctx.batch(task, indices)
    loss = algorithm.training_loss(ctx, task, batch)
    ctx.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    algorithm.before_optimizer_step(ctx, task, batch)
    ctx.optimizer.step()
    algorithm.after_optimizer_step(ctx, task, batch)


@pytest.fixture
def h() -> SimpleNamespace:
    """The helpers, as one fixture (test modules cannot import conftest under importlib mode)."""
    return SimpleNamespace(build=build_algorithm, tasks=runs.tiny_tasks, context=runs.make_context,
                           run=runs.run_algorithm, final_weights=runs.final_checkpoint, step=step,
                           assert_resume_reproduces=runs.assert_resume_reproduces)


@pytest.fixture(autouse=True)
def _offline_single_thread(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No hub access; one torch thread (tiny models gain nothing from more, and thrash on a busy CPU)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with single_thread():
        yield
