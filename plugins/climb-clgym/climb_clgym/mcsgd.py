"""Mode-Connectivity SGD (Mirzadeh, Farajtabar, Gorur, Pascanu, Ghasemzadeh, ICLR 2021), as in CL-Gym.

The paper observes that the multitask solution and the continual solutions are connected by
low-loss *linear* paths. MC-SGD therefore looks, after each task t, for a point ``w`` such that the
segments from the previous continual solution ``w_prev`` and from the new task's fine-tuned solution
``w_hat`` to ``w`` both have low loss on their tasks::

    min_w   mean_s L_past(w_prev + s (w - w_prev))  +  mean_s L_t(w_hat + s (w - w_hat))
            s in {0, 1/n, ..., 1}  (n = line_samples)

``L_past`` is the loss on a batch of the replay memory of tasks 0..t-1, ``L_t`` on a batch of task t's
memory. The optimisation starts at ``w_prev + alpha (w_hat - w_prev)`` and takes ``mcsgd_steps`` SGD
(momentum) steps with the exact gradient of that objective: ``d/dw L(a + s (w - a)) = s grad L(a + s
(w - a))``, summed over the sampled points and divided by ``n + 1``. The result replaces the model and
is what the next task starts from (and what is evaluated and checkpointed).

A faithful simplification of CL-Gym's ``MCSGD``: CL-Gym takes one step per task over the whole
memory and drops the factor ``s`` (and accumulates gradients across points without zeroing them);
here the chain-rule factor is kept, several stochastic steps are taken over memory batches, and the
current task's line uses a memory of it (CL-Gym: a subset of its data). The losses are computed with
the model in eval mode, as in CL-Gym. The line covers every trainable parameter, heads included.

Where things happen: ``w_prev`` is the model at :meth:`MCSGD.on_task_start` (the runner starts each
task from the previous task's final model), so it needs no checkpoint; ``w_hat`` is the model at
:meth:`MCSGD.on_task_end` (the best epoch, restored by the runner). State: the memories' indices.
Memories hold ``memory_per_task`` indices per task; with ``memory_size`` M (the total budget every
replay method offers) task i of T holds its share, M // T (one more for the first M % T tasks).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from climb_clgym._common import IndexMemory, generator, load, mixture_loss, per_task_memory
from climb_clgym.plugin import MC_SGD, defaults
from climb_harness.api import Algorithm, TrainingContext


def line_gradient(
    params: Sequence[torch.nn.Parameter],
    anchor: Sequence[torch.Tensor],
    loss_fn: Callable[[], torch.Tensor],
    samples: int,
) -> list[torch.Tensor]:
    """Gradient w.r.t. ``params`` (= w) of ``mean_{s in {0, 1/n, .., 1}} loss(anchor + s (w - anchor))``.

    ``loss_fn()`` evaluates the loss at the parameters' current values. ``params`` are restored to ``w``.
    """
    end = [p.detach().clone() for p in params]
    total = [torch.zeros_like(p) for p in params]
    try:
        for k in range(1, samples + 1):  # s = 0 is the fixed anchor: its gradient w.r.t. w is 0
            s = k / samples
            with torch.no_grad():
                for p, a, w in zip(params, anchor, end):
                    p.copy_(a + s * (w - a))
            grads = torch.autograd.grad(loss_fn(), list(params), allow_unused=True)
            for acc, g in zip(total, grads):
                if g is not None:
                    acc.add_(g, alpha=s / (samples + 1))
    finally:
        with torch.no_grad():
            for p, w in zip(params, end):
                p.copy_(w)
    return total


class MCSGD(Algorithm):
    """Sequential fine-tuning followed, after each task, by a search for a linearly connected solution."""

    _MEMORY_STREAM = 0x3C1
    _STEP_STREAM = 0x3C2

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__({**defaults(MC_SGD), **dict(options or {})})
        self.memory = IndexMemory()
        self._start: list[torch.Tensor] | None = None

    @staticmethod
    def _params(ctx: TrainingContext) -> list[torch.nn.Parameter]:
        return [p for p in ctx.model.parameters() if p.requires_grad]

    def on_task_start(self, ctx: TrainingContext) -> None:
        self._start = [p.detach().clone() for p in self._params(ctx)] if ctx.task_index > 0 else None

    def on_task_end(self, ctx: TrainingContext) -> None:
        task = ctx.current_task
        gen = generator(ctx.seed, ctx.task_index, self._MEMORY_STREAM)
        self.memory.add(
            task,
            torch.randperm(ctx.num_train_examples(task), generator=gen)[
                : per_task_memory(self.options, "memory_per_task", ctx)
            ].tolist(),
        )
        if self._start is not None:
            self.connect(ctx, self._start)
        self._start = None

    def connect(self, ctx: TrainingContext, w_prev: Sequence[torch.Tensor]) -> None:
        """Replace the model ``w_hat`` by the MC-SGD solution between ``w_prev`` and ``w_hat``."""
        params = self._params(ctx)
        w_hat = [p.detach().clone() for p in params]
        alpha, samples = float(self.options["alpha"]), int(self.options["line_samples"])
        with torch.no_grad():
            for p, a, b in zip(params, w_prev, w_hat):
                p.copy_(a + alpha * (b - a))
        past, current = ctx.task_order[: ctx.task_index], [ctx.current_task]
        optimizer = torch.optim.SGD(
            params, lr=float(self.options["mcsgd_lr"]), momentum=float(self.options["mcsgd_momentum"])
        )
        model = ctx.model
        was_training = model.training  # type: ignore[attr-defined]
        model.eval()  # type: ignore[attr-defined]
        try:
            for step in range(int(self.options["mcsgd_steps"])):
                gen = generator(ctx.seed, ctx.task_index, step, self._STEP_STREAM)
                size = int(self.options["batch_size"])
                past_batch = load(ctx, self.memory.sample(past, size, gen))
                current_batch = load(ctx, self.memory.sample(current, size, gen))
                grads = [torch.zeros_like(p) for p in params]
                for anchor, sampled in ((w_prev, past_batch), (w_hat, current_batch)):
                    if sampled:
                        for acc, g in zip(
                            grads,
                            line_gradient(params, anchor, lambda s=sampled: mixture_loss(model, s), samples),
                        ):
                            acc.add_(g)
                for p, g in zip(params, grads):
                    p.grad = g
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
        finally:
            model.train(was_training)  # type: ignore[attr-defined]

    def state_dict(self) -> dict[str, Any]:
        return self.memory.state_dict("memory.")

    def load_state_dict(self, state: Mapping[str, Any], ctx: TrainingContext) -> None:
        self.memory.load_state_dict(state, "memory.")
