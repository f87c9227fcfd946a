"""GDumb (Prabhu, Torr & Dokania 2020, "GDumb: A Simple Approach that Questions Our Progress in Continual
Learning", ECCV): a greedy class-balanced memory, and a model trained from scratch on the memory alone.

**Sampler.** When task t starts, its training examples stream by once, in the order of the runner's first
epoch (``ctx.train_batches(task, epoch=0)``), into a :class:`ClassBalancedMemory` of ``memory_size``
entries (the paper's Algorithm 1; classes are ``(task, label)``). The label of an example is its target
for classification and multiple-choice heads, the arg-max answer (lowest index on ties) for soft-score
heads, and the sorted label set as one class (the label-powerset view) for multi-label heads.

**Learner.** Then every weight of the model (the encoder and every head) is reset to the run's initial
weights (``ctx.initial_state``), and the task's epochs train on the memory alone: ``training_batches``
gives each task's memory entries, shuffled and cut into that task's batch size, the batches of all tasks
interleaved in a seeded random order; each goes through its own head. The epoch is chosen on the mean
selection score over every task seen (``selection_tasks``), as for ``multitask``. So each row of the
accuracy matrix is the score of a model trained from scratch on the memory after task t.

Deviations: the harness's optimizer, learning rate, schedule and epochs (the paper: SGD with cosine
warm restarts for up to 256 epochs, and cutmix); the runner's epoch count applies to the memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch

from climb_harness.api import Algorithm, TrainingContext
from climb_replay._common import task_rng
from climb_replay.memory import ClassBalancedMemory

_SAMPLER_STREAM = 0x6D01  # which entry of the largest class is evicted
_BATCH_STREAM = 0x6D02  # the order of the memory batches in each epoch


def class_label(head_type: str, target: torch.Tensor) -> int | str:
    """The class GDumb balances an example under, from its target row (see the module docstring)."""
    if head_type in ("classification", "multiple-choice"):
        return int(target)
    if head_type == "soft-score":
        return int(torch.argmax(target))  # the first maximum: the lowest index on ties
    return ",".join(str(i) for i in torch.nonzero(target > 0.5).flatten().tolist())


class GDumb(Algorithm):
    """Greedy class-balanced sampler + a learner retrained from scratch on the memory (module docstring)."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.memory = ClassBalancedMemory(int(self.options.get("memory_size", 1000)))

    def on_task_start(self, ctx: TrainingContext) -> None:
        task = ctx.current_task
        self.memory.reseed(ctx.seed, ctx.task_index, _SAMPLER_STREAM)
        kind = ctx.tasks[task].head.type
        for indices in ctx.train_batches(task, epoch=0):
            targets = ctx.batch(task, indices)["targets"].cpu()
            for row, index in enumerate(indices):
                self.memory.offer(task, int(index), class_label(kind, targets[row]))
        self.reset_weights(ctx)

    @staticmethod
    def reset_weights(ctx: TrainingContext) -> None:
        """Every weight of the model back to the run's initial ones (the learner starts from scratch)."""
        with torch.no_grad():
            ctx.model.load_state_dict(dict(ctx.initial_state))

    def training_batches(self, ctx: TrainingContext, epoch: int) -> Iterable[tuple[str, list[int]]]:
        rng = task_rng(ctx, _BATCH_STREAM + 0x100 * epoch)
        batches: list[tuple[str, list[int]]] = []
        for task in ctx.task_order[: ctx.task_index + 1]:
            held = [index for name, index in self.memory.entries if name == task]
            if not held:
                continue
            order = [held[int(i)] for i in rng.permutation(len(held))]
            size = ctx.batch_size(task)
            batches.extend((task, order[start : start + size]) for start in range(0, len(order), size))
        return [batches[int(i)] for i in rng.permutation(len(batches))]

    def selection_tasks(self, ctx: TrainingContext) -> Sequence[str]:
        return list(ctx.task_order[: ctx.task_index + 1])

    def state_dict(self) -> dict[str, Any]:
        return self.memory.state_dict("memory")

    def load_state_dict(self, state: Mapping[str, Any], ctx: TrainingContext) -> None:
        self.memory.load_state_dict(state, "memory")
