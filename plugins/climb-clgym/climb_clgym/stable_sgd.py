"""Stable SGD (Mirzadeh, Farajtabar, Pascanu, Ghasemzadeh, NeurIPS 2020), as in the paper and CL-Gym.

The paper shows that the training regime alone widens the minima each task ends in and so reduces
forgetting: plain SGD with a large initial learning rate decayed from task to task (constant within a
task), dropout, and small batches. This module sets up exactly that regime through the harness's
hooks; the model and the loss are sequential fine-tuning's.

* Optimizer (:meth:`StableSGD.configure_optimizer`): ``torch.optim.SGD`` over the harness's
  parameter groups with ``momentum`` (default 0) and no weight decay, at the task's learning rate
  ``lr_t = max(lr * lr_decay^t, min(min_lr, lr))`` for task t counted from 0 (CL-Gym's
  ``prepare_optimizer``; the authors' ``stable_sgd/main.py`` counts from 1, i.e. decays the first task
  too), with the ``"constant"`` schedule: no warm-up, no decay within the task. ``lr`` is this
  method's own option because the harness's learning rate is an AdamW rate (1e-3, 1e-4), far too
  small for SGD; null takes the harness's task learning rate anyway.
* Batches (:meth:`StableSGD.training_batches`): the current task's shuffled training split in
  batches of ``batch_size`` (the paper's 10), from ``ctx.train_batches``; null keeps the harness's.
* Dropout (:meth:`StableSGD.setup`): ``p`` of every dropout module of the encoder (``nn.Dropout`` and
  its 1d/2d/3d/alpha variants) is set to ``dropout``; heads are left alone. An encoder with no dropout
  module is warned about, since the option changes nothing there; null keeps the encoder's rates.

Defaults, and why (the paper tuned on MLPs and a ResNet-18 trained from scratch): ``lr_decay`` 0.8
(the authors' scripts for permuted MNIST and split CIFAR-100), ``min_lr`` 5e-5 (their floor),
``batch_size`` 10 (all their scripts), ``dropout`` 0.25 (their code's default; their scripts use 0.5
on MLPs, which is a lot for a transformer whose every attention and hidden layer has a dropout
module), and ``lr`` 0.01 instead of their 0.1, which is an MLP's rate: fine-tuning the pretrained
all-MiniLM-L6-v2 with plain SGD at batch 10 and dropout 0.25, 0.003-0.03 learned a text task to 100%,
0.1 collapsed to chance and 0.3 diverged (see the README, which also reports that no rate trains the
default benchmark's from-scratch ViLT with plain SGD). ``momentum`` 0: plain SGD as the paper describes it;
the authors' ``stable_sgd/main.py`` uses ``SGD(momentum=0.8)``, rebuilt every epoch, which
``momentum: 0.8`` reproduces.

Stateless across tasks: the learning rate follows from the task index and dropout is set in
``setup``, which also runs on ``--resume``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from climb_clgym.plugin import STABLE_SGD, defaults
from climb_harness.api import Algorithm, OptimizerConfig, TrainingContext


def set_dropout(module: nn.Module, p: float) -> int:
    """Set the rate of every dropout module under ``module``; returns how many were changed."""
    changed = 0
    for child in module.modules():
        if isinstance(child, nn.modules.dropout._DropoutNd):
            child.p = float(p)
            changed += 1
    return changed


class StableSGD(Algorithm):
    """Sequential fine-tuning under Stable SGD's regime: SGD, per-task lr decay, dropout, small batches."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__({**defaults(STABLE_SGD), **dict(options or {})})

    def setup(self, ctx: TrainingContext) -> None:
        p = self.options["dropout"]
        if p is not None and set_dropout(ctx.model.encoder, p) == 0:
            warnings.warn(
                f"stable-sgd: the encoder {type(ctx.model.encoder).__name__} has no dropout modules, so dropout={p} "
                f"changes nothing; set the option to null for this encoder.",
                stacklevel=2,
            )

    def task_lr(self, task_index: int, base_lr: float) -> float:
        """Task ``task_index``'s learning rate: ``max(lr * lr_decay^t, min(min_lr, lr))`` (``lr`` = the option, else ``base_lr``)."""
        lr = float(self.options["lr"]) if self.options["lr"] is not None else float(base_lr)
        floor = min(float(self.options["min_lr"]), lr)
        return max(lr * float(self.options["lr_decay"]) ** task_index, floor)

    def configure_optimizer(self, ctx: TrainingContext, param_groups: list[dict[str, Any]], lr: float) -> OptimizerConfig:
        groups = [{**group, "weight_decay": 0.0} for group in param_groups]  # the paper's SGD has no weight decay
        optimizer = torch.optim.SGD(groups, lr=self.task_lr(ctx.task_index, lr), momentum=float(self.options["momentum"]))
        return OptimizerConfig(optimizer, schedule="constant")

    def training_batches(self, ctx: TrainingContext, epoch: int) -> list[tuple[str, list[int]]] | None:
        size = self.options["batch_size"]
        if size is None:
            return None  # the harness's batches
        task = ctx.current_task
        return [(task, indices) for indices in ctx.train_batches(task, batch_size=int(size), epoch=epoch)]
