"""Helpers shared by the replay methods: seeded generators, batch sizes, losses over mixed-task batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from climb_harness.api import Algorithm, TrainingContext
from climb_replay.memory import Entry


def task_rng(ctx: TrainingContext, stream: int) -> np.random.Generator:
    """A generator seeded from ``(seed, task index, stream)``: fresh per task, so a resumed run
    (which restarts at a task boundary) draws exactly what an uninterrupted one does."""
    return np.random.default_rng([abs(int(ctx.seed)), int(ctx.task_index), stream])


def task_batch_size(ctx: TrainingContext, task: str) -> int:
    """The task's training batch size, read off its first training batch (the context has no getter)."""
    first = next(iter(ctx.train_batches(task)), [])
    return max(1, len(first))


def past_tasks(ctx: TrainingContext) -> list[str]:
    """The tasks learned before the current one."""
    return list(ctx.task_order[: ctx.task_index])


def memory_loss(ctx: TrainingContext, entries: Sequence[Entry]) -> torch.Tensor:
    """Loss of a batch that may mix tasks: each task's examples go through its own head; the per-task
    mean losses are weighted by their share of the batch, so the result is a mean over examples."""
    by_task: dict[str, list[int]] = {}
    for task, index in entries:
        by_task.setdefault(task, []).append(index)
    total: torch.Tensor | None = None
    for task, indices in by_task.items():
        term = ctx.model.loss(task, ctx.batch(task, indices)) * (len(indices) / len(entries))
        total = term if total is None else total + term
    if total is None:
        raise ValueError("memory_loss() needs at least one (task, index) entry")
    return total


class StreamAlgorithm(Algorithm):
    """Base of methods that write the examples they train on into memory as they stream by.

    The hooks receive batches as tensors; to know the *indices* of the batch being trained on, this
    class yields the runner's own default batches from :meth:`training_batches` and remembers the
    last ones handed out (the runner consumes them one at a time).
    """

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self.current_indices: list[int] = []

    def training_batches(self, ctx: TrainingContext, epoch: int) -> Iterator[tuple[str, list[int]]]:
        task = ctx.current_task
        for indices in ctx.train_batches(task, epoch=epoch):
            self.current_indices = [int(i) for i in indices]
            yield task, indices
        self.current_indices = []
