"""A-GEM: the projected gradient never points against the reference gradient of past tasks' memories."""

from __future__ import annotations

import torch
from climb_replay._common import memory_loss


def _trainable(ctx):
    return [p for p in ctx.model.parameters() if p.requires_grad]


def _flat(grads, params):
    return torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1) for g, p in zip(grads, params)])


def _after_first_task(h, **options):
    ctx = h.context()
    agem = h.build("agem", memories_per_task=10, sample_size=64, **options)
    ctx.task_index = 0
    agem.on_task_start(ctx)
    agem.on_task_end(ctx)
    ctx.task_index = 1
    agem.on_task_start(ctx)
    return ctx, agem


def _reference_gradient(ctx, agem):
    """g_ref computed independently: zero the gradients, back-propagate the whole memory's loss."""
    params = _trainable(ctx)
    ctx.model.zero_grad(set_to_none=True)
    memory_loss(ctx, agem.memory.entries(["colours"])).backward()
    reference = _flat([p.grad for p in params], params)
    ctx.model.zero_grad(set_to_none=True)
    return reference


def _set_grads(ctx, flat):
    params, offset = _trainable(ctx), 0
    for p in params:
        p.grad = flat[offset : offset + p.numel()].view_as(p).clone()
        offset += p.numel()


def test_memory_holds_memories_per_task_random_indices(h):
    _, agem = _after_first_task(h)
    held = agem.memory.indices("colours")
    assert len(held) == len(set(held)) == 10 and all(type(i) is int and 0 <= i < 48 for i in held)


def test_a_conflicting_gradient_is_projected_onto_the_reference_plane(h):
    ctx, agem = _after_first_task(h)
    reference = _reference_gradient(ctx, agem)
    torch.manual_seed(0)
    noise = torch.randn_like(reference)
    g = -reference + 0.1 * reference.norm() * noise / noise.norm()  # points against g_ref
    assert float(g @ reference) < 0
    _set_grads(ctx, g)
    agem.before_optimizer_step(ctx, "yesno", ctx.batch("yesno", [0, 1]))
    params = _trainable(ctx)
    projected = _flat([p.grad for p in params], params)
    assert agem.projections == 1 and agem.steps == 1
    expected = g - (g @ reference) / (reference @ reference) * reference
    torch.testing.assert_close(projected, expected, rtol=1e-4, atol=1e-6)
    assert float(projected @ reference) >= -1e-5 * float(projected.norm() * reference.norm())
    assert agem.last_dots[0] < 0 and abs(agem.last_dots[1]) <= 1e-5 * float(projected.norm() * reference.norm())
    assert {t for t, _ in agem.last_reference_entries} == {"colours"}  # only the past task's memory


def test_an_agreeing_gradient_is_left_exactly_as_it_was(h):
    ctx, agem = _after_first_task(h)
    reference = _reference_gradient(ctx, agem)
    ctx.model.loss("yesno", ctx.batch("yesno", list(range(8)))).backward()  # a real batch gradient
    params = _trainable(ctx)
    before = [None if p.grad is None else p.grad.clone() for p in params]
    g = _flat(before, params)
    if float(g @ reference) < 0:  # make it agree: flip it
        for p in params:
            if p.grad is not None:
                p.grad.neg_()
        before = [None if p.grad is None else p.grad.clone() for p in params]
    agem.before_optimizer_step(ctx, "yesno", ctx.batch("yesno", [0, 1]))
    assert agem.projections == 0 and agem.steps == 1
    for b, p in zip(before, params):
        assert (b is None and p.grad is None) or torch.equal(b, p.grad)  # the batch gradient survived


def test_no_reference_while_learning_the_first_task(h):
    ctx = h.context()
    agem = h.build("agem")
    ctx.task_index = 0
    agem.on_task_start(ctx)
    ctx.model.loss("colours", ctx.batch("colours", [0, 1])).backward()
    grads = [p.grad for p in _trainable(ctx)]
    agem.before_optimizer_step(ctx, "colours", {})
    assert agem.steps == 0 and all(a is b for a, b in zip(grads, [p.grad for p in _trainable(ctx)]))


def test_in_a_run_updates_never_oppose_the_reference_and_references_use_past_memories(h, tmp_path):
    agem = h.build("agem", memories_per_task=10, sample_size=12)
    agem.record_reference = True
    dots, projections = [], []

    def check(ctx, _):
        if agem.last_reference is None or ctx.task_index == 0:
            return
        params = _trainable(ctx)
        g, r = _flat([p.grad for p in params], params), _flat(agem.last_reference, params)
        dots.append(float(g @ r) / max(1e-12, float(g.norm() * r.norm())))
        projections.append(agem.projections)

    calls = h.instrument(agem, ["before_optimizer_step"], after=check)
    results = h.run(agem, tmp_path, tasks=3, epochs=2)
    order = results["tasks"]
    assert len(dots) == 2 * 12 and min(dots) >= -1e-5, min(dots)
    assert max(projections) > 0  # the projection branch was exercised in this run
    assert calls and {c.learning for c in calls} == {1, 2}
    for call in calls:
        assert call.task in order[: call.learning]
        assert set(call.indices) <= set(agem.memory.indices(call.task))
    assert [len(agem.memory.indices(t)) for t in order] == [10, 10, 10]
