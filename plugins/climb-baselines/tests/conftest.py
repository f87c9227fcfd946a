"""Shared fixtures: short real runs through the harness Runner with TinyEncoder + synthetic tasks."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may be downloaded in tests

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from climb_harness.testing import runs, single_thread
from climb_harness.testing.components import TinyEncoder

if TYPE_CHECKING:
    from climb_harness.testing import Runner


def run_algorithm(algorithm: Any, out: Path, *, n_tasks: int = 3, size: int = 48, epochs: int = 2,
                  encoder_options: dict[str, Any] | None = None, stop_after: int | None = None,
                  resume: bool = False, seed: int = 0) -> tuple[dict[str, Any] | None, Runner]:
    """Run ``algorithm`` on the kit's first ``n_tasks`` tiny tasks; ``(results or None if stopped, runner)``."""
    spec = runs.run_spec(algorithm, out, tasks=runs.tiny_tasks(n_tasks, size), epochs=epochs, batch_size=None,
                         encoder_factory=lambda: TinyEncoder(encoder_options or {}), seed=seed, stop_after=stop_after)
    return runs.run_with_runner(spec, resume=resume)


@pytest.fixture
def run() -> Callable[..., tuple[dict[str, Any] | None, Runner]]:
    """``run(algorithm, out_dir, n_tasks=3, epochs=2, stop_after=None, resume=False, ...)``."""
    return run_algorithm


def encoder_weights(model: Any) -> dict[str, Any]:
    return {k: v.detach().clone() for k, v in model.encoder.state_dict().items()}


@pytest.fixture
def snapshot() -> Callable[[Any], dict[str, Any]]:
    """``snapshot(model)``: a copy of the encoder's state dict."""
    return encoder_weights


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny models run an order of magnitude faster on one intra-op thread than on two when the
    machine is busy (threads spin-wait on each other); restored after each test."""
    with single_thread():
        yield
