"""OGD: an orthonormal, bounded basis of past GTL gradients; projected gradients and updates are orthogonal to it."""

from __future__ import annotations

import copy

import pytest
import torch
from climb_clgym._common import flatten
from climb_clgym.ogd import ground_truth_logit, orthonormal_extend, project_out


def _shared(ctx, algorithm):
    return algorithm._shared(ctx)


def test_gram_schmidt_gives_an_orthonormal_basis_of_the_span():
    gen = torch.Generator().manual_seed(0)
    first = torch.randn(3, 50, generator=gen)
    basis = orthonormal_extend(torch.zeros(0, 50), first)
    more = torch.cat(
        [torch.randn(2, 50, generator=gen), first[:1] * 2 + first[1:2], torch.zeros(1, 50)]
    )  # 2 new, 1 dependent, 1 zero
    basis = orthonormal_extend(basis, more)
    assert basis.shape == (5, 50)
    assert torch.allclose(basis @ basis.T, torch.eye(5), atol=1e-5)
    for v in torch.cat([first, more]):  # every input lies in the span
        assert project_out(v, basis).norm() <= 1e-4 * max(1.0, v.norm().item())
    assert orthonormal_extend(basis, torch.randn(4, 50, generator=gen), max_rows=6).shape == (6, 50)
    assert orthonormal_extend(basis, torch.randn(4, 50, generator=gen), max_rows=3).shape == (
        5,
        50,
    )  # never shrinks


@pytest.mark.parametrize(
    "head,logits,target,expected",
    [
        ("classification", [1.0, 2.0, 3.0], 1, 2.0),
        ("multiple-choice", [1.0, 2.0, 3.0], 2, 3.0),
        ("soft-score", [1.0, 2.0, 3.0], [0.3, 0.0, 0.9], 3.0),
        ("multi-label", [1.0, 2.0, 3.0], [1.0, 0.0, 1.0], 4.0),
    ],
)
def test_ground_truth_logit(head, logits, target, expected):
    assert ground_truth_logit(head, torch.tensor(logits), torch.tensor(target)).item() == expected
    assert ground_truth_logit("multi-label", torch.tensor(logits), torch.zeros(3)) is None


def _after_first_task(make_ctx, tiny_tasks, make_algo, **options):
    ctx = make_ctx(tiny_tasks(2))
    algorithm = make_algo("ogd", **options)
    algorithm.setup(ctx)
    ctx.task_index = 0
    algorithm.on_task_end(ctx)
    ctx.task_index = 1
    return ctx, algorithm


def test_basis_holds_gtl_gradients_of_the_past_task_and_is_bounded(make_ctx, tiny_tasks, make_algo):
    ctx, algorithm = _after_first_task(make_ctx, tiny_tasks, make_algo, memories_per_task=12)
    basis = algorithm.basis
    assert 0 < basis.shape[0] <= 12
    assert not any(n.startswith("heads.") for n in algorithm.param_names)
    assert basis.shape[1] == sum(p.numel() for p in _shared(ctx, algorithm))
    assert torch.allclose(basis @ basis.T, torch.eye(basis.shape[0]), atol=1e-4)
    # the GTL gradient of a stored example lies in the span
    direction = algorithm.directions(ctx, "colours")[0]
    assert project_out(direction, basis).norm() <= 1e-3 * direction.norm()
    assert basis.shape[0] >= 3  # four colours, one question: a few independent directions
    with pytest.warns(UserWarning, match="basis is full"):
        capped = _after_first_task(make_ctx, tiny_tasks, make_algo, memories_per_task=12, max_directions=2)[1]
    assert capped.basis.shape[0] == 2


def test_projected_gradient_is_orthogonal_to_every_basis_vector(make_ctx, tiny_tasks, make_algo):
    ctx, algorithm = _after_first_task(make_ctx, tiny_tasks, make_algo, memories_per_task=12)
    params = _shared(ctx, algorithm)
    batch = ctx.batch("yesno", list(range(16)))
    ctx.optimizer.zero_grad(set_to_none=True)
    algorithm.training_loss(ctx, "yesno", batch).backward()
    raw = flatten([p.grad for p in params], params).clone()
    algorithm.before_optimizer_step(ctx, "yesno", batch)
    projected = flatten([p.grad for p in params], params)
    basis = algorithm.basis
    assert (basis @ raw).abs().max() > 1e-4  # the raw gradient does interfere with the past task
    assert (basis @ projected).abs().max() <= 1e-5 * raw.norm()
    assert torch.allclose(projected, raw - basis.T @ (basis @ raw), atol=1e-6)
    assert projected.norm() > 0.1 * raw.norm()  # still a useful direction for the new task


def _gtl_outputs(ctx, indices):
    with torch.no_grad():
        data = ctx.batch("colours", indices)
        logits = ctx.model("colours", data)
        return logits.gather(1, data["targets"].unsqueeze(1)).squeeze(1)


def _train_steps(ctx, algorithm, steps=1):
    for start in range(0, 16 * steps, 16):
        batch = ctx.batch("yesno", list(range(start, start + 16)))
        loss = algorithm.training_loss(ctx, "yesno", batch)
        ctx.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        algorithm.before_optimizer_step(ctx, "yesno", batch)
        ctx.optimizer.step()
        algorithm.after_optimizer_step(ctx, "yesno", batch)


def test_adamw_updates_are_orthogonal_and_past_outputs_barely_move(make_ctx, tiny_tasks, make_algo):
    from climb_harness.api import Algorithm

    ctx, algorithm = _after_first_task(make_ctx, tiny_tasks, make_algo, memories_per_task=48)
    plain_ctx = copy.deepcopy(ctx)  # the same model and AdamW, trained without OGD
    params = _shared(ctx, algorithm)
    memory = list(range(48))  # the examples OGD took its directions from: all of the task's 48
    before_params = flatten([p.detach() for p in params], params).clone()
    before = _gtl_outputs(ctx, memory)

    _train_steps(ctx, algorithm)
    delta = flatten([p.detach() for p in params], params) - before_params
    assert delta.norm() > 0
    assert (algorithm.basis @ delta).abs().max() <= 1e-5 * delta.norm()  # AdamW + weight decay, projected

    plain = Algorithm()
    _train_steps(plain_ctx, plain)
    moved_ogd = (_gtl_outputs(ctx, memory) - before).abs().mean()
    moved_plain = (_gtl_outputs(plain_ctx, memory) - before).abs().mean()
    assert moved_ogd < 0.15 * moved_plain  # zero to first order; what is left is second order (here ~0.06x)


def test_state_round_trip_and_a_mismatched_model_is_refused(make_ctx, tiny_tasks, make_algo):
    ctx, algorithm = _after_first_task(make_ctx, tiny_tasks, make_algo, memories_per_task=6)
    state = algorithm.state_dict()
    again = make_algo("ogd")
    again.setup(ctx)
    again.load_state_dict(state, ctx)
    assert torch.equal(again.basis, algorithm.basis)
    with pytest.raises(ValueError, match="other shared parameters"):
        again.load_state_dict({**state, "param_names": ["x"]}, ctx)
