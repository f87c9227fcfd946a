"""MAS against the paper: the importance is the mean over examples of |d ||F(x)||^2 / d theta|, checked
against a per-example loop; it uses no label; it adds up over tasks; the penalty is
lambda Omega (theta - theta*)^2."""

from __future__ import annotations

import torch


def _encoder(ctx):
    return {n: p for n, p in ctx.model.encoder.named_parameters() if p.requires_grad}


def _brute_force(ctx, task, indices):
    """(1/N) sum_n |grad of the squared L2 norm of the head's logits on example n|, one example at a time."""
    params = _encoder(ctx)
    total = {n: torch.zeros_like(p) for n, p in params.items()}
    ctx.model.eval()
    for index in indices:
        output = ctx.model(task, ctx.batch(task, [index]))
        grads = torch.autograd.grad((output ** 2).sum(), list(params.values()), allow_unused=True)
        for name, g in zip(params, grads):
            if g is not None:
                total[name] += g.abs()
    ctx.model.train()
    return {n: v / len(indices) for n, v in total.items()}


def test_importance_equals_a_per_example_loop(h):
    ctx = h.context()
    mas = h.build("mas", importance_sample_percentage=0.5)
    indices = mas.sample(ctx, "colours")
    assert len(indices) == 24 and indices == sorted(set(indices))
    estimate = mas.estimate_importance(ctx, "colours")
    expected = _brute_force(ctx, "colours", indices)
    for name in expected:
        torch.testing.assert_close(estimate[name], expected[name], rtol=1e-5, atol=1e-8)
    # per example, as Eq. 4: the official code's |gradient of the batch sum| is smaller where they disagree
    params = _encoder(ctx)
    ctx.model.eval()
    output = ctx.model("colours", ctx.batch("colours", indices))
    batch_grads = torch.autograd.grad((output ** 2).sum(), list(params.values()), allow_unused=True)
    ctx.model.train()
    smaller = [float((g.abs() / len(indices)).sum()) < float(expected[n].sum()) - 1e-6
               for n, g in zip(params, batch_grads) if g is not None]
    assert any(smaller)


def test_importance_uses_no_label_and_leaves_the_model_as_it_was(h):
    ctx = h.context()
    mas = h.build("mas", importance_max_examples=16)
    before = mas.estimate_importance(ctx, "colours")
    real = type(ctx).batch

    def scrambled(task, indices):
        batch = real(ctx, task, indices)
        return {**batch, "targets": torch.randint(0, 4, batch["targets"].shape)}

    ctx.batch = scrambled
    after = mas.estimate_importance(ctx, "colours")
    del ctx.batch
    assert all(torch.equal(before[n], after[n]) for n in before)
    assert ctx.model.training and all(p.grad is None for p in ctx.model.parameters())


def test_importances_add_up_over_tasks_and_the_penalty_follows_eq_3(h):
    ctx = h.context()
    mas = h.build("mas", mas_lambda=2.5, importance_max_examples=8)
    ctx.task_index = 0
    first = mas.estimate_importance(ctx, "colours")
    mas.on_task_end(ctx)
    assert float(mas.penalty(ctx).detach()) == 0.0
    ctx.task_index = 1
    with torch.no_grad():
        for p in _encoder(ctx).values():
            p.add_(0.01 * torch.randn_like(p))
    second = mas.estimate_importance(ctx, "yesno")
    mas.on_task_end(ctx)
    for name in first:
        torch.testing.assert_close(mas.importance[name], first[name] + second[name])
    with torch.no_grad():
        for p in _encoder(ctx).values():
            p.add_(0.01 * torch.randn_like(p))
    params = _encoder(ctx)
    expected = 2.5 * sum((mas.importance[n] * (p - mas.anchor[n]) ** 2).sum() for n, p in params.items())
    torch.testing.assert_close(mas.penalty(ctx), expected)


def test_a_run_resumes_exactly(h, tmp_path):
    results = h.assert_resume_reproduces(lambda: h.build("mas", importance_max_examples=16), tmp_path)
    _, state = h.final_weights(tmp_path / "full", results)
    names = state["mas.params"]
    assert names and all(float(state[f"mas.importance.{n}"].min()) >= 0 for n in names)
