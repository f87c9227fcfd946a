"""CLiMB's experience replay: a random memory_percentage of each finished task, and every
replay_frequency steps one optimizer step on a batch of one past task drawn uniformly.

With ``memory_size`` M (the total budget every replay method offers), task i of T keeps its share
``budget_share(M, T, i)`` (M // T, one more for the first M % T tasks) instead of a percentage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from climb_harness.api import Algorithm, TrainingContext
from climb_replay._common import budget_share, past_tasks, task_rng
from climb_replay.memory import TaskMemory

_FILL_STREAM = 0x3E31  # which examples enter the memory
_REPLAY_STREAM = 0x3E32  # which past task and examples are replayed


class ExperienceReplay(Algorithm):
    """Per-task random memories (indices) and a periodic extra step on a past task."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.memory_percentage = float(self.options.get("memory_percentage", 0.01))
        self.total_memory: int | None = self.options.get("memory_size")  # one budget over the whole sequence
        self.replay_frequency = int(self.options.get("replay_frequency", 100))
        self.replay_batch_size: int | None = self.options.get("replay_batch_size")
        self.memory = TaskMemory()
        self.replay_steps = 0  # replay steps taken while learning the current task
        self._step = 0  # steps within the current epoch, as CLiMB's enumerate(dataloader)
        self._rng = None

    def memory_size(self, num_examples: int, share: int | None = None) -> int:
        """Examples a task of ``num_examples`` keeps: its ``share`` of ``memory_size`` when that option is
        set, else ``int(memory_percentage * N)`` as in CLiMB but at least 1; never more than N."""
        if share is not None:
            return min(num_examples, share)
        return min(num_examples, max(1, int(self.memory_percentage * num_examples)))

    def on_task_start(self, ctx: TrainingContext) -> None:
        self._rng = task_rng(ctx, _REPLAY_STREAM)
        self._step = 0
        self.replay_steps = 0

    def on_epoch_end(self, ctx: TrainingContext, epoch: int) -> None:
        self._step = 0

    def after_optimizer_step(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> None:
        self._step += 1
        if self._step % self.replay_frequency or ctx.optimizer is None:
            return
        candidates = [t for t in past_tasks(ctx) if self.memory.indices(t)]
        if not candidates:
            return
        if self._rng is None:
            self._rng = task_rng(ctx, _REPLAY_STREAM)
        replay_task = candidates[int(self._rng.integers(len(candidates)))]
        held = self.memory.indices(replay_task)
        size = min(len(held), self.replay_batch_size or ctx.batch_size(replay_task))
        chosen = [held[int(i)] for i in self._rng.choice(len(held), size=size, replace=False)]
        self.replay(ctx, replay_task, chosen)

    def replay(self, ctx: TrainingContext, task: str, indices: list[int]) -> torch.Tensor:
        """One optimizer step on ``task``'s examples at ``indices`` (with the task's own head)."""
        loss = ctx.model.loss(task, ctx.batch(task, indices))
        ctx.optimizer_step(loss)
        self.replay_steps += 1
        return loss.detach()

    def on_task_end(self, ctx: TrainingContext) -> None:
        task = ctx.current_task
        n = ctx.num_train_examples(task)
        self.memory.reseed(ctx.seed, ctx.task_index, _FILL_STREAM)
        share = None if self.total_memory is None else budget_share(int(self.total_memory), len(ctx.task_order), ctx.task_index)
        chosen = self.memory.rng.choice(n, size=self.memory_size(n, share), replace=False)
        self.memory.set(task, chosen.tolist())

    def state_dict(self) -> dict[str, Any]:
        return self.memory.state_dict("memory")

    def load_state_dict(self, state: Mapping[str, Any], ctx: TrainingContext) -> None:
        self.memory.load_state_dict(state, "memory")
