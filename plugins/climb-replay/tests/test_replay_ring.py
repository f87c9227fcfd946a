"""er-ring: per-task FIFO rings fed by the stream; every step adds a memory batch of past tasks."""

from __future__ import annotations

import torch


def test_rings_hold_the_latest_distinct_examples_and_stay_bounded(h, tmp_path):
    er = h.build("er-ring", memories_per_task=5, replay_batch_size=4)
    sizes, memory_batches = [], []

    def check(ctx, hook):
        if hook == "after_optimizer_step":
            sizes.append(max(len(er.memory.indices(t)) for t in er.memory.tasks()))
        else:
            memory_batches.append((ctx.task_index, list(er.last_memory_entries)))

    calls = h.instrument(er, ["training_loss", "after_optimizer_step"], after=check)
    results = h.run(er, tmp_path, tasks=3, epochs=2)
    order = results["tasks"]
    assert max(sizes) == 5
    # reference ring: the stream of each task's training batches, last 5 distinct indices
    ctx = h.context(h.tasks(count=3))
    for position, task in enumerate(order):
        ring: list[int] = []
        for epoch in range(2):
            for indices in ctx.train_batches(task, epoch=epoch):
                for i in indices:
                    if i not in ring:
                        ring = (ring + [i])[-5:]
        assert er.memory.indices(task) == ring, task
    # every step of a later task has a memory batch of 4 entries, from past tasks only
    assert [len(entries) for learning, entries in memory_batches if learning == 0] == [0] * 12
    later = [(learning, entries) for learning, entries in memory_batches if learning > 0]
    assert len(later) == 24 and all(len(entries) == 4 for _, entries in later)
    for learning, entries in later:
        assert {t for t, _ in entries} <= set(order[:learning])
    assert calls and all(c.task in order[: c.learning] for c in calls)


def test_training_loss_is_current_plus_memory_loss(h):
    ctx = h.context()
    er = h.build("er-ring", memories_per_task=6, replay_batch_size=3)
    er.memory.push("colours", [4, 8, 15, 16, 23, 42])
    ctx.task_index = 1
    er.on_task_start(ctx)
    batch = ctx.batch("yesno", [0, 1, 2, 3])
    loss = er.training_loss(ctx, "yesno", batch)
    entries = er.last_memory_entries
    assert len(entries) == 3 and {t for t, _ in entries} == {"colours"}
    expected = ctx.model.loss("yesno", batch) + ctx.model.loss("colours", ctx.batch("colours", [i for _, i in entries]))
    torch.testing.assert_close(loss, expected)
    ctx.task_index = 0  # the first task: no past memory, plain loss
    assert torch.equal(er.training_loss(ctx, "colours", batch), ctx.model.loss("colours", batch))
