"""SI against the paper: the importance is the path integral of the task-loss gradient times the update the
optimizer applied, consolidated as max(0, Omega + omega / (Delta^2 + xi)); computed here by hand."""

from __future__ import annotations

import torch


def _encoder(ctx):
    return {n: p for n, p in ctx.model.encoder.named_parameters() if p.requires_grad}


def _steps_by_hand(h, ctx, si, task, batches):
    """Run ``batches`` through the runner's step sequence; return sum of -g * delta, g the gradient of the
    task's loss ALONE, computed independently before each step."""
    expected = {n: torch.zeros_like(p) for n, p in _encoder(ctx).items()}
    for indices in batches:
        params = _encoder(ctx)
        grads = torch.autograd.grad(ctx.model.loss(task, ctx.batch(task, indices)), list(params.values()),
                                    allow_unused=True)
        before = {n: p.detach().clone() for n, p in params.items()}
        h.step(ctx, si, task, indices)
        for (name, p), g in zip(params.items(), grads):
            if g is not None:
                expected[name] -= g * (p.detach() - before[name])
    return expected


def test_importance_is_the_summed_gradient_times_applied_step(h):
    ctx = h.context(lr=3e-3)
    si = h.build("si", si_c=20.0, xi=0.05)  # a strong penalty, so that g != the back-propagated gradient
    consolidated = {}
    for index, task in enumerate(ctx.task_order):
        ctx.task_index = index
        si.on_task_start(ctx)
        start = {n: p.detach().clone() for n, p in _encoder(ctx).items()}
        expected = _steps_by_hand(h, ctx, si, task, list(ctx.train_batches(task))[:4])
        for name, value in expected.items():
            torch.testing.assert_close(si.path[name], value, rtol=1e-5, atol=1e-9)
        assert any(float(v.abs().max()) > 0 for v in expected.values())
        si.on_epoch_end(ctx, 0)
        si.on_task_end(ctx)
        for name, p in _encoder(ctx).items():
            new = expected[name] / ((p.detach() - start[name]) ** 2 + 0.05)
            consolidated[name] = torch.clamp(consolidated.get(name, torch.zeros_like(new)) + new, min=0)
            torch.testing.assert_close(si.importance[name], consolidated[name], rtol=1e-5, atol=1e-9)
            assert torch.equal(si.anchor[name], p.detach())
        if index == 1:  # the penalty was active: its gradient was taken out of g
            assert si.penalty(ctx) is not None and float(si.penalty(ctx).detach()) >= 0


def test_the_penalty_is_c_omega_times_the_squared_distance(h):
    ctx = h.context(lr=3e-3)
    si = h.build("si", si_c=3.0)
    si.on_task_start(ctx)
    for indices in list(ctx.train_batches("colours"))[:3]:
        h.step(ctx, si, "colours", indices)
    si.on_epoch_end(ctx, 0)
    si.on_task_end(ctx)
    assert float(si.penalty(ctx).detach()) == 0.0  # at the anchor
    with torch.no_grad():
        for p in _encoder(ctx).values():
            p.add_(0.01 * torch.randn_like(p))
    expected = 3.0 * sum((si.importance[n] * (p - si.anchor[n]) ** 2).sum() for n, p in _encoder(ctx).items())
    torch.testing.assert_close(si.penalty(ctx), expected)


def test_the_integral_is_taken_up_to_the_epoch_whose_weights_were_kept(h):
    """The runner restores the best epoch's weights before on_task_end: omega must describe that path."""
    ctx = h.context(lr=3e-3)
    si = h.build("si")
    si.on_task_start(ctx)
    batches = list(ctx.train_batches("colours"))
    h.step(ctx, si, "colours", batches[0])
    si.on_epoch_end(ctx, 0)
    kept = {n: p.detach().clone() for n, p in _encoder(ctx).items()}
    path_after_epoch_0 = {n: v.clone() for n, v in si.path.items()}
    h.step(ctx, si, "colours", batches[1])
    si.on_epoch_end(ctx, 1)
    with torch.no_grad():  # what the runner does when epoch 0 scored best
        for name, p in _encoder(ctx).items():
            p.copy_(kept[name])
    start = si.start
    si.on_task_end(ctx)
    assert si.last_path_source == "epoch 0"
    for name in kept:
        expected = torch.clamp(path_after_epoch_0[name] / ((kept[name] - start[name]) ** 2 + si.xi), min=0)
        torch.testing.assert_close(si.importance[name], expected)


def test_a_run_resumes_exactly(h, tmp_path):
    results = h.assert_resume_reproduces(lambda: h.build("si", si_c=10.0), tmp_path, epochs=2)
    assert results["status"] == "complete"
    _, state = h.final_weights(tmp_path / "full", results)
    names = state["si.params"]
    assert names and all(float(state[f"si.importance.{n}"].min()) >= 0 for n in names)


def test_a_negative_total_is_clamped_at_zero(h):
    """The official code's relu on Omega + omega / (Delta^2 + xi): a parameter whose path integral is
    negative (the loss rose along its path) gets importance 0, not a negative weight."""
    ctx = h.context(lr=3e-3)
    si = h.build("si", xi=0.5)
    si.on_task_start(ctx)
    name, p = next(iter(_encoder(ctx).items()))
    with torch.no_grad():
        p.add_(0.1)  # Delta = 0.1 everywhere in this parameter
    si.path[name] = torch.linspace(-1.0, 1.0, p.numel()).reshape(p.shape)
    si.on_task_end(ctx)
    expected = torch.clamp(torch.linspace(-1.0, 1.0, p.numel()).reshape(p.shape) / (0.01 + 0.5), min=0)
    torch.testing.assert_close(si.importance[name], expected)
    assert float(si.importance[name].min()) == 0.0
