"""A-GEM (Chaudhry et al. 2019, "Efficient Lifelong Learning with A-GEM").

After each task, a random ``memories_per_task`` of its training examples (indices) enter the episodic
memory. Before every optimizer step while learning a later task, the reference gradient g_ref is the
gradient of the loss on ``sample_size`` examples drawn uniformly from the past tasks' memories (each
through its own head). If the batch gradient g points against it (g . g_ref < 0), g is replaced by
its projection g - (g . g_ref / g_ref . g_ref) g_ref, which has zero dot product with g_ref, so to
first order the step does not increase the memory loss. All trainable parameters form one flat vector.

The current ``.grad`` survives the reference computation: it is set aside, the memory loss is
back-propagated into empty gradients, g_ref is read off, and the batch gradient is put back.
(CL-Gym's A-GEM reads g_ref without zeroing the batch gradient first; this one does not copy that.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from climb_harness.api import Algorithm, TrainingContext
from climb_replay._common import memory_loss, past_tasks, task_rng
from climb_replay.memory import TaskMemory, sample

_FILL_STREAM = 0xA6E1
_REFERENCE_STREAM = 0xA6E2


def flat_dot(a: list[torch.Tensor | None], b: list[torch.Tensor | None]) -> torch.Tensor | None:
    """Dot product of two gradients given per parameter (``None`` = zero)."""
    total = None
    for x, y in zip(a, b):
        if x is not None and y is not None:
            term = (x * y).sum()
            total = term if total is None else total + term
    return total


class AGEM(Algorithm):
    """Averaged gradient episodic memory; see the module docstring."""

    #: keep the latest reference gradient in :attr:`last_reference` (tests; costs one model-size copy)
    record_reference = False

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.memory = TaskMemory(capacity=int(self.options.get("memories_per_task", 250)))
        self.sample_size = int(self.options.get("sample_size", 256))
        self.steps = 0  # steps with a reference gradient, in the current task
        self.projections = 0  # of which projected, in the current task
        self.last_dots: tuple[float, float] | None = None  # (g . g_ref before, after) of the latest step
        self.last_reference_entries: list[tuple[str, int]] = []
        self.last_reference: list[torch.Tensor | None] | None = None
        self._rng = None

    def on_task_start(self, ctx: TrainingContext) -> None:
        self._rng = task_rng(ctx, _REFERENCE_STREAM)
        self.steps = self.projections = 0

    def on_task_end(self, ctx: TrainingContext) -> None:
        task = ctx.current_task
        n = ctx.num_train_examples(task)
        size = min(n, self.memory.capacity or n)
        self.memory.set(task, task_rng(ctx, _FILL_STREAM).choice(n, size=size, replace=False).tolist())

    def before_optimizer_step(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> None:
        candidates = self.memory.entries(t for t in past_tasks(ctx) if t != task)
        if not candidates:
            return
        if self._rng is None:
            self._rng = task_rng(ctx, _REFERENCE_STREAM)
        entries = sample(candidates, self.sample_size, self._rng)
        params = [p for p in ctx.model.parameters() if p.requires_grad]
        grads = self.reference_projection(ctx, params, entries)
        for p, g in zip(params, grads):
            p.grad = g

    def reference_projection(self, ctx: TrainingContext, params: list[torch.nn.Parameter],
                             entries: list[tuple[str, int]]) -> list[torch.Tensor | None]:
        """The batch gradient (currently in ``.grad``), projected if it conflicts with the memory's."""
        batch_grads = [p.grad for p in params]
        for p in params:  # set the batch gradient aside; backward() below writes into empty .grad
            p.grad = None
        try:
            memory_loss(ctx, entries).backward()
            reference = [None if p.grad is None else p.grad.detach() for p in params]
        finally:
            for p, g in zip(params, batch_grads):
                p.grad = g
        self.last_reference_entries = entries
        self.last_reference = reference if self.record_reference else None
        self.steps += 1
        dot = flat_dot(batch_grads, reference)
        if dot is None or float(dot) >= 0:
            self.last_dots = (0.0 if dot is None else float(dot),) * 2
            return batch_grads
        ref_norm = flat_dot(reference, reference)  # > 0: dot < 0 implies g_ref != 0
        coefficient = dot / ref_norm
        projected: list[torch.Tensor | None] = []
        for g, r in zip(batch_grads, reference):
            if r is None:
                projected.append(g)
            else:
                projected.append((torch.zeros_like(r) if g is None else g) - coefficient * r)
        self.projections += 1
        after = flat_dot(projected, reference)
        self.last_dots = (float(dot), 0.0 if after is None else float(after))
        return projected

    def state_dict(self) -> dict[str, Any]:
        return self.memory.state_dict("memory")

    def load_state_dict(self, state: Mapping[str, Any], ctx: TrainingContext) -> None:
        self.memory.load_state_dict(state, "memory")
