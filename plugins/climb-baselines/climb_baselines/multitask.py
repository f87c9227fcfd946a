"""The multitask upper bound (CL-Gym): at task i, joint training on the union of tasks 0..i."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from climb_harness.api import Algorithm, TrainingContext


class Multitask(Algorithm):
    """Replaces the runner's batches with shuffled batches of every task seen so far.

    Each batch comes from one task (the heads differ), with that task's own batch size and its
    shuffled epoch order (``ctx.train_batches``); the interleaving is a permutation seeded from
    ``(seed, task index, epoch)``, so a resumed run draws the same batches. The epoch kept at the end
    of each task is chosen on the mean selection-split score over the seen tasks (``selection_tasks``).
    """

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__({"mode": "cumulative", **dict(options or {})})
        if self.options["mode"] != "cumulative":
            raise ValueError(f"multitask: unknown mode {self.options['mode']!r}; the only mode is 'cumulative'.")

    def seen_tasks(self, ctx: TrainingContext) -> list[str]:
        """Tasks whose training data may be used now: 0..current (never a future one)."""
        return list(ctx.task_order[: ctx.task_index + 1])

    def selection_tasks(self, ctx: TrainingContext) -> list[str]:
        """The best epoch is the one with the best mean selection score over every task trained on now
        (the seen tasks), not over the current task alone: that is the model this upper bound stands for."""
        return self.seen_tasks(ctx)

    def training_batches(self, ctx: TrainingContext, epoch: int) -> list[tuple[str, list[int]]]:
        batches = [(task, indices) for task in self.seen_tasks(ctx) for indices in ctx.train_batches(task, epoch=epoch)]
        seed = int(np.random.SeedSequence([ctx.seed, ctx.task_index, epoch, 77]).generate_state(1)[0])
        order = torch.randperm(len(batches), generator=torch.Generator().manual_seed(seed)).tolist()
        return [batches[i] for i in order]
