"""Stable SGD: the optimizer actually used is plain SGD at lr x decay^t, constant within a task; the batches
are small; the encoder's dropout modules run at the set rate."""

from __future__ import annotations

import types
import warnings

import pytest
import torch
from climb_clgym.stable_sgd import StableSGD, set_dropout
from torch import nn

from climb_harness.testing import Runner, runs
from climb_harness.testing.components import TinyEncoder


class DropoutEncoder(TinyEncoder):
    """TinyEncoder with dropout modules on its output path (as a transformer encoder has)."""

    def __init__(self, options=None):
        super().__init__(options)
        self.drop = nn.Sequential(nn.Dropout(0.1), nn.Dropout1d(0.2))

    def forward(self, batch):
        return self.drop[0](super().forward(batch))


class Spy(StableSGD):
    """Records, at every optimizer step, what the runner's optimizer is and does."""

    def __init__(self, options=None):
        super().__init__(options)
        self.steps = []

    def before_optimizer_step(self, ctx, task, batch):
        super().before_optimizer_step(ctx, task, batch)
        opt = ctx.optimizer
        params = [p for group in opt.param_groups for p in group["params"]]
        self._before = [(p, p.detach().clone(), None if p.grad is None else p.grad.detach().clone()) for p in params]
        dropout = [m for m in ctx.model.encoder.modules() if isinstance(m, nn.modules.dropout._DropoutNd)]
        self.steps.append(types.SimpleNamespace(
            task=ctx.task_index, optimizer=type(opt).__name__, lrs=[g["lr"] for g in opt.param_groups],
            momentum={g["momentum"] for g in opt.param_groups} if isinstance(opt, torch.optim.SGD) else None,
            weight_decay={g["weight_decay"] for g in opt.param_groups}, batch=len(ctx.batch_indices),
            dropout=[(m.p, m.training) for m in dropout], sgd_exact=None,
        ))

    def after_optimizer_step(self, ctx, task, batch):
        super().after_optimizer_step(ctx, task, batch)
        lr = self.steps[-1].lrs[0]
        # the update the optimizer applied is exactly plain SGD's: theta - lr * grad
        self.steps[-1].sgd_exact = all(
            torch.equal(p.detach(), before) if grad is None else torch.allclose(p.detach(), before - lr * grad, atol=1e-7)
            for p, before, grad in self._before
        )


def _run(algorithm, tmp_path, tasks=3, epochs=2, encoder=DropoutEncoder):
    spec = runs.run_spec(algorithm, tmp_path, tasks=runs.tiny_tasks(tasks), epochs=epochs, batch_size=16,
                         encoder_factory=lambda: encoder({}))
    return Runner(spec).run()


def test_the_runners_optimizer_is_plain_sgd_at_the_decayed_lr_of_each_task(make_algo, tmp_path):
    algorithm = make_algo("stable-sgd", Spy, lr=0.05, lr_decay=0.5)
    results = _run(algorithm, tmp_path)
    assert results["status"] == "complete"
    by_task = {t: [s for s in algorithm.steps if s.task == t] for t in range(3)}
    for t, steps in by_task.items():
        assert len(steps) == 2 * 5  # 48 examples in batches of 10, two epochs
        assert {s.optimizer for s in steps} == {"SGD"}
        assert {s.momentum == {0.0} and s.weight_decay == {0.0} for s in steps} == {True}
        # lr_t = 0.05 x 0.5^t at every step of the task (constant schedule: no warm-up, no decay)
        assert [lr for s in steps for lr in s.lrs] == pytest.approx([0.05 * 0.5**t] * sum(len(s.lrs) for s in steps), rel=1e-12)
        assert all(s.sgd_exact for s in steps)
    assert by_task[0][0].lrs[0] == 0.05 and by_task[1][3].lrs[0] == 0.025


def test_batches_are_the_papers_small_batches(make_algo, tmp_path):
    algorithm = make_algo("stable-sgd", Spy, batch_size=10)
    _run(algorithm, tmp_path, tasks=2)
    assert [s.batch for s in algorithm.steps] == ([10, 10, 10, 10, 8] * 2) * 2  # not the harness's 16
    assert algorithm.options["batch_size"] == 10 == make_algo("stable-sgd").options["batch_size"]  # the default


def test_batch_size_null_keeps_the_harness_batches(make_algo, tmp_path):
    algorithm = make_algo("stable-sgd", Spy, batch_size=None)
    _run(algorithm, tmp_path, tasks=1)
    assert [s.batch for s in algorithm.steps] == [16, 16, 16] * 2


def test_dropout_modules_of_the_encoder_train_at_the_set_rate(make_algo, tmp_path):
    algorithm = make_algo("stable-sgd", Spy)  # the default rate
    assert algorithm.options["dropout"] == 0.25
    _run(algorithm, tmp_path, tasks=2, epochs=1)
    assert algorithm.steps and all(s.dropout == [(0.25, True), (0.25, True)] for s in algorithm.steps)


def test_task_lr_decays_per_task_and_stops_at_the_floor(make_algo):
    algorithm = make_algo("stable-sgd", lr=1e-3, lr_decay=0.5, min_lr=2e-4)
    assert [algorithm.task_lr(t, 123.0) for t in range(4)] == pytest.approx([1e-3, 5e-4, 2.5e-4, 2e-4])
    assert algorithm.task_lr(10, 123.0) == pytest.approx(2e-4)
    low = make_algo("stable-sgd", lr=1e-5, min_lr=5e-5)  # a floor above lr never raises it
    assert low.task_lr(0, 1.0) == pytest.approx(1e-5) and low.task_lr(5, 1.0) == pytest.approx(1e-5)
    harness = make_algo("stable-sgd", lr=None, lr_decay=0.5, min_lr=0.0)  # null: the harness's task lr
    assert harness.task_lr(2, 3e-3) == pytest.approx(3e-3 * 0.25)


def test_configure_optimizer_returns_sgd_with_a_constant_schedule(make_algo, make_ctx, tiny_tasks):
    ctx = make_ctx(tiny_tasks(2))
    ctx.task_index = 1
    groups = [{"params": [p for p in ctx.model.parameters()], "weight_decay": 0.01}]
    config = make_algo("stable-sgd", lr=0.2, lr_decay=0.5, momentum=0.8).configure_optimizer(ctx, groups, 1e-3)
    assert isinstance(config.optimizer, torch.optim.SGD) and config.schedule == "constant"
    (group,) = config.optimizer.param_groups
    assert (group["lr"], group["momentum"], group["weight_decay"]) == (0.1, 0.8, 0.0)


def test_dropout_is_set_on_the_encoder_only(make_algo):
    encoder = DropoutEncoder({})
    head = nn.Sequential(nn.Dropout(0.1), nn.Linear(2, 2))
    ctx = types.SimpleNamespace(
        model=types.SimpleNamespace(encoder=encoder, heads=nn.ModuleDict({"t": head}))
    )
    make_algo("stable-sgd", dropout=0.5).setup(ctx)
    assert [m.p for m in encoder.modules() if isinstance(m, nn.modules.dropout._DropoutNd)] == [0.5, 0.5]
    assert head[0].p == 0.1
    assert set_dropout(nn.Linear(2, 2), 0.3) == 0


def test_dropout_on_an_encoder_without_dropout_warns(make_algo):
    ctx = types.SimpleNamespace(model=types.SimpleNamespace(encoder=TinyEncoder({})))
    with pytest.warns(UserWarning, match="no dropout modules"):
        make_algo("stable-sgd").setup(ctx)  # the default rate, 0.25
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_algo("stable-sgd", dropout=None).setup(ctx)  # null: nothing to do, no warning


def test_the_check_fails_for_the_harness_default_optimizer(make_algo, tmp_path):
    """Control: without configure_optimizer the runner trains with AdamW on a warm-up schedule, which the
    checks above would reject (so they can fail)."""

    class HarnessOptimizer(Spy):
        def configure_optimizer(self, ctx, param_groups, lr):
            return None

    algorithm = make_algo("stable-sgd", HarnessOptimizer, dropout=None)
    _run(algorithm, tmp_path, tasks=1, encoder=TinyEncoder)
    assert {s.optimizer for s in algorithm.steps} == {"AdamW"}
    assert len({s.lrs[0] for s in algorithm.steps}) > 1  # a schedule, not SGD's constant task lr
