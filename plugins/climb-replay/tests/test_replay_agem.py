"""A-GEM: the projected gradient never points against the reference gradient of past tasks' memories."""

from __future__ import annotations

import pytest
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


# --------------------------------------------------------------------------- the applied update (AdamW)
class _UpdateProbe:
    """Wraps an A-GEM's step hooks in a real run and measures, on the actual parameters, the update the
    runner's AdamW applied: delta = theta after the step (and after A-GEM's after_optimizer_step) minus
    theta before it, against a g_ref recomputed independently (zeroed gradients, back-propagated loss of
    the reference batch the method drew, at theta before the step). Also re-derives AdamW's update from
    the optimizer state the step left, to check that the state matches what was applied."""

    def __init__(self, agem):
        self.cosines: list[float] = []  # cos(delta, g_ref) per step with a memory; > 0: memory loss rises
        self.state_mismatch: list[float] = []  # max |theta - AdamW(theta_before; state)| per step
        self.optimizers: set[str] = set()
        self.projected: list[bool] = []  # per step with a memory: did A-GEM project the applied update?
        self._pending = None
        before, after = agem.before_optimizer_step, agem.after_optimizer_step

        def before_step(ctx, task, batch):
            before(ctx, task, batch)
            self._pending = None
            if ctx.task_index == 0 or not agem.last_reference_entries:
                return
            params = _trainable(ctx)
            grads = [p.grad for p in params]
            for p in params:
                p.grad = None
            memory_loss(ctx, agem.last_reference_entries).backward()
            reference = _flat([p.grad for p in params], params).double()
            for p, g in zip(params, grads):
                p.grad = g
            lrs = {id(group): float(group["lr"]) for group in ctx.optimizer.param_groups}  # before the scheduler steps
            self._pending = (params, [p.detach().clone() for p in params], reference, lrs)

        def after_step(ctx, task, batch):
            count = agem.update_projections
            after(ctx, task, batch)
            if self._pending is None:
                return
            self.projected.append(agem.update_projections > count)
            params, old, reference, lrs = self._pending
            delta = torch.cat([(p.detach().double() - o.double()).reshape(-1) for p, o in zip(params, old)])
            self.cosines.append(float(delta @ reference) / max(1e-30, float(delta.norm() * reference.norm())))
            self.optimizers.add(type(ctx.optimizer).__name__)
            self.state_mismatch.append(_adamw_mismatch(ctx.optimizer, dict(zip(map(id, params), old)), lrs))

        agem.before_optimizer_step, agem.after_optimizer_step = before_step, after_step

    def violations(self, tol=1e-4):
        """Steps whose update raises the memory loss to first order: delta . g_ref > tol |delta| |g_ref|."""
        return [c for c in self.cosines if c > tol]


def _adamw_mismatch(optimizer, old, lrs):
    """max |theta - theta_before (1 - lr wd) + (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps)| over stepped parameters."""
    worst = 0.0
    for group in optimizer.param_groups:
        lr, (beta1, beta2) = lrs[id(group)], group["betas"]
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            if p.grad is None or "exp_avg" not in state:
                continue
            step = float(state["step"])
            denom = state["exp_avg_sq"].sqrt() / (1 - beta2**step) ** 0.5 + group["eps"]
            predicted = old[id(p)] * (1 - lr * group["weight_decay"]) - lr / (1 - beta1**step) * state["exp_avg"] / denom
            worst = max(worst, float((p.detach() - predicted).abs().max()))
    return worst


def test_the_applied_adamw_update_never_raises_the_memory_loss(h, tmp_path):
    agem = h.build("agem", memories_per_task=10, sample_size=12)
    assert agem.project_update  # the default
    probe = _UpdateProbe(agem)
    h.run(agem, tmp_path, tasks=3, epochs=2)
    assert probe.optimizers == {"AdamW"}  # the runner's own optimizer
    assert len(probe.cosines) == 2 * 12  # every step of tasks 1 and 2 (48 examples / 8, 2 epochs)
    assert probe.violations() == [], probe.violations()  # dot(delta, -g_ref) >= -1e-4 |delta| |g_ref|
    assert max(probe.cosines) <= 1e-4 and min(probe.cosines) < -1e-3  # it does descend the memory loss at times
    # the update had to be projected on some steps (the gradient projection alone was not enough there)
    assert 0 < sum(probe.projected) < len(probe.projected)


def test_the_projected_gradient_alone_lets_adamw_raise_the_memory_loss(h, tmp_path):
    """The old behaviour (project_update: false): the same check fails on a third of the steps."""
    agem = h.build("agem", memories_per_task=10, sample_size=12, project_update=False)
    probe = _UpdateProbe(agem)
    h.run(agem, tmp_path, tasks=3, epochs=2)
    assert len(probe.cosines) == 24
    assert len(probe.violations()) >= 3 and max(probe.cosines) > 1e-2, probe.cosines
    assert agem.projections > 0 and agem.update_projections == 0


def test_adamw_state_matches_the_update_that_was_applied(h, tmp_path):
    agem = h.build("agem", memories_per_task=10, sample_size=12)
    probe = _UpdateProbe(agem)
    h.run(agem, tmp_path, tasks=3, epochs=2)
    assert sum(probe.projected) > 0
    # AdamW's rule, from theta before the step and the state after it, gives exactly the parameters now
    assert max(probe.state_mismatch) < 1e-6, probe.state_mismatch


def test_without_the_moment_correction_the_state_check_fails(h, tmp_path):
    """The state check above can fail: skip the first-moment correction and it does, on projected steps."""
    from climb_replay.agem import AGEM

    class Uncorrected(AGEM):
        @staticmethod
        def _correct_moments(*args, **kwargs):
            return None

    agem = h.build("agem", memories_per_task=10, sample_size=12)
    agem.__class__ = Uncorrected
    probe = _UpdateProbe(agem)
    h.run(agem, tmp_path, tasks=3, epochs=2)
    assert agem.update_projections > 0
    assert probe.violations() == []  # the parameters are still projected
    assert max(probe.state_mismatch) > 1e-5


def test_update_projection_is_exactly_the_formula(h):
    """One step by hand: AdamW steps, then delta is replaced by delta - (delta . r / r . r) r when delta . r > 0."""
    ctx = h.context(lr=0.05)
    agem = h.build("agem", memories_per_task=10, sample_size=64)
    ctx.task_index = 0
    agem.on_task_start(ctx)
    agem.on_task_end(ctx)
    ctx.task_index = 1
    agem.on_task_start(ctx)
    reference = _reference_gradient(ctx, agem)
    params = _trainable(ctx)
    # g agrees with g_ref (g . g_ref > 0: A-GEM leaves it alone), but AdamW's first step is about
    # -lr sign(g), and sign(g) opposes g_ref on all coordinates but one: the update raises the memory loss
    big = reference.abs().argmax()
    g = -1e-6 * reference.sign()
    g[big] = 10 * reference[big]
    assert float(g @ reference) > 0
    _set_grads(ctx, g)
    # the A-GEM step
    agem.before_optimizer_step(ctx, "yesno", ctx.batch("yesno", [0, 1]))
    theta = _flat([p.detach().clone() for p in params], params)
    ctx.optimizer.step()
    raw = _flat([p.detach().clone() for p in params], params) - theta
    agem.after_optimizer_step(ctx, "yesno", {})
    applied = _flat([p.detach().clone() for p in params], params) - theta
    stepped = torch.cat([torch.full((p.numel(),), p.grad is not None) for p in params])
    r = torch.where(stepped, reference, torch.zeros_like(reference))
    assert agem.projections == 0 and float(raw @ reference) > 0  # the raw AdamW update raises the memory loss
    expected = raw - (raw @ r) / (r @ r) * r
    assert agem.update_projections == 1
    torch.testing.assert_close(applied, expected, rtol=1e-4, atol=1e-7)
    assert float(applied @ reference) <= 1e-4 * float(applied.norm() * reference.norm())
    assert agem.last_update_dots[1] == pytest.approx(0.0, abs=1e-4 * float(applied.norm() * reference.norm()))


def test_memory_size_splits_one_budget_over_the_tasks(h, tmp_path):
    agem = h.build("agem", memory_size=7, sample_size=4)  # 3 tasks: 3 + 2 + 2
    results = h.run(agem, tmp_path, tasks=3)
    assert [len(agem.memory.indices(t)) for t in results["tasks"]] == [3, 2, 2]
    assert len(agem.memory) == 7
