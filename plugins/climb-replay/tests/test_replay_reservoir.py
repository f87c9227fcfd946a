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


def test_stream_indices_are_those_of_the_batches_trained_on(h, tmp_path):
    """With room for everything and one epoch, the memory holds each training example exactly once:
    the streamed indices are the runner's batches (ctx.batch_indices), not a guess."""
    er = h.build("er-reservoir", memory_size=1000, replay_from="all")
    results = h.run(er, tmp_path, tasks=1, epochs=1)
    first = results["tasks"][0]
    indices = [i for task, i in er.memory.entries if task == first]
    assert sorted(indices) == list(range(len(indices))) and len(indices) == len(set(indices)) > 0