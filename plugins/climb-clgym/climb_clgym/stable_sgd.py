"""Stable SGD (Mirzadeh, Farajtabar, Pascanu, Ghasemzadeh, NeurIPS 2020), as in CL-Gym.

The paper shows that the training regime alone (a large initial learning rate decayed from task to
task, dropout, a small batch) widens the minima each task ends in and so reduces forgetting. CL-Gym
implements it in ``prepare_optimizer``: task t (from 0) trains at ``max(lr * decay^t, lower_bound)``.

Where the decay is applied, and why there: the runner builds its AdamW *after* ``on_task_start``
and wraps it in a warm-up/linear-decay ``LambdaLR`` whose ``step()`` rewrites each group's ``lr``
from the base learning rate it captured at construction. Scaling ``ctx.optimizer``'s learning rates
once (e.g. in the first ``training_loss`` of a task) would be undone by the next scheduler step, and
the scheduler is not reachable from an algorithm. So :meth:`StableSGD.before_optimizer_step`, which
runs after ``backward`` and right before ``optimizer.step()``, multiplies each group's current
(scheduled) ``lr`` by the task's factor; the scheduler's next step restores the unscaled schedule,
and the next call scales it again (if no scheduler step came in between, the unscaled value is
reused rather than compounding the factor). Every step of task t thus runs at ``schedule x factor_t`` with
``factor_t = max(decay^t, min_lr / base_lr)``: CL-Gym's rule with the harness's schedule kept.

Dropout: when ``dropout`` is set, :meth:`StableSGD.setup` sets ``p`` of every dropout module of the
encoder (``nn.Dropout`` and its 1d/2d/3d/alpha variants). Task heads are left as they are. An encoder
without dropout modules is warned about, since the option would change nothing.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from torch import nn

from climb_clgym.plugin import STABLE_SGD, defaults
from climb_harness.api import Algorithm, TrainingContext


def set_dropout(module: nn.Module, p: float) -> int:
    """Set the rate of every dropout module under ``module``; returns how many were changed."""
    changed = 0
    for child in module.modules():
        if isinstance(child, nn.modules.dropout._DropoutNd):
            child.p = float(p)
            changed += 1
    return changed


class StableSGD(Algorithm):
    """Sequential fine-tuning with a per-task learning-rate decay and (optionally) a set dropout rate."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__({**defaults(STABLE_SGD), **dict(options or {})})
        self._scaled: list[tuple[float, float]] = []  # per param group: (scheduled lr, lr we set)

    def setup(self, ctx: TrainingContext) -> None:
        p = self.options["dropout"]
        if p is not None and set_dropout(ctx.model.encoder, p) == 0:
            warnings.warn(
                f"stable-sgd: the encoder {type(ctx.model.encoder).__name__} has no dropout modules, so dropout={p} "
                f"changes nothing; leave the option null for this encoder.",
                stacklevel=2,
            )

    def on_task_start(self, ctx: TrainingContext) -> None:
        self._scaled = []

    def lr_factor(self, task_index: int, base_lr: float | None = None) -> float:
        """The factor of task ``task_index``'s learning rate: ``max(decay^t, min_lr / base_lr)``."""
        factor = float(self.options["lr_decay"]) ** task_index
        floor = float(self.options["min_lr"])
        if floor > 0 and base_lr:
            factor = max(factor, floor / base_lr)
        return factor

    def before_optimizer_step(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> None:
        if ctx.optimizer is None:
            return
        groups = ctx.optimizer.param_groups
        previous = self._scaled if len(self._scaled) == len(groups) else [(None, None)] * len(groups)
        self._scaled = []
        for group, (scheduled, ours) in zip(groups, previous):
            # Identity, not equality: the scheduler stores a new float object at each step, which may
            # equal the value we set last time (it does on a linear decay with lr_decay 0.5).
            if ours is not None and group["lr"] is ours:  # no scheduler step since we scaled: do not compound
                current = scheduled
            else:
                current = group["lr"]
            scaled = current * self.lr_factor(ctx.task_index, group.get("initial_lr", current))
            group["lr"] = scaled
            self._scaled.append((current, scaled))
