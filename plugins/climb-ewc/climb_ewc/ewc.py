"""Elastic weight consolidation over the encoder, CLiMB-style (one random past task per step).

Why the Fisher is computed with ``torch.autograd.grad``: it returns each batch's gradient on its own
and never touches ``.grad``, so gradients cannot accumulate across Fisher batches (the original
CLiMB code called ``backward()`` batch after batch without zeroing, so batch *b* contributed the
square of the sum of the first *b* gradients).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from climb_harness.api import Algorithm, TrainingContext

_FISHER_STREAM = 0xF15E  # seeds the Fisher sample: (seed, task index, this)
_PENALTY_STREAM = 0xE3C  # seeds the draw of the penalised past task


def derived_seed(*parts: int) -> int:
    """A 63-bit seed from integers, e.g. ``(ctx.seed, ctx.task_index, stream)``."""
    return int(np.random.SeedSequence([abs(int(p)) for p in parts]).generate_state(2, np.uint64)[0] >> 1)


def task_batch_size(ctx: TrainingContext, task: str) -> int:
    """The task's training batch size, read off its first training batch (the context has no getter)."""
    first = next(iter(ctx.train_batches(task)), [])
    return max(1, len(first))


class EWC(Algorithm):
    """Diagonal-Fisher EWC on the trainable encoder parameters; see the manifest for the options."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        opts = self.options
        self.ewc_lambda = float(opts.get("ewc_lambda", 100.0))
        self.sample_percentage = float(opts.get("fisher_sample_percentage", 0.01))
        self.max_batches: int | None = opts.get("fisher_max_batches")
        self.fisher_batch_size: int | None = opts.get("fisher_batch_size")
        self.normalization = str(opts.get("fisher_normalization", "samples"))
        self.mode = str(opts.get("penalty", "random-past"))
        if self.mode not in ("random-past", "all-past"):
            raise ValueError(f"ewc option penalty must be 'random-past' or 'all-past', not {self.mode!r}")
        if self.normalization not in ("samples", "batches"):
            raise ValueError(f"ewc option fisher_normalization must be 'samples' or 'batches', not {self.normalization!r}")
        #: task -> parameter name -> diagonal Fisher / anchor (theta*), in the order tasks were learned
        self.fishers: dict[str, dict[str, torch.Tensor]] = {}
        self.anchors: dict[str, dict[str, torch.Tensor]] = {}
        self.last_penalty_tasks: list[str] = []  # which past task(s) the latest training_loss penalised
        self._rng: np.random.Generator | None = None

    # ------------------------------------------------------------------ hooks
    def on_task_start(self, ctx: TrainingContext) -> None:
        # a generator per task, seeded from (seed, task index): a resumed run draws the same tasks
        self._rng = np.random.default_rng([abs(ctx.seed), ctx.task_index, _PENALTY_STREAM])

    def training_loss(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> torch.Tensor:
        loss = ctx.model.loss(task, batch)
        past = [t for t in self.fishers if t != task]
        if not past:
            self.last_penalty_tasks = []
            return loss
        if self.mode == "random-past":
            if self._rng is None:
                self._rng = np.random.default_rng([abs(ctx.seed), ctx.task_index, _PENALTY_STREAM])
            past = [past[int(self._rng.integers(len(past)))]]
        self.last_penalty_tasks = past
        return loss + self.penalty(ctx, past)

    def on_task_end(self, ctx: TrainingContext) -> None:
        task = ctx.current_task
        params = self._trainable_encoder_params(ctx)
        self.fishers[task] = self.estimate_fisher(ctx, task)
        self.anchors[task] = {name: p.detach().clone() for name, p in params.items()}

    # ------------------------------------------------------------------ the method
    def penalty(self, ctx: TrainingContext, tasks: Sequence[str]) -> torch.Tensor:
        """``ewc_lambda * sum_t sum_i F_t,i (theta_i - theta*_t,i)^2`` over ``tasks``."""
        params = dict(ctx.model.encoder.named_parameters())
        total: torch.Tensor | None = None
        for task in tasks:
            for name, fisher in self.fishers[task].items():
                term = (fisher * (params[name] - self.anchors[task][name]).pow(2)).sum()
                total = term if total is None else total + term
        if total is None:  # nothing trainable in the encoder when the tasks ended
            return torch.zeros((), device=ctx.device)
        return self.ewc_lambda * total

    def fisher_batches(self, ctx: TrainingContext, task: str) -> list[list[int]]:
        """The index batches the Fisher of ``task`` is estimated on (a seeded random sample)."""
        n = ctx.num_train_examples(task)
        size = self.fisher_batch_size or task_batch_size(ctx, task)
        count = max(1, math.ceil(int(self.sample_percentage * n) / size))  # at least one batch (as CLiMB)
        count = min(count, math.ceil(n / size))
        if self.max_batches is not None:
            count = min(count, int(self.max_batches))
        generator = torch.Generator().manual_seed(derived_seed(ctx.seed, ctx.task_index, _FISHER_STREAM))
        order = torch.randperm(n, generator=generator).tolist()
        return [order[start : start + size] for start in range(0, count * size, size)]

    def estimate_fisher(self, ctx: TrainingContext, task: str) -> dict[str, torch.Tensor]:
        """Diagonal empirical Fisher of the trainable encoder parameters on ``fisher_batches``.

        Each batch's gradient is computed on its own (never accumulated into the next batch), squared
        and summed; the sum is divided by the number of examples (or batches). Eval mode: dropout noise
        is not part of the Fisher.
        """
        params = self._trainable_encoder_params(ctx)
        fisher = {name: torch.zeros_like(p, memory_format=torch.preserve_format) for name, p in params.items()}
        if not params:
            return fisher
        names, tensors = list(params), list(params.values())
        batches = self.fisher_batches(ctx, task)
        was_training = ctx.model.training
        ctx.model.eval()
        try:
            with torch.enable_grad():
                for indices in batches:
                    loss = ctx.model.loss(task, ctx.batch(task, indices))
                    grads = torch.autograd.grad(loss, tensors, allow_unused=True)
                    for name, grad in zip(names, grads):
                        if grad is not None:
                            fisher[name] += grad.detach().pow(2)
        finally:
            ctx.model.train(was_training)
        denominator = sum(len(b) for b in batches) if self.normalization == "samples" else len(batches)
        return {name: value / denominator for name, value in fisher.items()}

    @staticmethod
    def _trainable_encoder_params(ctx: TrainingContext) -> dict[str, torch.nn.Parameter]:
        return {name: p for name, p in ctx.model.encoder.named_parameters() if p.requires_grad}

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict[str, Any]:
        """``ewc.tasks`` (learned order), ``ewc.params.<task>`` (names), ``fisher.<task>.<name>``, ``anchor.<task>.<name>``."""
        state: dict[str, Any] = {"ewc.tasks": list(self.fishers)}
        for task, fisher in self.fishers.items():
            state[f"ewc.params.{task}"] = list(fisher)
            for name, value in fisher.items():
                state[f"fisher.{task}.{name}"] = value
                state[f"anchor.{task}.{name}"] = self.anchors[task][name]
        return state

    def load_state_dict(self, state: Mapping[str, Any], ctx: TrainingContext) -> None:
        self.fishers, self.anchors = {}, {}
        for task in state.get("ewc.tasks", []):
            names = state.get(f"ewc.params.{task}")
            if names is None:
                raise KeyError(
                    f"The ewc state of task {task!r} lacks 'ewc.params.{task}': the checkpoint was not written by "
                    f"this version of climb-ewc. Start the run again in a new --output folder."
                )
            try:
                self.fishers[task] = {n: state[f"fisher.{task}.{n}"].to(ctx.device) for n in names}
                self.anchors[task] = {n: state[f"anchor.{task}.{n}"].to(ctx.device) for n in names}
            except KeyError as exc:
                raise KeyError(
                    f"The ewc state of task {task!r} lacks tensor {exc.args[0]!r}; the checkpoint is incomplete. "
                    f"Start the run again in a new --output folder."
                ) from exc
