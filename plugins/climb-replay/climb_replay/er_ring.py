"""ER with a ring buffer (Chaudhry et al. 2019, "On Tiny Episodic Memories in Continual Learning").

Memory: one FIFO ring of ``memories_per_task`` indices per task (with ``memory_size`` M, the total
budget every replay method offers, task i of T gets ``budget_share(M, T, i)``: M // T, one more for
the first M % T tasks), fed with the examples of each batch
after it is trained on (an index already held is not added twice), so it ends up holding the most
recent distinct examples of the task. Per task rather than the paper's per class: heads here may be
soft-score or multi-label, where an example has no single class.

Training: EVERY step's loss is loss(current batch) + loss(memory batch), the memory batch drawn
uniformly from the rings of past tasks; a memory batch may mix tasks, each goes through its own head
and the per-task losses are weighted by their share (a mean over the memory examples).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from climb_harness.api import TrainingContext
from climb_replay._common import StreamAlgorithm, budget_share, memory_loss, past_tasks, task_rng
from climb_replay.memory import TaskMemory, sample

_REPLAY_STREAM = 0x7101


class RingReplay(StreamAlgorithm):
    """Joint loss over the current batch and a batch of the past tasks' ring buffers."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.memory = TaskMemory(capacity=int(self.options.get("memories_per_task", 250)))
        self.memory_size: int | None = self.options.get("memory_size")
        self.replay_batch_size: int | None = self.options.get("replay_batch_size")
        self.last_memory_entries: list[tuple[str, int]] = []  # the memory batch of the latest step
        self._rng = None
        self._batch_size: int | None = None

    def on_task_start(self, ctx: TrainingContext) -> None:
        self._rng = task_rng(ctx, _REPLAY_STREAM)
        self._batch_size = self.replay_batch_size or ctx.batch_size(ctx.current_task)

    def training_loss(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> torch.Tensor:
        loss = ctx.model.loss(task, batch)
        candidates = self.memory.entries(t for t in past_tasks(ctx) if t != task)
        if not candidates:
            self.last_memory_entries = []
            return loss
        if self._rng is None:
            self._rng = task_rng(ctx, _REPLAY_STREAM)
        if self._batch_size is None:
            self._batch_size = self.replay_batch_size or ctx.batch_size(task)
        self.last_memory_entries = sample(candidates, self._batch_size, self._rng)
        return loss + memory_loss(ctx, self.last_memory_entries)

    def capacity(self, ctx: TrainingContext, task: str) -> int:
        """Ring size of ``task``: its share of ``memory_size``, else ``memories_per_task``."""
        if self.memory_size is None:
            return int(self.memory.capacity or 0)
        return budget_share(int(self.memory_size), len(ctx.task_order), ctx.task_order.index(task))

    def after_optimizer_step(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> None:
        self.memory.push(task, self.next_indices(ctx), capacity=self.capacity(ctx, task))

    def state_dict(self) -> dict[str, Any]:
        return self.memory.state_dict("ring")

    def load_state_dict(self, state: Mapping[str, Any], ctx: TrainingContext) -> None:
        self.memory.load_state_dict(state, "ring")

