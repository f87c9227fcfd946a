"""Stable SGD: every optimizer step of task t runs at the scheduled lr x decay^t; dropout is set."""

from __future__ import annotations

import types
import warnings

import pytest
import torch
from climb_clgym.stable_sgd import StableSGD, set_dropout
from torch import nn

from climb_harness.runner import Runner
from climb_harness.testing.components import TinyEncoder


class Spy(StableSGD):
    """Records (task index, lr before, lr at the optimizer step) for the first param group."""

    def __init__(self, options=None):
        super().__init__(options)
        self.seen = []

    def before_optimizer_step(self, ctx, task, batch):
        before = ctx.optimizer.param_groups[0]["lr"]
        super().before_optimizer_step(ctx, task, batch)
        self.seen.append((ctx.task_index, before, ctx.optimizer.param_groups[0]["lr"]))


def test_each_step_runs_at_the_schedule_times_the_task_factor(make_algo, make_spec, tiny_tasks, tmp_path):
    algorithm = make_algo("stable-sgd", Spy, lr_decay=0.5)
    Runner(make_spec(algorithm, tiny_tasks(3), tmp_path, epochs=2)).run()
    by_task = {t: [(b, a) for i, b, a in algorithm.seen if i == t] for t in range(3)}
    assert all(len(v) == 6 for v in by_task.values())  # 48 examples / 16 x 2 epochs
    for t, steps in by_task.items():
        for before, at_step in steps:
            assert at_step == pytest.approx(before * 0.5**t, rel=1e-12)
    # the scheduler restores the unscaled schedule between steps: no compounding within a task,
    # and every task follows the same warm-up/decay shape
    assert [b for b, _ in by_task[2]] == pytest.approx([b for b, _ in by_task[0]], rel=1e-12)
    assert len({b for b, _ in by_task[0]}) > 1  # it is a schedule, not a constant


def test_min_lr_floors_the_task_learning_rate(make_algo):
    algorithm = make_algo("stable-sgd", lr_decay=0.5, min_lr=2e-4)
    assert algorithm.lr_factor(0, 1e-3) == 1.0
    assert algorithm.lr_factor(1, 1e-3) == 0.5
    assert algorithm.lr_factor(4, 1e-3) == pytest.approx(0.2)  # 0.0625 floored at 2e-4 / 1e-3


def test_scaling_is_not_applied_twice_without_a_scheduler_step(make_algo):
    param = nn.Parameter(torch.zeros(2))
    optimizer = torch.optim.SGD([param], lr=1.0)
    ctx = types.SimpleNamespace(optimizer=optimizer, task_index=1)
    algorithm = make_algo("stable-sgd", lr_decay=0.5)
    algorithm.before_optimizer_step(ctx, "t", {})
    algorithm.before_optimizer_step(ctx, "t", {})
    assert optimizer.param_groups[0]["lr"] == 0.5


class DropoutEncoder(TinyEncoder):
    def __init__(self, options=None):
        super().__init__(options)
        self.drop = nn.Sequential(nn.Dropout(0.1), nn.Dropout1d(0.2))


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
        make_algo("stable-sgd", dropout=0.5).setup(ctx)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_algo("stable-sgd").setup(ctx)  # null: nothing to do, no warning
