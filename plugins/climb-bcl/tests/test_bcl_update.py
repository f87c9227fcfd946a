"""The defining behaviour: the first-order bilevel update, and which memory each loss reads."""

from __future__ import annotations

import copy

import pytest
import torch
from climb_bcl.bcl import BCL
from torch.nn import functional as F


class Recording(BCL):
    """Records every sampled batch (replay first, then evaluation, per meta update)."""

    def __init__(self, options=None):
        super().__init__(options)
        self.loaded = []

    def _load(self, ctx, drawn):
        sampled = super()._load(ctx, drawn)
        self.loaded.append(sampled)
        return sampled


def _params(model):
    return [p for p in model.parameters() if p.requires_grad]


def test_training_loss_gives_the_runner_optimizer_no_gradient(make_ctx, tiny_tasks, make_bcl):
    ctx = make_ctx(tiny_tasks(1))
    batch = ctx.batch("colours", list(range(16)))
    loss = make_bcl().training_loss(ctx, "colours", batch)
    assert loss.item() == ctx.model.loss("colours", batch).item()
    loss.backward()
    assert all(p.grad is None for p in ctx.model.parameters())


def test_first_task_is_a_reptile_step_of_inner_sgd(make_ctx, tiny_tasks, make_bcl):
    ctx = make_ctx(tiny_tasks(2))
    lr, beta = 0.05, 0.3
    algorithm = make_bcl(lr=lr, beta=beta, inner_steps=2, n_meta=1)
    algorithm.on_task_start(ctx)
    batch = ctx.batch("colours", list(range(16)))

    reference = copy.deepcopy(ctx.model)
    theta = [p.detach().clone() for p in _params(reference)]
    sgd = torch.optim.SGD(_params(reference), lr=lr)
    for _ in range(2):
        sgd.zero_grad()
        reference.loss("colours", batch).backward()
        sgd.step()
    expected = [t + beta * (p.detach() - t) for t, p in zip(theta, _params(reference))]

    algorithm.after_optimizer_step(ctx, "colours", batch)
    for got, want, before in zip(_params(ctx.model), expected, theta):
        assert torch.allclose(got, want, atol=1e-6)
    assert any(not torch.equal(got, before) for got, before in zip(_params(ctx.model), theta))


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
def test_later_task_uses_replay_distillation_and_the_evaluation_set(make_ctx, tiny_tasks, make_bcl):
    ctx = make_ctx(tiny_tasks(2))
    lr, beta, strength, temperature = 0.05, 0.5, 10.0, 2.0
    algorithm = make_bcl(
        Recording,
        lr=lr,
        beta=beta,
        inner_steps=2,
        n_meta=2,
        memory_strength=strength,
        temperature=temperature,
        n_memories=20,
        n_val=0.25,
        replay_batch_size=8,
    )
    ctx.task_index = 0
    algorithm.on_task_end(ctx)  # memory of task 0 with its teacher logits
    # change the model so that the stored teacher differs from the current outputs
    with torch.no_grad():
        for p in _params(ctx.model):
            p.add_(0.05 * torch.randn_like(p))
    ctx.task_index = 1
    algorithm.on_task_start(ctx)
    batch = ctx.batch("yesno", list(range(16)))

    reference = copy.deepcopy(ctx.model)
    algorithm.after_optimizer_step(ctx, "yesno", batch)
    assert len(algorithm.loaded) == 6  # (replay for each of the 2 inner steps, evaluation) x n_meta

    for meta in range(2):
        replays, evaluation = algorithm.loaded[3 * meta : 3 * meta + 2], algorithm.loaded[3 * meta + 2]
        assert all(replays) and evaluation
        theta = [p.detach().clone() for p in _params(reference)]
        sgd = torch.optim.SGD(_params(reference), lr=lr)
        for replay in replays:  # inner step k uses its own replay batch
            n_replay = sum(len(rows) for _, _, rows in replay)
            sgd.zero_grad()
            loss = reference.loss("yesno", batch)
            for name, data, rows in replay:
                logits = reference(name, data)
                teacher = algorithm.memory.teacher[name][rows]
                kd = torch.nn.KLDivLoss()(
                    F.log_softmax(logits / temperature, dim=1), F.softmax(teacher / temperature, dim=1)
                )
                loss = loss + len(rows) / n_replay * (
                    F.cross_entropy(logits, data["targets"]) + strength * kd
                )
            loss.backward()
            sgd.step()
        sgd.zero_grad()
        n_eval = sum(len(rows) for _, _, rows in evaluation)
        sum(len(rows) / n_eval * reference.loss(name, data) for name, data, rows in evaluation).backward()
        sgd.step()
        with torch.no_grad():
            for p, t in zip(_params(reference), theta):
                p.copy_(t + beta * (p - t))

    for got, want in zip(_params(ctx.model), _params(reference)):
        assert torch.allclose(got, want, atol=1e-5)


def test_memories_hold_past_tasks_only_and_are_disjoint(make_spec, tiny_tasks, make_bcl, tmp_path):
    from climb_harness.testing import Runner

    class Checking(Recording):
        checked = 0

        def after_optimizer_step(self, ctx, task, batch):
            past = set(ctx.task_order[: ctx.task_index])
            assert set(self.memory.tasks) == past
            for name in self.memory.tasks:
                replay, evaluation = (
                    set(self.memory.replay[name].tolist()),
                    set(self.memory.evaluation[name].tolist()),
                )
                assert replay and evaluation and not replay & evaluation
                assert len(replay) + len(evaluation) <= self.options["n_memories"]
                assert all(0 <= i < ctx.num_train_examples(name) for i in replay | evaluation)
            self.loaded.clear()
            super().after_optimizer_step(ctx, task, batch)
            for i, sampled in enumerate(self.loaded):
                store = self.memory.replay if i % 2 == 0 else self.memory.evaluation
                for name, _, rows in sampled:
                    assert name in past
                    assert set(store[name][rows].tolist()) <= set(store[name].tolist())
            type(self).checked += ctx.task_index > 0

    algorithm = make_bcl(Checking, n_memories=10, n_val=0.3, replay_batch_size=6, n_meta=1, inner_steps=1)
    results = Runner(make_spec(algorithm, tiny_tasks(3), tmp_path)).run()
    assert Checking.checked > 0 and results["status"] == "complete"
    # bounded: n_memories per past task, and the last task is never stored (nothing comes after it)
    assert algorithm.memory.tasks == ["colours", "yesno"]
    assert algorithm.memory.size("replay") + algorithm.memory.size("eval") == 2 * 10
    assert [len(algorithm.memory.evaluation[t]) for t in algorithm.memory.tasks] == [3, 3]


def test_slow_teacher_is_the_model_before_the_inner_loop(make_ctx, tiny_tasks, make_bcl):
    ctx = make_ctx(tiny_tasks(2))
    algorithm = make_bcl(teacher="slow", memory_strength=50.0, n_memories=20)
    ctx.task_index = 0
    algorithm.on_task_end(ctx)
    assert algorithm.memory.teacher == {}  # nothing recorded: the teacher is computed at each update
    ctx.task_index = 1
    batch = ctx.batch("yesno", list(range(16)))
    replay = algorithm._load(ctx, algorithm.memory.sample("replay", 8, torch.Generator().manual_seed(0)))
    teachers = algorithm._teachers(ctx, replay)
    for (name, data, _), teacher in zip(replay, teachers):
        assert torch.allclose(teacher, ctx.model(name, data))
    # at phi = theta the distillation term vanishes: the inner loss is the two cross-entropies
    with torch.no_grad():
        with_kd = algorithm.inner_loss(ctx, "yesno", batch, replay, teachers)
        without = ctx.model.loss("yesno", batch) + algorithm.mixture_loss(ctx, replay)
    assert with_kd.item() == pytest.approx(without.item(), abs=1e-6)


class CountingSamples(BCL):
    """Records every memory draw: (meta update index within the step, kind, the drawn training indices)."""

    def __init__(self, options=None):
        super().__init__(options)
        self.draws = []

    def on_task_start(self, ctx):
        super().on_task_start(ctx)
        sample = self.memory.sample

        def recording(kind, size, generator):
            drawn = sample(kind, size, generator)
            self.draws.append((kind, sorted((t, int(i)) for t, idx, _ in drawn for i in idx.tolist())))
            return drawn

        self.memory.sample = recording


def _second_task(make_ctx, tiny_tasks, make_bcl, **options):
    ctx = make_ctx(tiny_tasks(2))
    algorithm = make_bcl(CountingSamples, **options)
    ctx.task_index = 0
    algorithm.on_task_end(ctx)
    ctx.task_index = 1
    algorithm.on_task_start(ctx)
    return ctx, algorithm


def test_replay_is_drawn_at_every_inner_step_and_evaluation_once_per_meta_update(make_ctx, tiny_tasks, make_bcl):
    ctx, algorithm = _second_task(make_ctx, tiny_tasks, make_bcl, n_memories=40, n_val=0.25, replay_batch_size=4,
                                  inner_steps=3, n_meta=2)
    algorithm.after_optimizer_step(ctx, "yesno", ctx.batch("yesno", list(range(16))))
    kinds = [kind for kind, _ in algorithm.draws]
    assert kinds == (["replay"] * 3 + ["eval"]) * 2  # released code: memory_sampling inside the inner loop
    replays = [drawn for kind, drawn in algorithm.draws if kind == "replay"]
    assert all(len(d) == 4 for d in replays)
    # 30 replay examples, batches of 4: the inner steps of a meta update see different samples
    for meta in range(2):
        steps = replays[3 * meta : 3 * meta + 3]
        assert len({tuple(d) for d in steps}) == 3, steps
    # the next training step draws anew too, and the same step replays identically (seeded, resume-safe)
    first = list(algorithm.draws)
    algorithm.draws.clear()
    algorithm._step -= 1  # the same training step again (as a resumed run replays it)
    algorithm.after_optimizer_step(ctx, "yesno", ctx.batch("yesno", list(range(16))))
    assert algorithm.draws == first


def test_inner_steps_use_the_replay_batch_drawn_for_them(make_ctx, tiny_tasks, make_bcl):
    """The loss of inner step k is computed on the k-th replay batch (not the first one reused)."""

    class SeenByLoss(CountingSamples):
        def inner_loss(self, ctx, task, batch, replay, teachers):
            self.seen.append(sorted((t, i) for t, data, rows in replay for i in self.memory.replay[t][rows].tolist()))
            return super().inner_loss(ctx, task, batch, replay, teachers)

    ctx, algorithm = _second_task(make_ctx, tiny_tasks, make_bcl, n_memories=40, n_val=0.25, replay_batch_size=4,
                                  inner_steps=2, n_meta=1)
    algorithm.__class__ = SeenByLoss
    algorithm.seen = []
    algorithm.after_optimizer_step(ctx, "yesno", ctx.batch("yesno", list(range(16))))
    assert algorithm.seen == [drawn for kind, drawn in algorithm.draws if kind == "replay"]
    assert algorithm.seen[0] != algorithm.seen[1]


def test_memory_size_is_one_total_budget(make_spec, tiny_tasks, make_bcl, tmp_path):
    from climb_harness.testing import Runner

    algorithm = make_bcl(memory_size=10, n_memories=30, n_val=0.25, replay_batch_size=4, n_meta=1, inner_steps=1)
    Runner(make_spec(algorithm, tiny_tasks(3), tmp_path)).run()
    # shares 4, 3, 3 over the 3 tasks; the last task's share is never stored
    sizes = [len(algorithm.memory.replay[t]) + len(algorithm.memory.evaluation[t]) for t in algorithm.memory.tasks]
    assert algorithm.memory.tasks == ["colours", "yesno"] and sizes == [4, 3]
