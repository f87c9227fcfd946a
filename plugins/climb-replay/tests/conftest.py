"""Shared fixtures: build a replay method as the harness does, the testing kit's real context and
runs, and replay-specific probes (which examples a method asks for, what its memory holds).

The kit's helpers come from :mod:`climb_harness.testing.runs` (TinyEncoder, synthetic tasks, a few
dozen examples, one or two epochs): a whole two-task run takes well under a second on a CPU.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from climb_harness.testing import runs
from climb_harness.testing.conformance import single_thread

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def build_algorithm(name: str, **options: Any) -> Any:
    """Options validated and defaults filled from the manifest, factory called, manifest set."""
    from climb_replay.plugin import climb_algorithms

    return runs.build_component({c.name: c for c in climb_algorithms()}[name], **options)


def run(algorithm: Any, out: Path, *, tasks: int = 2, **options: Any) -> dict[str, Any]:
    """:func:`~climb_harness.testing.runs.run_algorithm` over the kit's first ``tasks`` tiny tasks."""
    return runs.run_algorithm(algorithm, out, tasks=runs.tiny_tasks(tasks), **options)


def instrument(algorithm: Any, hooks: list[str], after: Callable[[Any, str], None] | None = None) -> list[SimpleNamespace]:
    """Record every ``ctx.batch(task, indices)`` the algorithm asks for inside ``hooks`` (with the index of
    the task being learned); ``after(ctx, hook)`` runs after each of those hook calls."""
    calls: list[SimpleNamespace] = []
    for hook in hooks:
        original = getattr(algorithm, hook)

        def wrapped(ctx: Any, *args: Any, _original: Any = original, _hook: str = hook) -> Any:
            real = type(ctx).batch

            def batch(task: str, indices: Any) -> Any:
                calls.append(SimpleNamespace(hook=_hook, learning=ctx.task_index, task=task, indices=[int(i) for i in indices]))
                return real(ctx, task, indices)

            ctx.batch = batch
            try:
                return _original(ctx, *args)
            finally:
                del ctx.batch
                if after is not None:
                    after(ctx, _hook)

        setattr(algorithm, hook, wrapped)
    return calls


def assert_holds_no_float_tensors(algorithm: Any) -> None:
    """Memories hold indices: no floating-point tensor (a copied batch) anywhere in the algorithm's attributes."""
    import torch

    seen: set[int] = set()

    def walk(value: Any, path: str) -> None:
        if id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, torch.Tensor):
            assert not value.is_floating_point(), f"{path} holds a float tensor {tuple(value.shape)}"
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}[{key!r}]")
        elif isinstance(value, (list, tuple, set)):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]")
        elif hasattr(value, "__dict__") and not callable(value) and type(value).__module__.startswith("climb_replay"):
            for key, item in vars(value).items():
                walk(item, f"{path}.{key}")

    walk(algorithm, type(algorithm).__name__)


@pytest.fixture
def h() -> SimpleNamespace:
    """The helpers, as one fixture (test modules cannot import conftest under importlib mode)."""
    return SimpleNamespace(build=build_algorithm, tasks=runs.tiny_tasks, context=runs.make_context, run=run,
                           final_weights=runs.final_checkpoint, assert_resume_reproduces=runs.assert_resume_reproduces,
                           StopRun=runs.StopRun, instrument=instrument, assert_holds_no_float_tensors=assert_holds_no_float_tensors)


@pytest.fixture(autouse=True)
def _offline_single_thread(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No hub access; one torch thread (tiny models gain nothing from more, and thrash on a busy CPU)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with single_thread():
        yield
