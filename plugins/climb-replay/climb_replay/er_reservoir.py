"""Experience replay from one fixed-size memory filled by reservoir sampling over the training stream.

Every example the model trains on is offered to the reservoir once (the first time it is seen in a
task; later epochs repeat examples, they are not new ones), after the step it was trained in. The
replay schedule is CLiMB's (every replay_frequency steps of an epoch, one extra optimizer step); the
replay batch is drawn uniformly from the memory restricted to past tasks (``replay_from: past``,
default, like CLiMB's ER), or from all of it including the current task (``all``, like Chaudhry et
al.'s ER), and mixes tasks: each goes through its own head.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from climb_harness.api import TrainingContext
from climb_replay._common import StreamAlgorithm, memory_loss, past_tasks, task_rng
from climb_replay.memory import ReservoirMemory, sample

_INSERT_STREAM = 0x5E01
_REPLAY_STREAM = 0x5E02


class ReservoirReplay(StreamAlgorithm):
    """ER with a reservoir of ``memory_size`` (task, index) pairs; see the module docstring."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.memory = ReservoirMemory(int(self.options.get("memory_size", 1000)))
        self.replay_frequency = int(self.options.get("replay_frequency", 100))
        self.replay_batch_size: int | None = self.options.get("replay_batch_size")
        self.replay_from = str(self.options.get("replay_from", "past"))
        if self.replay_from not in ("past", "all"):
            raise ValueError(f"er-reservoir option replay_from must be 'past' or 'all', not {self.replay_from!r}")
        self.replay_steps = 0
        self._step = 0
        self._seen_in_task = np.zeros(0, dtype=bool)  # one flag per training example of the current task
        self._replay_rng = None
        self._insert_task: int | None = None  # the task index the reservoir's generator was seeded for

    def on_task_start(self, ctx: TrainingContext) -> None:
        self.memory.reseed(ctx.seed, ctx.task_index, _INSERT_STREAM)
        self._insert_task = ctx.task_index
        self._replay_rng = task_rng(ctx, _REPLAY_STREAM)
        self._seen_in_task = np.zeros(ctx.num_train_examples(ctx.current_task), dtype=bool)
        self._step = 0
        self.replay_steps = 0

    def on_epoch_end(self, ctx: TrainingContext, epoch: int) -> None:
        self._step = 0

    def after_optimizer_step(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> None:
        self._step += 1
        if self._step % self.replay_frequency == 0 and ctx.optimizer is not None:
            tasks = past_tasks(ctx) + ([ctx.current_task] if self.replay_from == "all" else [])
            candidates = self.memory.select(tasks)
            if candidates:
                if self._replay_rng is None:
                    self._replay_rng = task_rng(ctx, _REPLAY_STREAM)
                size = self.replay_batch_size or ctx.batch_size(ctx.current_task)
                self.replay(ctx, sample(candidates, size, self._replay_rng))
        self._insert(ctx, task, self.next_indices(ctx))

    def replay(self, ctx: TrainingContext, entries: list[tuple[str, int]]) -> torch.Tensor:
        loss = memory_loss(ctx, entries)
        ctx.optimizer_step(loss)
        self.replay_steps += 1
        return loss.detach()

    def _insert(self, ctx: TrainingContext, task: str, indices: list[int]) -> None:
        if self._insert_task is None:  # a hook called outside a run: seed as on_task_start does
            self.memory.reseed(ctx.seed, ctx.task_index, _INSERT_STREAM)
            self._insert_task = ctx.task_index
        if len(self._seen_in_task) != ctx.num_train_examples(task):
            self._seen_in_task = np.zeros(ctx.num_train_examples(task), dtype=bool)
        for index in indices:
            if not self._seen_in_task[index]:
                self._seen_in_task[index] = True
                self.memory.offer(task, index)

    def state_dict(self) -> dict[str, Any]:
        return self.memory.state_dict("reservoir")

    def load_state_dict(self, state: Mapping[str, Any], ctx: TrainingContext) -> None:
        self.memory.load_state_dict(state, "reservoir")
