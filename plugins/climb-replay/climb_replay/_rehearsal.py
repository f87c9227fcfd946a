"""The base of the methods that rehearse from a reservoir of the training stream at every step (DER, DER++,
ER-ACE): every step's batch is offered to the reservoir after the step, and every step may draw from it.

As in Mammoth's and the papers' own code (``buffer.add_data`` / ``buffer.add`` after each update), every
training batch is offered, in every epoch: the reservoir is a uniform sample of the stream of (example,
step) pairs the optimizer saw, so with several epochs an example may be held twice (DER then holds its
logits from two moments of training). Draws come from the whole memory, the current task included, as
soon as it holds anything (the methods are task-free).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from climb_harness.api import TrainingContext
from climb_replay._common import StreamAlgorithm, task_rng
from climb_replay.memory import ReservoirMemory, sample

_INSERT_STREAM = 0xDE01  # which slots the offered examples replace
_REPLAY_STREAM = 0xDE02  # which slots are drawn for rehearsal


class ReservoirRehearsal(StreamAlgorithm):
    """A reservoir of ``memory_size`` entries (with ``fields``), fed by and drawn from at every step."""

    #: the per-example tensors the memory keeps (DER: the logits at insertion)
    fields: tuple[str, ...] = ()

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.memory = ReservoirMemory(int(self.options.get("memory_size", 1000)), fields=self.fields)
        self.replay_batch_size: int | None = self.options.get("replay_batch_size")
        self._rng = None
        self._seeded_for: int | None = None  # the task index the generators were seeded for

    def _seed(self, ctx: TrainingContext) -> None:
        if self._seeded_for != ctx.task_index:
            self.memory.reseed(ctx.seed, ctx.task_index, _INSERT_STREAM)
            self._rng = task_rng(ctx, _REPLAY_STREAM)
            self._seeded_for = ctx.task_index

    def on_task_start(self, ctx: TrainingContext) -> None:
        self._seeded_for = None
        self._seed(ctx)

    def draw(self, ctx: TrainingContext, task: str) -> list[int]:
        """Slots drawn uniformly without replacement from the whole memory (empty while it is empty)."""
        self._seed(ctx)
        size = self.replay_batch_size or ctx.batch_size(task)
        return sample(self.memory.slots(), size, self._rng)

    def insert(self, ctx: TrainingContext, task: str, **values: torch.Tensor) -> None:
        """Offer the batch just trained on (``ctx.batch_indices``), with a row of each field per example."""
        self._seed(ctx)
        self.memory.offer_batch(task, self.next_indices(ctx), **values)

    def by_task(self, slots: Sequence[int]) -> dict[str, list[int]]:
        """``slots`` grouped by their entry's task (each task's examples go through its own head)."""
        groups: dict[str, list[int]] = {}
        for slot in slots:
            groups.setdefault(self.memory.entries[slot][0], []).append(slot)
        return groups

    def state_dict(self) -> dict[str, Any]:
        return self.memory.state_dict("reservoir")

    def load_state_dict(self, state: Mapping[str, Any], ctx: TrainingContext) -> None:
        self.memory.load_state_dict(state, "reservoir", device=ctx.device)
