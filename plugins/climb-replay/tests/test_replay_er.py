"""experience-replay (CLiMB): per-task random memories, periodic replay steps on past tasks only."""

from __future__ import annotations

from collections import Counter

import torch


def test_memory_is_a_random_share_of_each_finished_task(h):
    ctx = h.context()  # 48 training examples per task
    er = h.build("experience-replay", memory_percentage=0.25)
    ctx.task_index = 0
    er.on_task_start(ctx)
    er.on_task_end(ctx)
    held = er.memory.indices("colours")
    assert len(held) == 12 == len(set(held)) and all(type(i) is int and 0 <= i < 48 for i in held)
    assert sorted(held) != list(range(12))  # a random sample, not the first examples
    assert er.memory.tasks() == ["colours"]
    tiny = h.build("experience-replay")  # CLiMB's 1% of 48 rounds to 0: at least one is kept
    tiny.on_task_end(ctx)
    assert len(tiny.memory.indices("colours")) == 1


def test_a_replay_step_updates_the_replayed_tasks_head_every_replay_frequency_steps(h):
    ctx = h.context()
    er = h.build("experience-replay", memory_percentage=0.25, replay_frequency=3)
    ctx.task_index = 0
    er.on_task_end(ctx)
    ctx.task_index = 1
    er.on_task_start(ctx)
    ctx.optimizer = torch.optim.SGD(ctx.model.parameters(), lr=0.5)
    head = ctx.model.heads["colours"].net[-1].weight
    before = head.detach().clone()
    batch = ctx.batch("yesno", [0, 1])
    for step in (1, 2):
        er.after_optimizer_step(ctx, "yesno", batch)
        assert torch.equal(head, before) and er.replay_steps == 0, step
    er.after_optimizer_step(ctx, "yesno", batch)
    assert er.replay_steps == 1 and not torch.equal(head, before)


def test_replay_batches_come_only_from_past_tasks_memories(h, tmp_path):
    er = h.build("experience-replay", memory_percentage=0.25, replay_frequency=2)
    sizes = []
    calls = h.instrument(er, ["after_optimizer_step"],
                         after=lambda ctx, _: sizes.append([len(er.memory.indices(t)) for t in er.memory.tasks()]))
    results = h.run(er, tmp_path, tasks=3, epochs=2)
    order = results["tasks"]
    # 6 steps per epoch -> replays after steps 2, 4, 6 of each epoch, from the second task on
    assert Counter(c.learning for c in calls) == {1: 6, 2: 6}
    for call in calls:
        assert call.task in order[: call.learning], (call.task, call.learning)  # never the current or a future task
        assert set(call.indices) <= set(er.memory.indices(call.task))
        assert len(call.indices) == len(set(call.indices)) == 8  # the task's batch size; memory holds 12
    assert {c.task for c in calls if c.learning == 2} == {"colours", "yesno"}
    assert max(max(s, default=0) for s in sizes) <= 12  # never more than 25% of 48
    assert [len(er.memory.indices(t)) for t in order] == [12, 12, 12]
