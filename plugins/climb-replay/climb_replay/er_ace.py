"""ER-ACE (Caccia et al. 2022, "New Insights on Reducing Abrupt Representation Change in Online Continual
Learning", ICLR): experience replay with the asymmetric cross-entropy.

At every step, with the memory a reservoir of the stream (see :mod:`climb_replay._rehearsal`)::

    loss = CE_ace(current batch) + CE(memory batch)

``CE_ace`` is the cross-entropy over the logits of the classes **present in the incoming batch** and of
the classes not seen yet in the stream (index >= the largest seen: the official code's
``mask[:, seen_so_far.max():] = 1``); the other logits are masked out of the softmax. The memory batch, drawn
from the whole reservoir as soon as it holds anything (the official code's task-free setting), gets the
plain loss of each example's own head.

**What it reduces to with per-task heads.** The asymmetry exists for a single head shared by all classes:
incoming examples of new classes should not push down the logits of old classes. Here every task has its
own head, so old classes are never in the incoming batch's softmax: that effect is absent by construction.
What remains is ER with a reservoir replayed at every step, plus masking, inside the current task's head,
the classes already seen in its stream but absent from the mini-batch. Only classification heads (one
softmax over classes) are masked: a multiple-choice head's logits are answer positions, not classes, and
soft-score / multi-label heads use per-label sigmoids, where logits do not compete; those get the plain
loss, so ER-ACE is exactly reservoir ER on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from climb_harness.api import TrainingContext
from climb_replay._common import memory_loss
from climb_replay._rehearsal import ReservoirRehearsal


def ace_mask(logits: torch.Tensor, targets: torch.Tensor, seen: set[int]) -> torch.Tensor:
    """``logits`` with every class masked (to the dtype's lowest value) except those in ``targets`` and those
    with an index >= ``max(seen)`` (``seen`` must include the classes of ``targets``)."""
    keep = torch.zeros(logits.shape[-1], dtype=torch.bool, device=logits.device)
    keep[targets.unique()] = True
    keep[max(seen):] = True
    return logits.masked_fill(~keep, torch.finfo(logits.dtype).min)


class ERACE(ReservoirRehearsal):
    """ER with the asymmetric cross-entropy on the incoming batch; see the module docstring."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.seen: dict[str, set[int]] = {}  # classes seen so far in each task's stream
        self.last_memory_entries: list[tuple[str, int]] = []

    def on_task_start(self, ctx: TrainingContext) -> None:
        super().on_task_start(ctx)
        self.seen.pop(ctx.current_task, None)

    def training_loss(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> torch.Tensor:
        logits = ctx.model(task, batch)
        targets = batch["targets"]
        if ctx.tasks[task].head.type == "classification":
            seen = self.seen.setdefault(task, set())
            seen.update(int(t) for t in targets.unique().tolist())
            logits = ace_mask(logits, targets, seen)
        loss = ctx.model.head_loss(task, logits, targets)
        slots = self.draw(ctx, task)
        self.last_memory_entries = [self.memory.entries[s] for s in slots]
        if slots:
            loss = loss + memory_loss(ctx, self.last_memory_entries)
        return loss

    def after_optimizer_step(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> None:
        self.insert(ctx, task)
