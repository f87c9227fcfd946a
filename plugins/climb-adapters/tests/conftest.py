"""Shared fixtures: short real runs through the harness Runner with a tiny real ViLT (climb-vilt)."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may be downloaded in tests

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from climb_harness.runner import Runner, RunSpec, TrainingOptions
from climb_harness.testing.components import TinyEncoder, synthetic_task

#: A ViLT small enough for CPU tests (the adapters get hidden 32 / 16 = 2 units).
TINY_VILT = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
             "image_size": 32, "patch_size": 16}
TASKS = [("colours", "colour", 1), ("yesno", "yesno", 2), ("colours-b", "colour", 3)]


class Interrupted(Exception):
    """Raised by :class:`StopAfter` to simulate a run killed after a task's checkpoint."""


class StopAfter:
    """Lifecycle-hook relay that stops the run once task ``index`` is checkpointed."""

    def __init__(self, index: int) -> None:
        self.index = index

    def climb_task_end(self, run: Any, task_index: int, task: str, scores: Any) -> None:
        if task_index == self.index:
            raise Interrupted(task)

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda **kwargs: None


def vilt_encoder() -> Any:
    from climb_vilt.vilt import ViltEncoder

    return ViltEncoder(TINY_VILT)


def run_algorithm(algorithm: Any, out: Path, *, n_tasks: int = 3, size: int = 32, epochs: int = 2,
                  encoder: str = "vilt", stop_after: int | None = None, resume: bool = False,
                  seed: int = 0) -> tuple[dict[str, Any] | None, Runner]:
    """Run ``algorithm`` on ``n_tasks`` synthetic tasks; ``(results or None if stopped, runner)``."""
    tasks = [synthetic_task(name, question, size=size, seed=s) for name, question, s in TASKS[:n_tasks]]
    names = [t.name for t in tasks]
    spec = RunSpec(
        tasks=tasks,
        encoder_factory=vilt_encoder if encoder == "vilt" else (lambda: TinyEncoder({})),
        algorithm=algorithm,
        seed=seed,
        training=TrainingOptions(epochs=epochs, lr=3e-3, progress=False, device="cpu"),
        output_dir=out,
        config={"algorithm": "adapters", "options": algorithm.options, "tasks": names},
        references={"random": {t.name: t.manifest["random_baseline"] for t in tasks}, "direct": {n: None for n in names}},
        plugins=[],
        hooks=StopAfter(stop_after) if stop_after is not None else None,
    )
    runner = Runner(spec)
    try:
        return runner.run(resume=resume), runner
    except Interrupted:
        return None, runner


@pytest.fixture
def run() -> Callable[..., tuple[dict[str, Any] | None, Runner]]:
    """``run(algorithm, out_dir, n_tasks=3, epochs=2, encoder="vilt", stop_after=None, resume=False)``."""
    return run_algorithm


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models run an order of magnitude faster on one intra-op thread than on two when the
    machine is busy (threads spin-wait on each other); restored after each test."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
