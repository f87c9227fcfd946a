"""multitask: batches from every seen task, none from a future one, interleaved and reproducible."""

from __future__ import annotations

import pytest
import torch

from climb_baselines.multitask import Multitask


class _SpyMultitask(Multitask):
    def __init__(self, options=None):
        super().__init__(options)
        self.log: list[tuple[int, int, list[tuple[str, list[int]]]]] = []
        self.head_changed: list[bool] = []

    def training_batches(self, ctx, epoch):
        batches = super().training_batches(ctx, epoch)
        self.log.append((ctx.task_index, epoch, batches))
        self.expected = {t: [list(b) for b in ctx.train_batches(t, epoch=epoch)] for t in ctx.task_order}
        self.sizes = {t: ctx.num_train_examples(t) for t in ctx.task_order}
        return batches

    def on_task_start(self, ctx):
        self.first_head = {k: v.detach().clone() for k, v in ctx.model.heads[ctx.task_order[0]].state_dict().items()}

    def on_task_end(self, ctx):
        now = ctx.model.heads[ctx.task_order[0]].state_dict()
        self.head_changed.append(any(not torch.equal(v, now[k]) for k, v in self.first_head.items()))


def test_batches_cover_seen_tasks_only(tmp_path, run):
    algorithm = _SpyMultitask({})
    results, runner = run(algorithm, tmp_path / "run")
    assert results["status"] == "complete"
    order = runner.task_order
    assert [(i, e) for i, e, _ in algorithm.log] == [(i, e) for i in range(3) for e in range(2)]
    for index, epoch, batches in algorithm.log:
        tasks = [t for t, _ in batches]
        assert set(tasks) == set(order[: index + 1])  # every seen task, no future one
        for task in order[: index + 1]:  # each seen task's whole epoch, once
            got = sorted(i for t, idx in batches if t == task for i in idx)
            assert got == list(range(48))
        if index > 0:  # mixed, not one task after the other
            firsts = [tasks.index(t) for t in order[: index + 1]]
            assert tasks != sorted(tasks, key=lambda t: firsts[order.index(t)])
    # the first task's head keeps training while later tasks are learned (joint training)
    assert algorithm.head_changed == [True, True, True]


def test_interleaving_is_seeded_by_task_and_epoch():
    import types

    batches = {"a": [[0, 1], [2, 3], [4, 5]], "b": [[0, 1], [2, 3]], "c": [[9]]}
    ctx = types.SimpleNamespace(seed=0, task_order=["a", "b", "c"], task_index=1,
                                train_batches=lambda task, epoch=0: iter(batches[task]))
    algorithm = Multitask({})
    first = algorithm.training_batches(ctx, 0)
    assert first == algorithm.training_batches(ctx, 0)
    assert sorted(first) == sorted([("a", b) for b in batches["a"]] + [("b", b) for b in batches["b"]])
    assert any(algorithm.training_batches(ctx, e) != first for e in range(1, 4))


def test_multitask_resume_equals_an_uninterrupted_run(tmp_path, run):
    full, _ = run(Multitask({}), tmp_path / "full", n_tasks=2)
    stopped, _ = run(Multitask({}), tmp_path / "part", n_tasks=2, stop_after=0)
    resumed, _ = run(Multitask({}), tmp_path / "part", n_tasks=2, resume=True)
    assert stopped is None
    assert resumed["accuracy_matrix"] == full["accuracy_matrix"]


class _SelectionSpy(Multitask):
    """Records which tasks the runner evaluates between an epoch's end and the next training step:
    the selection evaluation (after the last epoch, until on_task_end)."""

    def __init__(self, options=None):
        super().__init__(options)
        self.selecting: tuple[int, int] | None = None
        self.selected: dict[tuple[int, int], list[str]] = {}

    def on_epoch_end(self, ctx, epoch):
        super().on_epoch_end(ctx, epoch)
        self.selecting = (ctx.task_index, epoch)
        self.selected[self.selecting] = []

    def training_loss(self, ctx, task, batch):
        self.selecting = None
        return super().training_loss(ctx, task, batch)

    def on_task_end(self, ctx):
        self.selecting = None
        super().on_task_end(ctx)

    def before_evaluate(self, ctx, task):
        if self.selecting is not None:
            self.selected[self.selecting].append(task)
        super().before_evaluate(ctx, task)


def _selection_run(algorithm, out):
    """A real 3-task run through the Runner, with the Runner's evaluate() wrapped to record, for each
    selection evaluation (while ``algorithm.selecting``), the task and its score."""
    from climb_harness.testing import Runner, runs
    from climb_harness.testing.components import TinyEncoder

    spec = runs.run_spec(algorithm, out, tasks=runs.tiny_tasks(3), epochs=3, batch_size=None,
                         encoder_factory=lambda: TinyEncoder({}))
    runner = Runner(spec)
    scores: dict[tuple[int, int], list[tuple[str, float]]] = {}
    evaluate = runner.evaluate

    def recording(task, *args, **kwargs):
        score = evaluate(task, *args, **kwargs)
        if algorithm.selecting is not None:
            value = score.value() if hasattr(score, "value") else float(score)  # a score accumulator, or a number
            scores.setdefault(algorithm.selecting, []).append((task, value))
        return score

    runner.evaluate = recording
    return runner.run(), runner, scores


def test_the_epoch_is_selected_on_the_mean_over_the_seen_tasks(tmp_path):
    algorithm = _SelectionSpy({})
    results, runner, scores = _selection_run(algorithm, tmp_path / "run")
    order = runner.task_order
    assert results["status"] == "complete"
    # after every epoch of task i the runner scored exactly the tasks seen so far, for selection
    assert algorithm.selected == {(i, e): order[: i + 1] for i in range(3) for e in range(3)}
    for i, log in enumerate(results["training_log"]):
        logged = []
        for e, epoch in enumerate(log["epochs"]):
            assert [t for t, _ in scores[(i, e)]] == order[: i + 1]
            # ... and the logged selection score is their mean
            logged.append(epoch.get("selection_score", epoch.get("val_score")))
            assert logged[-1] == pytest.approx(sum(v for _, v in scores[(i, e)]) / (i + 1), abs=1e-9)
        assert results["best_epochs"][i] == max(range(3), key=lambda e: (logged[e], -e))  # the first best


def test_a_single_task_method_is_selected_on_the_current_task_only(tmp_path):
    """Control (so the check above can fail): without selection_tasks the runner scores the current task alone."""

    class CurrentOnly(_SelectionSpy):
        def selection_tasks(self, ctx):
            return None

    algorithm = CurrentOnly({})
    _selection_run(algorithm, tmp_path / "run")
    assert algorithm.selected[(2, 0)] == ["colours-b"]
    assert algorithm.selected != {(i, e): ["colours", "yesno", "colours-b"][: i + 1] for i in range(3) for e in range(3)}
