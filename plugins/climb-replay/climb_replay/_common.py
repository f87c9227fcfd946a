"""Helpers shared by the replay methods: seeded generators, batch sizes, losses over mixed-task batches."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping, Sequence
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

    The hooks receive batches as tensors, not indices. So :meth:`training_batches` hands the runner
    the task's own default batches (the same ones it would use otherwise) and queues their indices;
    :meth:`next_indices`, called once per ``after_optimizer_step``, pops the indices of the batch just
    trained on. This holds whether the runner iterates the batches lazily or makes a list of them
    first, as long as it trains on them in order.
    """

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self._pending: deque[tuple[str, list[int]]] = deque()

    def training_batches(self, ctx: TrainingContext, epoch: int) -> Iterator[tuple[str, list[int]]]:
        task = ctx.current_task
        batches = [(task, [int(i) for i in indices]) for indices in ctx.train_batches(task, epoch=epoch)]
        self._pending = deque(batches)  # a new epoch: drop what a step limit left untrained
        return iter([(t, list(indices)) for t, indices in batches])

    def next_indices(self, task: str, batch: Mapping[str, Any]) -> list[int]:
        """The indices of the batch the runner just trained on (call once per training step)."""
        if not self._pending:
            raise RuntimeError(
                f"{type(self).__name__} was handed a training batch of task {task!r} it did not produce: the runner "
                f"must train on the batches of training_batches() in order (it records their example indices)."
            )
        queued_task, indices = self._pending.popleft()
        size = len(batch["targets"]) if "targets" in batch else len(indices)
        if queued_task != task or size != len(indices):
            raise RuntimeError(
                f"{type(self).__name__} expected a batch of {len(indices)} examples of task {queued_task!r} but was "
                f"handed {size} of {task!r}: the runner must train on the batches of training_batches() in order."
            )
        return indices
