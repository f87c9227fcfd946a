"""The methods of the second hook module against their papers.

* DER / DER++: the loss terms equal their formulas on a stored buffer (computed by hand), and the logits
  stored with an example are those of the forward pass it was trained on, before the step.
* ER-ACE: the incoming batch's cross-entropy over present and unseen classes only (by hand), plus the memory
  loss; heads that are not one softmax over classes get the plain loss.
* GDumb: the memory is class-balanced over (task, label), and before each task's training the model is reset
  to the run's initial weights and trained on the memory alone.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections import Counter

import torch
from climb_replay.er_ace import ace_mask
from climb_replay.gdumb import class_label

from climb_harness.api import HeadSpec
from climb_harness.testing import runs


def build(name: str, **options):
    """A method of the second hook module, built as the harness builds it (``h.build`` covers the first)."""
    from climb_replay.plugin_buffers import climb_algorithms

    return runs.build_component({c.name: c for c in climb_algorithms()}[name], **options)


# --------------------------------------------------------------------------- DER, DER++
def _buffer(der, ctx):
    """A reservoir holding entries of both tasks, each with fixed logits of its head's width."""
    torch.manual_seed(0)
    for index in range(6):
        der.memory.offer("colours", index, logits=torch.randn(4))
        der.memory.offer("yesno", index, logits=torch.randn(2))
    return der


def test_derpp_loss_terms_equal_their_formulas_on_a_stored_buffer(h):
    ctx = h.context()
    derpp = _buffer(build("derpp", alpha=0.3, beta=0.7, replay_batch_size=5), ctx)
    ctx.task_index = 1
    derpp.on_task_start(ctx)
    rows = [0, 1, 2, 3]
    ctx.batch_indices = rows
    batch = ctx.batch("yesno", rows)
    loss = derpp.training_loss(ctx, "yesno", batch)
    first, second = derpp.last_logit_slots, derpp.last_label_slots
    assert len(first) == len(set(first)) == 5 and len(second) == len(set(second)) == 5
    assert {derpp.memory.entries[s][0] for s in first + second} == {"colours", "yesno"}  # draws mix tasks
    current = float(ctx.model.loss("yesno", batch).detach())
    mse = ce = 0.0
    for slot in first:  # mean over the draw of each example's mean squared logit difference
        task, index = derpp.memory.entries[slot]
        out = ctx.model(task, ctx.batch(task, [index]))[0].detach()
        stored = derpp.memory.value("logits", slot)
        mse += sum((float(o) - float(z)) ** 2 for o, z in zip(out, stored)) / len(out) / len(first)
    for slot in second:  # mean over the second draw of -log softmax at the label
        task, index = derpp.memory.entries[slot]
        one = ctx.batch(task, [index])
        out = [float(v) for v in ctx.model(task, one)[0].detach()]
        label = int(one["targets"][0])
        ce += (math.log(sum(math.exp(v) for v in out)) - out[label]) / len(second)
    expected = current + 0.3 * mse + 0.7 * ce
    assert abs(float(loss.detach()) - expected) < 1e-5, (float(loss.detach()), expected)
    for name, value in (("current", current), ("logits", mse), ("labels", ce)):
        assert abs(float(derpp.last_terms[name]) - value) < 1e-5, name


def test_der_has_no_label_term_and_an_empty_memory_adds_nothing(h):
    ctx = h.context()
    der = build("der")
    der.on_task_start(ctx)
    ctx.batch_indices = [0, 1]
    batch = ctx.batch("colours", [0, 1])
    assert torch.equal(der.training_loss(ctx, "colours", batch), ctx.model.loss("colours", batch))
    _buffer(der, ctx)
    der.training_loss(ctx, "colours", batch)
    assert der.last_logit_slots and der.last_label_slots == []
    assert set(der.last_terms) == {"current", "logits"}


def test_stored_logits_are_those_of_the_trained_forward_pass_before_the_step(h):
    ctx = h.context(lr=1e-2)
    der = build("der", memory_size=100)
    der.on_task_start(ctx)
    for indices in list(ctx.train_batches("colours"))[:3]:
        before = copy.deepcopy(ctx.model)
        h_batch = ctx.batch("colours", indices)
        ctx.batch_indices = list(indices)
        loss = der.training_loss(ctx, "colours", h_batch)
        ctx.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        ctx.optimizer.step()
        der.after_optimizer_step(ctx, "colours", h_batch)
        with torch.no_grad():
            at_insertion = before("colours", h_batch)
            after_step = ctx.model("colours", h_batch)
        slots = [s for s, (_, i) in enumerate(der.memory.entries) if i in indices][-len(indices):]
        stored = torch.stack([der.memory.value("logits", s) for s in slots])
        assert [der.memory.entries[s][1] for s in slots] == list(indices)
        torch.testing.assert_close(stored, at_insertion)
        assert not torch.allclose(stored, after_step)  # the step moved them: stored is the pre-step forward


def test_every_step_of_every_epoch_is_offered_and_runs_resume(h, tmp_path):
    der = build("derpp", memory_size=30)
    results = h.run(der, tmp_path, tasks=2, epochs=2)
    assert der.memory.seen == 2 * 2 * 48 and len(der.memory) == 30  # 2 tasks x 2 epochs x 48 examples
    assert {t for t, _ in der.memory.entries} == set(results["tasks"])
    h.assert_resume_reproduces(lambda: build("derpp", memory_size=30), tmp_path / "resume")


# --------------------------------------------------------------------------- ER-ACE
def test_the_mask_keeps_present_and_unseen_classes():
    logits = torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0]])
    masked = ace_mask(logits, torch.tensor([0, 2]), seen={0, 1, 2})
    kept = masked[0] > torch.finfo(masked.dtype).min
    assert kept.tolist() == [True, False, True, True, True]  # 1 seen but absent; 3, 4 not seen yet (>= max)


def test_the_loss_is_the_asymmetric_ce_plus_the_memory_loss(h):
    ctx = h.context()
    ace = build("er-ace", replay_batch_size=3)
    ctx.task_index = 0
    ace.on_task_start(ctx)
    for index in range(5):
        ace.memory.offer("colours", index)
    rows = [i for i in range(48) if int(ctx.batch("colours", [i])["targets"][0]) in (0, 2)][:4]
    ace.seen["colours"] = {0, 1, 2}  # class 1 was seen earlier in the stream, class 3 never
    ctx.batch_indices = rows
    batch = ctx.batch("colours", rows)
    loss = ace.training_loss(ctx, "colours", batch)
    logits = ctx.model("colours", batch).detach()
    incoming = 0.0
    for row, target in zip(logits, batch["targets"]):
        kept = [0, 2, 3]  # present {0, 2}, unseen {3}; the seen-but-absent class 1 is left out
        log_partition = math.log(sum(math.exp(float(row[k])) for k in kept))
        incoming += (log_partition - float(row[int(target)])) / len(rows)
    memory = [index for _, index in ace.last_memory_entries]
    expected = incoming + float(ctx.model.loss("colours", ctx.batch("colours", memory)).detach())
    assert len(memory) == 3 and abs(float(loss.detach()) - expected) < 1e-5
    plain = expected - incoming + float(ctx.model.loss("colours", batch).detach())  # ER without the mask
    assert abs(float(loss.detach()) - plain) > 1e-3


def test_heads_other_than_classification_get_the_plain_loss(h):
    ctx = h.context()
    ace = build("er-ace")
    ace.on_task_start(ctx)
    info = ctx.tasks["colours"]
    ctx.tasks["colours"] = dataclasses.replace(info, head=HeadSpec("soft-score", 4))
    ctx.batch_indices = [0, 1, 2]
    batch = ctx.batch("colours", [0, 1, 2])
    ace.seen["colours"] = {0, 1, 2, 3}
    assert torch.equal(ace.training_loss(ctx, "colours", batch), ctx.model.loss("colours", batch))
    assert "colours" not in ace.seen or ace.seen["colours"] == {0, 1, 2, 3}


def test_a_run_replays_from_the_reservoir_every_step(h, tmp_path):
    ace = build("er-ace", memory_size=20, replay_batch_size=4)
    sizes = []
    h.instrument(ace, ["training_loss"], after=lambda ctx, _: sizes.append(len(ace.last_memory_entries)))
    h.run(ace, tmp_path, tasks=2)
    assert sizes[0] == 0 and all(s == 4 for s in sizes[1:])  # from the second step on, the current task too
    assert len(ace.memory) == 20 and ace.memory.seen == 2 * 48


# --------------------------------------------------------------------------- GDumb
def test_the_memory_is_class_balanced_and_every_retrain_starts_from_the_initial_weights(h, tmp_path):
    gdumb = build("gdumb", memory_size=18)
    checks = []

    def after(ctx, hook):
        if hook == "on_task_start":
            state = ctx.model.state_dict()
            checks.append(all(torch.equal(state[k].cpu(), v) for k, v in ctx.initial_state.items()))
            counts = gdumb.memory.class_counts()
            offered = Counter()
            for task in ctx.task_order[: ctx.task_index + 1]:
                for i in range(ctx.num_train_examples(task)):
                    offered[(task, int(ctx.batch(task, [i])["targets"][0]))] += 1
            fair = 18 / len(counts)
            plenty = [c for c in counts if offered[c] >= fair]
            assert sum(counts.values()) == 18 and set(counts) == set(offered)
            assert max(counts[c] for c in plenty) - min(counts[c] for c in plenty) <= 1, counts
            epoch = [(task, i) for task, indices in gdumb.training_batches(ctx, 0) for i in indices]
            assert sorted(epoch) == sorted(gdumb.memory.entries)  # one epoch = the memory, each entry once
        else:
            state = ctx.model.state_dict()
            checks.append(any(not torch.equal(state[k].cpu(), v) for k, v in ctx.initial_state.items()))

    h.instrument(gdumb, ["on_task_start", "on_task_end"], after=after)
    results = h.run(gdumb, tmp_path, tasks=3, epochs=2)
    assert checks == [True, True] * 3  # reset before each retrain, trained after it
    assert results["status"] == "complete" and {t for t, _ in gdumb.memory.entries} == set(results["tasks"])


def test_the_class_of_each_head_type():
    assert class_label("classification", torch.tensor(3)) == 3
    assert class_label("multiple-choice", torch.tensor(1)) == 1
    assert class_label("soft-score", torch.tensor([0.3, 1.0, 1.0, 0.0])) == 1  # the first of the best answers
    assert class_label("multi-label", torch.tensor([1.0, 0.0, 1.0])) == "0,2"
    assert class_label("multi-label", torch.tensor([0.0, 0.0])) == ""


def test_selection_uses_every_task_seen_and_runs_resume(h, tmp_path):
    ctx = h.context()
    gdumb = build("gdumb", memory_size=10)
    ctx.task_index = 1
    assert list(gdumb.selection_tasks(ctx)) == ["colours", "yesno"]
    h.assert_resume_reproduces(lambda: build("gdumb", memory_size=10), tmp_path)
