"""Bilevel Continual Learning, BCL-Dual variant (Pham, Sahoo, Liu, Hoi 2020, arXiv:2007.15553).

The paper's objective is bilevel::

    min_theta  L_outer(phi*(theta); M_eval)
    s.t.       phi*(theta) = argmin_phi  L_inner(phi; B u M_replay)   (started from theta)

with ``B`` the current batch, ``M_replay`` the episodic (replay) memory and ``M_eval`` a separate
generalisation memory, the *evaluation set*. ``L_inner`` is cross-entropy on ``B`` and on a replay
batch plus ``memory_strength`` x a distillation term on the replay batch (temperature ``T``).

What this module computes, per training batch (first order, so no second derivatives)::

    repeat n_meta times:
        phi <- theta
        repeat inner_steps times:  draw a replay batch R_k
                                   phi <- phi - lr * grad L_inner(phi; B, R_k)        (plain SGD)
        draw an evaluation batch V
        if V is not empty:         phi <- phi - lr * grad L_outer(phi; V)             (FOMAML term)
        theta <- theta + beta * (phi - theta)                                          (Reptile step)

The replay batch is redrawn at every inner step, as the released code does (``memory_sampling(t)``
is called inside the ``inner_steps`` loop of ``observe`` in ``model/bcl_single.py`` and
``model/bcl-adapt.py``); the training batch ``B`` is the same at every inner step, as there. The
released repository holds no Dual model file; a third-party port of its ``bcl_dual`` draws the
evaluation batch once per meta update, after the inner loop, which is what is done here.

So the outer direction ``theta - phi`` is the Reptile pseudo-gradient of the inner problem (Nichol
et al. 2018: it approximates the inner gradient plus a term that aligns the gradients of B and R)
plus ``lr x`` the first-order meta-gradient ``grad_phi L_outer(phi)`` of the outer problem (MAML's
first-order approximation, Jacobian ``d phi / d theta ~ I``), and ``beta`` is the outer learning rate
as an interpolation factor, exactly as in the released BCL code (``weights_before + beta *
(weights_after - weights_before)``). With no evaluation set (the first task, or ``n_val = 0``) the
update is the released code's Reptile step. The released code does not contain the Dual variant's
outer step; this formulation is ours and is documented in the README.

Memories (see :mod:`climb_bcl.memory`): when a task ends, ``n_memories`` random training indices of
it are kept; a share ``n_val`` is the evaluation set, the rest the replay memory, disjoint. A task's
memory is made only when it ends, so both hold past tasks only. Distillation targets (``teacher``):
``"stored"`` (default, as the released code) are the logits of the replay examples recorded when their
task ended; ``"slow"`` uses the slow weights ``theta`` before the inner loop. We default to
``"stored"`` because with ``"slow"`` the distillation gradient is exactly zero at the first inner step
(``phi = theta``) and tiny at the second, so with ``inner_steps = 2`` it barely acts.

How it plugs into the runner: BCL brings its own optimisation (SGD inner steps and the interpolating
outer step), as the released code does, so :meth:`BCL.training_loss` returns the batch loss computed
without a graph (for the runner's log; ``backward`` then leaves every parameter's ``grad`` at
``None`` and the runner's AdamW step, which skips such parameters, changes nothing), and the whole
bilevel update runs in :meth:`BCL.after_optimizer_step`. The runner's learning rate, warm-up/decay
schedule and gradient clipping therefore do not apply to BCL. Test-time adaptation (the README's
``adapt``/``adapt_lr``) is not implemented.

Randomness comes from generators seeded from ``(seed, task index, step within the task, meta
iteration, inner step)`` for replay batches and ``(seed, task index, step, meta iteration)`` for the
evaluation batch, so a resumed run draws the same batches as an uninterrupted one.

Memory budget: ``n_memories`` per task, or with ``memory_size`` M (the total budget every replay
method offers) task i of T keeps its share M // T (one more for the first M % T tasks); as always the
last task's memory is not made, since nothing is trained after it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from climb_bcl.distill import distillation_loss
from climb_bcl.memory import DualMemory, budget_share
from climb_bcl.plugin import DEFAULT_OPTIONS
from climb_harness.api import Algorithm, TrainingContext

#: (task, batch on the device, rows of the memory) for each task present in a sampled batch.
Sampled = list[tuple[str, dict[str, torch.Tensor], torch.Tensor]]


def _generator(*stream: int) -> torch.Generator:
    seed = int(np.random.SeedSequence([int(s) for s in stream]).generate_state(1)[0])
    return torch.Generator().manual_seed(seed)


class BCL(Algorithm):
    """BCL-Dual: first-order bilevel updates with a replay memory and a disjoint evaluation set."""

    _MEMORY_STREAM = 0xBC1
    _REPLAY_STREAM = 0xBC2
    _EVAL_STREAM = 0xBC3

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__({**DEFAULT_OPTIONS, **dict(options or {})})
        self.memory = DualMemory()
        self._step = 0

    # ------------------------------------------------------------------ hooks
    def on_task_start(self, ctx: TrainingContext) -> None:
        self._step = 0

    def training_loss(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> torch.Tensor:
        """The batch loss for the runner's log only: no graph, so the runner's optimizer step is a no-op."""
        with torch.no_grad():
            loss = ctx.model.loss(task, batch)
        return loss.detach().requires_grad_(True)

    def after_optimizer_step(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> None:
        self.bilevel_update(ctx, task, batch)
        self._step += 1

    def on_task_end(self, ctx: TrainingContext) -> None:
        if ctx.task_index >= len(ctx.task_order) - 1:
            return  # no later task would use this task's memory
        task = ctx.current_task
        generator = _generator(ctx.seed, ctx.task_index, self._MEMORY_STREAM)
        chosen = torch.randperm(ctx.num_train_examples(task), generator=generator)[: self.memory_per_task(ctx)]
        self.memory.add_task(task, chosen.tolist(), float(self.options["n_val"]))
        if self.options["teacher"] == "stored" and len(self.memory.replay[task]):
            self.memory.set_teacher(task, self._logits(ctx, task, self.memory.replay[task].tolist()))

    def memory_per_task(self, ctx: TrainingContext) -> int:
        """Examples the current task keeps: its share of ``memory_size`` when set, else ``n_memories``."""
        total = self.options.get("memory_size")
        if total is None:
            return int(self.options["n_memories"])
        return budget_share(int(total), len(ctx.task_order), ctx.task_index)

    def state_dict(self) -> dict[str, Any]:
        return self.memory.state_dict()

    def load_state_dict(self, state: Mapping[str, Any], ctx: TrainingContext) -> None:
        self.memory.load_state_dict(state)

    # ------------------------------------------------------------------ the bilevel update
    def bilevel_update(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> None:
        """``n_meta`` meta updates of the slow weights from one training batch (see the module docstring).

        As in the released code (``memory_sampling`` inside the ``inner_steps`` loop of ``bcl_single.py``),
        every inner step draws a replay batch of its own; the evaluation batch is drawn once per meta update,
        after the inner loop, as the Dual variant's outer step (one per meta update) needs it.
        """
        params = [p for p in ctx.model.parameters() if p.requires_grad]
        if not params:
            return
        size, beta = int(self.options["replay_batch_size"]), float(self.options["beta"])
        for meta in range(int(self.options["n_meta"])):
            # one replay batch per inner step, each from its own seeded stream; drawn (and, for the slow
            # teacher, scored by the slow weights theta) before the inner loop moves the weights
            replays = [
                self._load(ctx, self.memory.sample(
                    "replay", size, _generator(ctx.seed, ctx.task_index, self._step, meta, inner, self._REPLAY_STREAM)))
                for inner in range(int(self.options["inner_steps"]))
            ]
            teachers = [self._teachers(ctx, replay) for replay in replays]
            slow = [p.detach().clone() for p in params]
            for replay, teacher in zip(replays, teachers):
                self._sgd_step(params, self.inner_loss(ctx, task, batch, replay, teacher))
            drawn = _generator(ctx.seed, ctx.task_index, self._step, meta, self._EVAL_STREAM)
            evaluation = self._load(ctx, self.memory.sample("eval", size, drawn))
            if evaluation:
                self._sgd_step(params, self.mixture_loss(ctx, evaluation))
            with torch.no_grad():
                for p, start in zip(params, slow):
                    p.copy_(start.lerp_(p, beta))

    def inner_loss(
        self,
        ctx: TrainingContext,
        task: str,
        batch: Mapping[str, Any],
        replay: Sampled,
        teachers: Sequence[torch.Tensor],
    ) -> torch.Tensor:
        """Cross-entropy on the batch and the replay batch, plus the weighted distillation term."""
        loss = ctx.model.loss(task, batch)
        if not replay:
            return loss
        logits = ctx.model.forward_tasks([(name, data) for name, data, _ in replay])  # one pass, both terms
        loss = loss + self._mixture(ctx, replay, logits)
        strength = float(self.options["memory_strength"])
        if strength > 0:
            total = sum(len(rows) for _, _, rows in replay)
            for (name, _, rows), teacher, out in zip(replay, teachers, logits):
                kd = distillation_loss(ctx.tasks[name].head.type, out, teacher,
                                       float(self.options["temperature"]))
                loss = loss + strength * kd * (len(rows) / total)
        return loss

    @staticmethod
    def mixture_loss(ctx: TrainingContext, sampled: Sampled) -> torch.Tensor:
        """The mean loss over a batch drawn from several tasks (each task's mean, weighted by its count), from
        one encoder pass (:meth:`climb_harness.api.ContinualModelProtocol.forward_tasks`)."""
        logits = ctx.model.forward_tasks([(name, data) for name, data, _ in sampled])
        return BCL._mixture(ctx, sampled, logits)

    @staticmethod
    def _mixture(ctx: TrainingContext, sampled: Sampled, logits: Sequence[torch.Tensor]) -> torch.Tensor:
        total = sum(len(rows) for _, _, rows in sampled)
        return sum(ctx.model.head_loss(name, out, data["targets"]) * (len(rows) / total)  # type: ignore[return-value]
                   for (name, data, rows), out in zip(sampled, logits))

    # ------------------------------------------------------------------ helpers
    def _sgd_step(self, params: list[torch.nn.Parameter], loss: torch.Tensor) -> None:
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        lr = float(self.options["lr"])
        with torch.no_grad():
            for p, g in zip(params, grads):
                if g is not None:
                    p.add_(g, alpha=-lr)

    @staticmethod
    def _load(ctx: TrainingContext, drawn: list[tuple[str, torch.Tensor, torch.Tensor]]) -> Sampled:
        return [(task, ctx.batch(task, indices.tolist()), rows) for task, indices, rows in drawn]

    def _teachers(self, ctx: TrainingContext, replay: Sampled) -> list[torch.Tensor]:
        if not replay or float(self.options["memory_strength"]) == 0:
            return []
        if self.options["teacher"] == "stored":
            return [self.memory.teacher[name][rows].to(ctx.device) for name, _, rows in replay]
        return self._forward_eval(ctx, [(name, data) for name, data, _ in replay])  # the slow weights, now

    @staticmethod
    @torch.no_grad()
    def _forward_eval(ctx: TrainingContext,
                      parts: Sequence[tuple[str, Mapping[str, torch.Tensor]]]) -> list[torch.Tensor]:
        model = ctx.model
        was_training = model.training  # type: ignore[attr-defined]
        model.eval()  # type: ignore[attr-defined]
        try:
            return [out.detach() for out in model.forward_tasks(parts)]
        finally:
            model.train(was_training)  # type: ignore[attr-defined]

    def _logits(self, ctx: TrainingContext, task: str, indices: list[int], chunk: int = 64) -> torch.Tensor:
        parts = [
            self._forward_eval(ctx, [(task, ctx.batch(task, indices[i : i + chunk]))])[0].cpu()
            for i in range(0, len(indices), chunk)
        ]
        return torch.cat(parts)
