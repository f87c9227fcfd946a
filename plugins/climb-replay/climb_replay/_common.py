"""Helpers shared by the replay methods: seeded generators, losses over mixed-task batches.

``budget_share`` (one ``memory_size`` split over the tasks) is the harness's, re-exported here."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from climb_harness.api import Algorithm, TrainingContext, budget_share, seeded_generator
from climb_replay.forward import task_logits
from climb_replay.memory import Entry

__all__ = ["StreamAlgorithm", "budget_share", "memory_loss", "past_tasks", "task_rng"]


def task_rng(ctx: TrainingContext, stream: int) -> np.random.Generator:
    """A generator seeded from ``(seed, task index, stream)``: fresh per task, so a resumed run
    (which restarts at a task boundary) draws exactly what an uninterrupted one does."""
    return seeded_generator(ctx.seed, ctx.task_index, stream)


def past_tasks(ctx: TrainingContext) -> list[str]:
    """The tasks learned before the current one."""
    return list(ctx.task_order[: ctx.task_index])


def memory_loss(ctx: TrainingContext, entries: Sequence[Entry]) -> torch.Tensor:
    """Loss of a batch that may mix tasks: each task's examples go through its own head; the per-task mean
    losses are weighted by their share of the batch, so the result is a mean over examples. One encoder pass
    over the whole batch (:func:`climb_replay.forward.task_logits`), whatever the number of tasks in it."""
    by_task: dict[str, list[int]] = {}
    for task, index in entries:
        by_task.setdefault(task, []).append(index)
    parts = list(by_task.items())
    total: torch.Tensor | None = None
    for (task, indices), (logits, batch) in zip(parts, task_logits(ctx, parts)):
        term = ctx.model.head_loss(task, logits, batch["targets"]) * (len(indices) / len(entries))
        total = term if total is None else total + term
    if total is None:
        raise ValueError("memory_loss() needs at least one (task, index) entry")
    return total


class StreamAlgorithm(Algorithm):
    """Base of methods that write the examples they train on into memory as they stream by."""

    def next_indices(self, ctx: TrainingContext) -> list[int]:
        """The training-split indices of the batch the runner is training on."""
        return [int(i) for i in ctx.batch_indices]
