"""The penalty: zero at the anchor, growing (quadratically) with the distance, and which past tasks count."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import torch

from climb_harness.testing.components import synthetic_task


def _learned(h, tasks=None, **options):
    """An EWC that has finished tasks 0..k-1 of the context (each with its own anchor)."""
    ctx = h.context(tasks)
    ewc = h.build(fisher_sample_percentage=0.5, **options)
    ewc.setup(ctx)
    return ctx, ewc


def _end_task(ctx, ewc, index, shift=0.0):
    ctx.task_index = index
    if shift:
        with torch.no_grad():
            for p in ctx.model.encoder.parameters():
                p.add_(shift * torch.randn_like(p))
    ewc.on_task_start(ctx)
    ewc.on_task_end(ctx)


def test_penalty_is_zero_at_the_anchor_and_grows_monotonically_with_distance(h):
    ctx, ewc = _learned(h)
    _end_task(ctx, ewc, 0)
    params = dict(ctx.model.encoder.named_parameters())
    assert float(ewc.penalty(ctx, ["colours"]).detach()) == 0.0
    torch.manual_seed(3)
    direction = {n: torch.randn_like(p) for n, p in params.items()}
    values = []
    for scale in [0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 2.0]:
        with torch.no_grad():
            for n, p in params.items():
                p.copy_(ewc.anchors["colours"][n] + scale * direction[n])
        values.append(float(ewc.penalty(ctx, ["colours"])))
    assert values[0] == 0.0
    assert all(b > a for a, b in pairwise(values)), values
    # a quadratic form: doubling the perturbation multiplies the penalty by 4; lambda scales it linearly
    assert abs(values[-1] / values[-2] - 4.0) < 1e-3
    ewc.ewc_lambda *= 3
    assert abs(float(ewc.penalty(ctx, ["colours"])) / values[-1] - 3.0) < 1e-4


def test_penalty_matches_its_formula(h):
    ctx, ewc = _learned(h, ewc_lambda=7.0)
    _end_task(ctx, ewc, 0)
    with torch.no_grad():
        for p in ctx.model.encoder.parameters():
            p.add_(0.05 * torch.randn_like(p))
    params = dict(ctx.model.encoder.named_parameters())
    expected = 7.0 * sum(float((ewc.fishers["colours"][n] * (params[n] - ewc.anchors["colours"][n]) ** 2).sum())
                         for n in params)
    assert abs(float(ewc.penalty(ctx, ["colours"])) - expected) <= 1e-5 * expected


def test_no_penalty_while_learning_the_first_task(h):
    ctx, ewc = _learned(h)
    ctx.task_index = 0
    ewc.on_task_start(ctx)
    batch = ctx.batch("colours", [0, 1, 2, 3])
    assert torch.equal(ewc.training_loss(ctx, "colours", batch), ctx.model.loss("colours", batch))
    assert ewc.last_penalty_tasks == []


def test_training_loss_adds_the_penalty_of_a_past_task(h):
    ctx, ewc = _learned(h)
    _end_task(ctx, ewc, 0)
    ctx.task_index = 1
    ewc.on_task_start(ctx)
    with torch.no_grad():
        for p in ctx.model.encoder.parameters():
            p.add_(0.1 * torch.randn_like(p))
    batch = ctx.batch("yesno", [0, 1, 2, 3])
    loss = ewc.training_loss(ctx, "yesno", batch)
    assert ewc.last_penalty_tasks == ["colours"]
    penalty = ewc.penalty(ctx, ["colours"])
    assert float(penalty) > 0
    torch.testing.assert_close(loss, ctx.model.loss("yesno", batch) + penalty)
    loss.backward()  # the penalty is differentiable w.r.t. the encoder
    assert ctx.model.encoder.image_proj.weight.grad is not None


def test_random_past_draws_only_past_tasks_uniformly_and_all_past_sums_them(h):
    tasks = [*h.tasks(), synthetic_task("shades", "colour", size=48, seed=3)]
    ctx, ewc = _learned(h, tasks)
    _end_task(ctx, ewc, 0)
    _end_task(ctx, ewc, 1, shift=0.05)
    ctx.task_index = 2
    ewc.on_task_start(ctx)
    with torch.no_grad():
        for p in ctx.model.encoder.parameters():
            p.add_(0.05 * torch.randn_like(p))
    batch = ctx.batch("shades", list(range(4)))
    drawn = Counter()
    for _ in range(300):
        ewc.training_loss(ctx, "shades", batch)
        drawn.update(ewc.last_penalty_tasks)
    assert set(drawn) == {"colours", "yesno"} and sum(drawn.values()) == 300
    assert 100 < drawn["colours"] < 200  # uniform over the two past tasks

    every = h.build(fisher_sample_percentage=0.5, penalty="all-past")
    every.fishers, every.anchors = ewc.fishers, ewc.anchors
    loss = every.training_loss(ctx, "shades", batch)
    assert every.last_penalty_tasks == ["colours", "yesno"]
    expected = ctx.model.loss("shades", batch) + ewc.penalty(ctx, ["colours"]) + ewc.penalty(ctx, ["yesno"])
    torch.testing.assert_close(loss, expected)


def test_the_draws_are_seeded_per_task(h):
    """A task's draws depend only on (seed, task index), not on draws made while learning earlier tasks:
    a run resumed at a task boundary then draws what an uninterrupted one does."""
    tasks = [*h.tasks(), synthetic_task("shades", "colour", size=48, seed=3)]
    sequences = []
    for draws_during_task_1 in (0, 25):
        ctx, ewc = _learned(h, tasks)
        _end_task(ctx, ewc, 0)
        ctx.task_index = 1
        ewc.on_task_start(ctx)
        for _ in range(draws_during_task_1):
            ewc.training_loss(ctx, "yesno", ctx.batch("yesno", [0, 1]))
        ewc.on_task_end(ctx)
        ctx.task_index = 2
        ewc.on_task_start(ctx)
        batch = ctx.batch("shades", [0, 1])
        seq = []
        for _ in range(20):
            ewc.training_loss(ctx, "shades", batch)
            seq += ewc.last_penalty_tasks
        sequences.append(seq)
    assert sequences[0] == sequences[1] and len(set(sequences[0])) == 2
