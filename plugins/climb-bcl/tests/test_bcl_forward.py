"""A replay batch mixing past tasks goes through the encoder once, for its cross-entropy and its distillation.

The reference is climb-bcl 0.2.0's computation written out: each task's share through ``ctx.model`` (one
encoder pass per task for the cross-entropy, another for the distillation term). Tolerance 1e-6 relative and
absolute: the TinyEncoder treats rows independently, so the merged pass is the same function; only the
matrix products' blocking may change with the number of rows, which moves the last bits (a few units in the
last place of values of order one), far below the effect of a wrong split.
"""

from __future__ import annotations

import torch
from climb_bcl.distill import distillation_loss

TOLERANCE = {"rtol": 1e-6, "atol": 1e-6}


class _Passes:
    def __init__(self, model):
        self.count = 0
        model.encoder.register_forward_hook(lambda *_: setattr(self, "count", self.count + 1))


def _three_past_tasks(make_ctx, tiny_tasks, make_bcl, **options):
    ctx = make_ctx(tiny_tasks(3))
    algorithm = make_bcl(n_memories=12, **options)
    for index in range(2):
        ctx.task_index = index
        algorithm.on_task_end(ctx)
    ctx.task_index = 2
    replay = algorithm._load(ctx, algorithm.memory.sample("replay", 12, torch.Generator().manual_seed(0)))
    assert len(replay) == 2  # the draw mixes both past tasks
    return ctx, algorithm, replay


def _per_task_inner_loss(ctx, algorithm, task, batch, replay, teachers):
    """climb-bcl 0.2.0's inner loss: a pass per task for the cross-entropy, one more for the distillation."""
    total = sum(len(rows) for _, _, rows in replay)
    loss = ctx.model.loss(task, batch) + sum(
        ctx.model.loss(name, data) * (len(rows) / total) for name, data, rows in replay
    )
    for (name, data, rows), teacher in zip(replay, teachers):
        kd = distillation_loss(
            ctx.tasks[name].head.type, ctx.model(name, data), teacher, algorithm.options["temperature"]
        )
        loss = loss + algorithm.options["memory_strength"] * kd * (len(rows) / total)
    return loss


def test_inner_loss_equals_the_per_task_computation_from_two_passes(make_ctx, tiny_tasks, make_bcl):
    ctx, algorithm, replay = _three_past_tasks(make_ctx, tiny_tasks, make_bcl)
    with torch.no_grad():  # move the weights off those the stored teachers were recorded with
        for p in ctx.model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    teachers = algorithm._teachers(ctx, replay)
    batch = ctx.batch("colours-b", list(range(8)))
    reference = _per_task_inner_loss(ctx, algorithm, "colours-b", batch, replay, teachers)
    passes = _Passes(ctx.model)
    loss = algorithm.inner_loss(ctx, "colours-b", batch, replay, teachers)
    assert passes.count == 2  # the current batch, then the whole replay batch once
    torch.testing.assert_close(loss, reference, **TOLERANCE)
    params = [p for p in ctx.model.parameters() if p.requires_grad]
    for a, b in zip(
        torch.autograd.grad(loss, params, allow_unused=True),
        torch.autograd.grad(reference, params, allow_unused=True),
    ):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b, **TOLERANCE)


def test_the_slow_teacher_and_the_evaluation_loss_take_one_pass(make_ctx, tiny_tasks, make_bcl):
    ctx, algorithm, replay = _three_past_tasks(make_ctx, tiny_tasks, make_bcl, teacher="slow")
    passes = _Passes(ctx.model)
    teachers = algorithm._teachers(ctx, replay)
    mixture = algorithm.mixture_loss(ctx, replay)
    assert passes.count == 2
    ctx.model.eval()
    for (name, data, _), teacher in zip(replay, teachers):
        torch.testing.assert_close(teacher, ctx.model(name, data), **TOLERANCE)
    ctx.model.train()
    total = sum(len(rows) for _, _, rows in replay)
    torch.testing.assert_close(
        mixture, sum(ctx.model.loss(n, d) * (len(r) / total) for n, d, r in replay), **TOLERANCE
    )
