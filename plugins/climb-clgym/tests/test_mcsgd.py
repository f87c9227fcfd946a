"""MC-SGD: the exact gradient of the line objective, the starting point, and descent on that objective."""

from __future__ import annotations

import torch
from climb_clgym.mcsgd import line_gradient
from torch.func import functional_call
from torch.nn import functional as F


def _trainable(model):
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


def test_line_gradient_is_the_gradient_of_the_mean_loss_along_the_segment(make_ctx, tiny_tasks):
    ctx = make_ctx(tiny_tasks(1))
    model = ctx.model
    names, params = zip(*_trainable(model))
    gen = torch.Generator().manual_seed(0)
    anchor = [p.detach() + 0.2 * torch.randn(p.shape, generator=gen) for p in params]
    batch = ctx.batch("colours", list(range(16)))
    end = [p.detach().clone() for p in params]

    got = line_gradient(params, anchor, lambda: model.loss("colours", batch), samples=4)
    assert all(torch.equal(p, w) for p, w in zip(params, end))  # parameters restored to w

    w = [p.detach().clone().requires_grad_(True) for p in params]
    losses = []
    for k in range(5):  # s = 0, 1/4, ..., 1
        point = {n: a + (k / 4) * (x - a) for n, a, x in zip(names, anchor, w)}
        losses.append(F.cross_entropy(functional_call(model, point, ("colours", batch)), batch["targets"]))
    expected = torch.autograd.grad(torch.stack(losses).mean(), w, allow_unused=True)
    for g, e in zip(got, expected):
        assert torch.allclose(g, torch.zeros_like(g) if e is None else e, atol=1e-6)
    assert any(g.abs().max() > 0 for g in got)


def _two_tasks(make_ctx, tiny_tasks, make_algo, **options):
    """Task 0 ends; task 1 starts (w_prev), its 'training' moves the weights (w_hat)."""
    ctx = make_ctx(tiny_tasks(2))
    algorithm = make_algo("mc-sgd", **options)
    algorithm.setup(ctx)
    ctx.task_index = 0
    algorithm.on_task_start(ctx)
    algorithm.on_task_end(ctx)
    ctx.task_index = 1
    algorithm.on_task_start(ctx)
    params = [p for _, p in _trainable(ctx.model)]
    w_prev = [p.detach().clone() for p in params]
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in params:
            p.add_(0.3 * torch.randn(p.shape, generator=gen))
    w_hat = [p.detach().clone() for p in params]
    return ctx, algorithm, params, w_prev, w_hat


def test_without_steps_the_result_is_the_alpha_point(make_ctx, tiny_tasks, make_algo):
    ctx, algorithm, params, w_prev, w_hat = _two_tasks(
        make_ctx, tiny_tasks, make_algo, mcsgd_steps=0, alpha=0.25
    )
    algorithm.on_task_end(ctx)
    for p, a, b in zip(params, w_prev, w_hat):
        assert torch.allclose(p, a + 0.25 * (b - a), atol=1e-7)


def _line_objective(ctx, algorithm, params, w_prev, w_hat, samples):
    """mean_s L_past(w_prev + s (w - w_prev)) + mean_s L_1(w_hat + s (w - w_hat)) over the whole memories."""
    w = [p.detach().clone() for p in params]
    total = 0.0
    with torch.no_grad():
        for task, anchor in (("colours", w_prev), ("yesno", w_hat)):
            data = ctx.batch(task, algorithm.memory.indices[task].tolist())
            for k in range(samples + 1):
                for p, a, x in zip(params, anchor, w):
                    p.copy_(a + (k / samples) * (x - a))
                total += ctx.model.loss(task, data).item() / (samples + 1)
        for p, x in zip(params, w):
            p.copy_(x)
    return total


def test_steps_descend_the_line_objective_from_the_alpha_point(make_ctx, tiny_tasks, make_algo):
    options = {
        "mcsgd_steps": 15,
        "alpha": 0.5,
        "memory_per_task": 16,
        "batch_size": 64,
        "line_samples": 4,
        "mcsgd_lr": 0.05,
    }
    ctx, algorithm, params, w_prev, w_hat = _two_tasks(make_ctx, tiny_tasks, make_algo, **options)
    # the memory of the current task is made at its end: compute the objective at the start point afterwards
    algorithm.on_task_end(ctx)
    final = [p.detach().clone() for p in params]
    with torch.no_grad():
        for p, a, b in zip(params, w_prev, w_hat):
            p.copy_(a + 0.5 * (b - a))
    start_objective = _line_objective(ctx, algorithm, params, w_prev, w_hat, 4)
    with torch.no_grad():
        for p, x in zip(params, final):
            p.copy_(x)
    final_objective = _line_objective(ctx, algorithm, params, w_prev, w_hat, 4)
    assert final_objective < 0.9 * start_objective  # here 2.34 -> 1.60


def test_memory_is_bounded_and_checkpointed(make_ctx, tiny_tasks, make_algo):
    ctx, algorithm, *_ = _two_tasks(make_ctx, tiny_tasks, make_algo, memory_per_task=10, mcsgd_steps=1)
    algorithm.on_task_end(ctx)
    assert algorithm.memory.tasks == ["colours", "yesno"]
    assert [len(v) for v in algorithm.memory.indices.values()] == [10, 10]
    assert all(len(set(v.tolist())) == 10 and int(v.max()) < 48 for v in algorithm.memory.indices.values())
    again = make_algo("mc-sgd")
    again.load_state_dict(algorithm.state_dict(), ctx)
    assert {t: v.tolist() for t, v in again.memory.indices.items()} == {
        t: v.tolist() for t, v in algorithm.memory.indices.items()
    }


def test_the_memory_loss_takes_one_encoder_pass_for_every_past_task(make_ctx, tiny_tasks):
    """climb-clgym 0.2.0 ran each past task's share through model.loss (one encoder pass per task); the loss
    is the same from one pass (1e-6: rows are independent in the TinyEncoder, only a larger matrix product's
    rounding may differ, a few units in the last place)."""
    from climb_clgym._common import IndexMemory, load, mixture_loss

    ctx = make_ctx(tiny_tasks(3))
    memory = IndexMemory()
    for task in ("colours", "yesno", "colours-b"):
        memory.add(task, range(12))
    drawn = memory.sample(["colours", "yesno", "colours-b"], 20, torch.Generator().manual_seed(0))
    sampled = load(ctx, drawn)
    assert len(sampled) == 3
    passes = []
    handle = ctx.model.encoder.register_forward_hook(lambda *_: passes.append(1))
    loss = mixture_loss(ctx.model, sampled)
    handle.remove()
    assert len(passes) == 1
    reference = sum(ctx.model.loss(task, data) * (n / 20) for task, data, n in sampled)
    torch.testing.assert_close(loss, reference, rtol=1e-6, atol=1e-6)
