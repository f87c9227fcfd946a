"""``penalty: all-past`` from running sums: the sum over past tasks in one pass over the parameters.

Fishers and anchors here are random, with a quarter of the Fisher zero; the reference is the definition.
"""

from __future__ import annotations

import pytest
import torch
from climb_ewc.running import SummedQuadratic


def _params(ctx):
    return dict(ctx.model.encoder.named_parameters())


def _past_tasks(h, count, seed=0):
    """An all-past EWC holding ``count`` tasks' random Fishers (a quarter of the entries zero) and anchors
    near the weights, and the weights moved off every anchor by about 1e-3 (where uncentred sums cancel)."""
    ctx = h.context()
    ewc = h.build(penalty="all-past")
    generator = torch.Generator().manual_seed(seed)
    params = _params(ctx)
    for t in range(count):
        ewc.fishers[f"t{t}"] = {
            n: torch.rand(p.shape, generator=generator) * (torch.rand(p.shape, generator=generator) > 0.25)
            for n, p in params.items()
        }
        ewc.anchors[f"t{t}"] = {
            n: p.detach() + 1e-3 * torch.randn(p.shape, generator=generator) for n, p in params.items()
        }
    return ctx, ewc


def _per_task(ewc, params, dtype=torch.float32):
    """The definition: sum over tasks and parameters of F (theta - theta*)^2, times lambda."""
    return ewc.ewc_lambda * sum(
        (
            (f.to(dtype) * (params[n].to(dtype) - ewc.anchors[t][n].to(dtype)).pow(2)).sum()
            for t, fisher in ewc.fishers.items()
            for n, f in fisher.items()
        )
    )


@pytest.mark.parametrize("count", [2, 3, 8])
def test_all_past_equals_the_sum_over_tasks_in_value_and_gradient(h, count):
    ctx, ewc = _past_tasks(h, count)
    params = _params(ctx)
    value = ewc.penalty(ctx, list(ewc.fishers))
    grads = torch.autograd.grad(value, list(params.values()))
    exact = _per_task(ewc, params, torch.float64)
    exact_grads = torch.autograd.grad(exact, list(params.values()))
    # float32 against the float64 definition: the value within 1e-6, each gradient within 1e-5 of its scale
    # (the per-task float32 sum is within 2e-7 and 1.2e-7 here; the sums within 8e-8 and 3.4e-7)
    assert abs(float(value.detach()) - float(exact.detach())) <= 1e-6 * float(exact.detach())
    for g, e in zip(grads, exact_grads):
        torch.testing.assert_close(g, e.float(), rtol=1e-5, atol=1e-5 * float(e.abs().max()))
    assert len(ewc.summed().folded) == count


def test_the_offset_sums_do_not_cancel_where_the_raw_ones_would(h):
    """Why offsets from the latest anchor rather than A, B and C: near the anchors A theta^2 - 2 B theta + C
    loses most digits in float32."""
    ctx, ewc = _past_tasks(h, 4)
    params = _params(ctx)
    exact = float(_per_task(ewc, params, torch.float64).detach())
    raw = 0.0
    for n, p in params.items():
        a = sum(ewc.fishers[t][n] for t in ewc.fishers)
        b = sum(ewc.fishers[t][n] * ewc.anchors[t][n] for t in ewc.fishers)
        c = sum(ewc.fishers[t][n] * ewc.anchors[t][n] ** 2 for t in ewc.fishers)
        raw += float((a * p.detach() ** 2 - 2 * b * p.detach() + c).sum())
    raw *= ewc.ewc_lambda
    centred = float(ewc.penalty(ctx, list(ewc.fishers)).detach())
    assert abs(centred - exact) < 1e-5 * exact < abs(raw - exact), (centred, raw, exact)


def _graph_size(tensor):
    seen, stack = set(), [tensor.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        stack.extend(next_node for next_node, _ in node.next_functions)
    return len(seen)


def test_the_cost_per_step_does_not_grow_with_the_number_of_past_tasks(h):
    """The penalty's autograd graph (one node per operation) is the same for 2 and for 8 past tasks."""
    sizes = {}
    for count in (2, 8):
        ctx, ewc = _past_tasks(h, count)
        sizes[count] = _graph_size(ewc.penalty(ctx, list(ewc.fishers)))
    ctx, ewc = _past_tasks(h, 8)
    per_task = _graph_size(_per_task(ewc, _params(ctx)))  # the per-task form grows with the tasks
    assert sizes[2] == sizes[8] < per_task, (sizes, per_task)


def test_training_loss_uses_every_past_task(h):
    ctx, ewc = _past_tasks(h, 3)
    ctx.task_index = 1
    ewc.on_task_start(ctx)
    batch = ctx.batch("yesno", [0, 1, 2])
    loss = ewc.training_loss(ctx, "yesno", batch)
    assert ewc.last_penalty_tasks == ["t0", "t1", "t2"]
    torch.testing.assert_close(
        loss, ctx.model.loss("yesno", batch) + _per_task(ewc, _params(ctx)), rtol=1e-5, atol=0
    )


def test_folding_is_incremental_and_a_replaced_state_is_folded_again(h):
    ctx, ewc = _past_tasks(h, 3)
    first = ewc.summed()
    ewc.fishers["t3"], ewc.anchors["t3"] = ewc.fishers["t0"], ewc.anchors["t2"]
    assert ewc.summed() is first and [t for t, _, _ in first.folded] == ["t0", "t1", "t2", "t3"]
    ewc.fishers["t1"] = {n: 2 * f for n, f in ewc.fishers["t1"].items()}  # another Fisher under a folded name
    again = ewc.summed()
    assert again is not first
    torch.testing.assert_close(
        ewc.penalty(ctx, list(ewc.fishers)), _per_task(ewc, _params(ctx)), rtol=1e-5, atol=0
    )


def test_the_sums_of_a_loaded_state_are_those_of_the_uninterrupted_run(h):
    """Resume: the state holds the per-task Fishers and anchors; folding them again in the learned order gives
    bit-identical sums, hence a bit-identical penalty."""
    ctx, ewc = _past_tasks(h, 5)
    before = ewc.penalty(ctx, list(ewc.fishers))
    state = ewc.state_dict()
    fresh = h.build(penalty="all-past")
    fresh.load_state_dict(state, ctx)
    assert torch.equal(fresh.penalty(ctx, list(fresh.fishers)), before)
    for part in ("weight", "offset", "residual", "reference"):
        ours, theirs = getattr(ewc.summed(), part), getattr(fresh.summed(), part)
        assert ours.keys() == theirs.keys() and all(torch.equal(ours[n], theirs[n]) for n in ours)


def test_resume_reproduces_an_uninterrupted_all_past_run(h, tmp_path):
    """Three tasks: the third is trained against the running sums of the first two."""
    h.assert_resume_reproduces(
        lambda: h.build(penalty="all-past", fisher_sample_percentage=0.25), tmp_path, tasks=h.tasks(3)
    )


def test_summed_quadratic_by_hand():
    """Two one-parameter tasks: F = (1, 3), anchors (0, 4): A = 4, the reference is the latest anchor 4, the
    weighted mean offset m = (1 * -4 + 3 * 0) / 4 = -1, R = 1 * (-4 + 1)^2 + 3 * (0 + 1)^2 = 12, and the
    penalty at theta = 1 is 4 * (1 - 4 + 1)^2 + 12 = 28 = 1 * 1 + 3 * 9."""
    summed = SummedQuadratic()
    summed.fold("a", {"w": torch.tensor([1.0, 0.0])}, {"w": torch.tensor([0.0, 5.0])})
    summed.fold("b", {"w": torch.tensor([3.0, 0.0])}, {"w": torch.tensor([4.0, 7.0])})
    assert summed.weight["w"].tolist() == [4.0, 0.0] and summed.offset["w"][0] == -1.0
    assert summed.reference["w"].tolist() == [4.0, 7.0] and summed.residual["w"].tolist() == [12.0, 0.0]
    assert float(summed.value({"w": torch.tensor([1.0, 100.0])})) == 28.0  # a zero Fisher adds nothing
