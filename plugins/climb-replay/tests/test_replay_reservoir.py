"""er-reservoir: one bounded memory filled by Algorithm R over the stream, replay from past tasks."""

from __future__ import annotations


def test_reservoir_is_bounded_sees_each_example_once_and_replays_past_tasks(h, tmp_path):
    er = h.build("er-reservoir", memory_size=20, replay_frequency=2)
    sizes = []
    calls = h.instrument(er, ["after_optimizer_step"], after=lambda ctx, _: sizes.append(len(er.memory)))
    results = h.run(er, tmp_path, tasks=3, epochs=2)
    order = results["tasks"]
    assert max(sizes) == 20 and len(sizes) == 3 * 2 * 6
    assert er.memory.seen == 3 * 48  # every example offered once per task, although each task has 2 epochs
    assert len(set(er.memory.entries)) == 20
    assert all(type(i) is int and 0 <= i < 48 and t in order for t, i in er.memory.entries)
    assert calls and {c.learning for c in calls} == {1, 2}
    for call in calls:
        assert call.task in order[: call.learning], (call.task, call.learning)
    assert {c.task for c in calls if c.learning == 2} == {"colours", "yesno"}
    # later tasks hold a share of the reservoir in proportion to the stream
    assert {t for t, _ in er.memory.entries} == set(order)


def test_replay_from_all_may_replay_the_current_task(h, tmp_path):
    er = h.build("er-reservoir", memory_size=20, replay_frequency=2, replay_from="all", replay_batch_size=5)
    calls = h.instrument(er, ["after_optimizer_step"])
    results = h.run(er, tmp_path, tasks=2)
    order = results["tasks"]
    assert any(c.learning == 0 and c.task == order[0] for c in calls)  # replays during the first task
    assert all(order.index(c.task) <= c.learning for c in calls)  # never a future task
    # 6 steps per epoch -> 3 replay steps per task, each of replay_batch_size entries (split by task)
    assert sum(len(c.indices) for c in calls) == 2 * 3 * 5


def test_stream_indices_follow_the_batches_handed_out_lazily_or_as_a_list(h):
    """The streamed indices are those of the batch just trained on, however the runner iterates."""
    import pytest

    ctx = h.context()
    ctx.task_index = 0
    er = h.build("er-reservoir", memory_size=1000)
    er.on_task_start(ctx)
    handed = list(er.training_batches(ctx, 0))  # a runner that materialises the list first
    assert handed == [("colours", b) for b in ctx.train_batches("colours", epoch=0)]
    for task, indices in handed[:2]:
        er.after_optimizer_step(ctx, task, ctx.batch(task, indices))
    assert [i for _, i in er.memory.entries] == handed[0][1] + handed[1][1]
    lazy = h.build("er-reservoir", memory_size=1000)
    lazy.on_task_start(ctx)
    for task, indices in lazy.training_batches(ctx, 1):  # a runner that iterates lazily
        lazy.after_optimizer_step(ctx, task, ctx.batch(task, indices))
    assert sorted(i for _, i in lazy.memory.entries) == list(range(48))
    with pytest.raises(RuntimeError, match="did not produce"):
        lazy.after_optimizer_step(ctx, "colours", ctx.batch("colours", [0, 1]))
    er.training_batches(ctx, 2)
    with pytest.raises(RuntimeError, match="in order"):
        er.after_optimizer_step(ctx, "colours", ctx.batch("colours", [0, 1, 2]))
