"""One encoder pass over a memory batch that mixes tasks, split only at the heads.

The reference is the computation of climb-replay 0.3.0 written out: each task's share of the batch through
``ctx.model.loss`` (one encoder pass per task), weighted by its share. Tolerance: the TinyEncoder treats rows
independently (no batch statistics), so the merged pass computes the same function; only the matrix
products' blocking may differ with the number of rows, which changes the last bits (measured: logits up to
1.2e-7 apart at batch 8, identical at 32 and 256). 1e-6 relative and absolute is a few units in the last place
of values of order one, and far below any effect of a wrong split (another task's rows or head: order 0.1).
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from climb_replay._common import memory_loss
from climb_replay.forward import layout, task_logits

from climb_harness.testing import runs
from climb_harness.testing.components import SyntheticTask
from climb_harness.testing.manifests import synthetic_manifest

TOLERANCE = {"rtol": 1e-6, "atol": 1e-6}


class _TwoImageTask(SyntheticTask):
    """The colour task with two images per example: two views, another layout than the one-image tasks."""

    def examples(self, split):
        return [dataclasses.replace(e, images=(e.images[0], e.images[0])) for e in super().examples(split)]


def _two_image_task(size):
    task = _TwoImageTask({"question": "colour", "size": size, "seed": 4})
    task.manifest = {**synthetic_manifest("pairs", "colour", size), "images_per_example": 2}
    return task


def _mixed_entries(names, size, seed=0):
    """A shuffled memory batch with a quarter of each task's examples."""
    generator = torch.Generator().manual_seed(seed)
    entries = [(t, int(i)) for t in names for i in torch.randperm(size, generator=generator)[: size // 4]]
    return [entries[i] for i in torch.randperm(len(entries), generator=generator).tolist()]


def _per_task_loss(ctx, entries):
    """climb-replay 0.3.0's memory_loss: one ``ctx.model.loss`` (one encoder pass) per task in the batch."""
    by_task: dict[str, list[int]] = {}
    for task, index in entries:
        by_task.setdefault(task, []).append(index)
    return sum(
        ctx.model.loss(task, ctx.batch(task, idx)) * (len(idx) / len(entries))
        for task, idx in by_task.items()
    )


class _Passes:
    """Counts the encoder's forward passes."""

    def __init__(self, ctx):
        self.count = 0
        self.handle = ctx.model.encoder.register_forward_hook(self._hook)

    def _hook(self, *_):
        self.count += 1


@pytest.mark.parametrize("size", [8, 32])
def test_memory_loss_is_the_per_task_loss_from_one_encoder_pass(size):
    tasks = runs.tiny_tasks(3, size=size)
    ctx = runs.make_context(tasks)
    entries = _mixed_entries([t.name for t in tasks], size)
    assert len({t for t, _ in entries}) == 3
    reference = _per_task_loss(ctx, entries)
    passes = _Passes(ctx)
    merged = memory_loss(ctx, entries)
    assert passes.count == 1
    torch.testing.assert_close(merged, reference, **TOLERANCE)
    params = [p for p in ctx.model.parameters() if p.requires_grad]
    ours = torch.autograd.grad(merged, params, allow_unused=True)
    theirs = torch.autograd.grad(reference, params, allow_unused=True)
    for a, b in zip(ours, theirs):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b, **TOLERANCE)


def test_each_part_gets_its_own_rows_and_its_own_head():
    """Per part, the logits of one merged pass equal ``ctx.model(task, batch)`` of that part alone; parts of
    another layout (two views) get a pass of their own."""
    tasks = [*runs.tiny_tasks(3, size=16), _two_image_task(16)]
    ctx = runs.make_context(tasks)
    parts = [
        ("yesno", [3, 1]),
        ("colours", [0, 5, 7]),
        ("pairs", [2, 4]),
        ("colours-b", [9]),
        ("colours", [11]),
    ]
    assert len({layout(ctx.batch(task, idx)) for task, idx in parts}) == 2
    passes = _Passes(ctx)
    outputs = task_logits(ctx, parts)
    assert passes.count == 2  # one for the four one-view parts, one for the two-view part
    for (task, idx), (logits, batch) in zip(parts, outputs):
        alone = ctx.batch(task, idx)
        assert torch.equal(batch["targets"], alone["targets"])
        torch.testing.assert_close(logits, ctx.model(task, alone), **TOLERANCE)
        assert logits.shape == (len(idx), ctx.tasks[task].head.num_labels)


def test_a_part_alone_in_its_layout_runs_exactly_as_before():
    tasks = [*runs.tiny_tasks(1, size=16), _two_image_task(16)]
    ctx = runs.make_context(tasks)
    parts = [("colours", [1, 2]), ("pairs", [3])]
    for (task, idx), (logits, _) in zip(parts, task_logits(ctx, parts)):
        assert torch.equal(logits, ctx.model(task, ctx.batch(task, idx)))


def test_a_replay_step_costs_the_same_encoder_passes_whatever_the_tasks_in_memory(h):
    """ER-Ring: the current batch and the memory batch, two passes, with one past task or with two."""
    for count in (2, 3):
        tasks = runs.tiny_tasks(count, size=32)
        ctx = runs.make_context(tasks)
        ring = h.build("er-ring", replay_batch_size=12)
        for index, task in enumerate(tasks[:-1]):
            ctx.task_index = index
            ring.memory.push(task.name, list(range(16)), capacity=16)
        ctx.task_index = count - 1
        ring.on_task_start(ctx)
        current = tasks[-1].name
        batch = ctx.batch(current, [0, 1, 2, 3])
        passes = _Passes(ctx)
        loss = ring.training_loss(ctx, current, batch)
        assert passes.count == 2
        if count == 3:
            assert (
                len({t for t, _ in ring.last_memory_entries}) == 2
            )  # the memory batch mixed both past tasks
        torch.testing.assert_close(
            loss, ctx.model.loss(current, batch) + _per_task_loss(ctx, ring.last_memory_entries), **TOLERANCE
        )


def test_derpp_sends_both_draws_through_one_pass():
    from climb_replay.plugin_buffers import climb_algorithms

    tasks = runs.tiny_tasks(3, size=16)
    ctx = runs.make_context(tasks)
    derpp = runs.build_component({c.name: c for c in climb_algorithms()}["derpp"], replay_batch_size=6)
    torch.manual_seed(0)
    for name, width in (("colours", 4), ("yesno", 2)):
        for index in range(5):
            derpp.memory.offer(name, index, logits=torch.randn(width))
    ctx.task_index = 2
    derpp.on_task_start(ctx)
    ctx.batch_indices = [0, 1]
    passes = _Passes(ctx)
    derpp.training_loss(ctx, "colours-b", ctx.batch("colours-b", [0, 1]))
    assert derpp.last_label_slots and passes.count == 2  # the current batch, then both draws at once
    torch.testing.assert_close(
        derpp.last_terms["labels"],
        _per_task_loss(ctx, [derpp.memory.entries[s] for s in derpp.last_label_slots]).detach(),
        **TOLERANCE,
    )
    assert torch.equal(derpp.logit_loss(ctx, derpp.last_logit_slots).detach(), derpp.last_terms["logits"])


def test_the_tasks_share_a_layout_when_their_tensors_agree_but_the_first_size():
    a = {"x": torch.zeros(3, 2, 5), "targets": torch.zeros(3)}
    assert layout(a) == layout({"x": torch.ones(7, 2, 5), "targets": torch.zeros(7, 4)})
    assert layout(a) != layout({"x": torch.zeros(3, 2, 6)})
    assert layout(a) != layout({"x": torch.zeros(3, 2, 5, dtype=torch.float64)})
    assert layout(a) != layout({"x": torch.zeros(3, 2, 5), "y": torch.zeros(3)})
