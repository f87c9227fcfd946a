"""Shared fixtures: build ``ewc`` as the harness does, plus the testing kit's real context and runs.

The helpers come from :mod:`climb_harness.testing.runs` (TinyEncoder, synthetic tasks, a few dozen
examples, one or two epochs): a whole two-task run takes well under a second on a CPU.
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


def build_algorithm(name: str = "ewc", **options: Any) -> Any:
    """Options validated and defaults filled from the manifest, factory called, manifest set."""
    from climb_ewc.plugin import climb_algorithms

    return runs.build_component({c.name: c for c in climb_algorithms()}[name], **options)


@pytest.fixture
def h() -> SimpleNamespace:
    """The helpers, as one fixture (test modules cannot import conftest under importlib mode)."""
    return SimpleNamespace(build=build_algorithm, tasks=runs.tiny_tasks, context=runs.make_context,
                           run=runs.run_algorithm, final_weights=runs.final_checkpoint,
                           assert_resume_reproduces=runs.assert_resume_reproduces, StopRun=runs.StopRun)


@pytest.fixture(autouse=True)
def _offline_single_thread(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No hub access; one torch thread (tiny models gain nothing from more, and thrash on a busy CPU)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with single_thread():
        yield
