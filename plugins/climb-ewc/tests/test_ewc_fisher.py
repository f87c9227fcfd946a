"""The Fisher estimate: which batches, and equality with a per-batch (zeroed-gradient) reference."""

from __future__ import annotations

import math

import pytest
import torch


def _reference_fisher(ctx, task, batches, accumulate=False):
    """Textbook loop: zero the gradients, backward one batch, add its squared gradient; / examples.

    ``accumulate=True`` reproduces the original CLiMB bug (no zeroing between batches)."""
    model = ctx.model
    params = {n: p for n, p in model.encoder.named_parameters() if p.requires_grad}
    total = {n: torch.zeros_like(p) for n, p in params.items()}
    model.eval()
    model.zero_grad(set_to_none=True)
    for indices in batches:
        if not accumulate:
            model.zero_grad(set_to_none=True)
        model.loss(task, ctx.batch(task, indices)).backward()
        for n, p in params.items():
            if p.grad is not None:
                total[n] += p.grad.detach() ** 2
    model.zero_grad(set_to_none=True)
    model.train()
    return {n: t / sum(len(b) for b in batches) for n, t in total.items()}


def _train_a_little(ctx, task, steps=3):
    """Move the weights off their initial values so the gradients are not special."""
    optimizer = torch.optim.SGD(ctx.model.parameters(), lr=0.1)
    for indices in list(ctx.train_batches(task))[:steps]:
        optimizer.zero_grad()
        ctx.model.loss(task, ctx.batch(task, indices)).backward()
        optimizer.step()
    ctx.model.zero_grad(set_to_none=True)


def test_fisher_equals_the_per_batch_reference_and_not_the_accumulated_one(h):
    ctx = h.context()
    _train_a_little(ctx, "colours")
    ewc = h.build(fisher_sample_percentage=0.5)
    batches = ewc.fisher_batches(ctx, "colours")
    assert len(batches) == 3  # int(0.5 * 48) / 8
    fisher = ewc.estimate_fisher(ctx, "colours")
    reference = _reference_fisher(ctx, "colours", batches)
    buggy = _reference_fisher(ctx, "colours", batches, accumulate=True)
    assert fisher.keys() == reference.keys() == {n for n, _ in ctx.model.encoder.named_parameters()}
    for name in fisher:
        torch.testing.assert_close(fisher[name], reference[name], rtol=1e-5, atol=1e-10)
    assert sum(float(f.sum()) for f in fisher.values()) > 0
    # the accumulated-gradient estimate is measurably different, so the comparison above would catch it
    assert any(not torch.allclose(fisher[n], buggy[n], rtol=1e-3) for n in fisher)


def test_fisher_leaves_gradients_and_mode_alone(h):
    ctx = h.context()
    ctx.model.train()
    ctx.model.loss("colours", ctx.batch("colours", [0, 1, 2])).backward()
    before = {n: p.grad.clone() for n, p in ctx.model.named_parameters() if p.grad is not None}
    h.build(fisher_sample_percentage=0.5).estimate_fisher(ctx, "colours")
    after = {n: p.grad for n, p in ctx.model.named_parameters() if p.grad is not None}
    assert before.keys() == after.keys()
    assert all(torch.equal(before[n], after[n]) for n in before)
    assert ctx.model.training


def test_normalisation_by_batches_scales_the_sample_normalised_fisher(h):
    ctx = h.context()
    by_samples = h.build(fisher_sample_percentage=0.5).estimate_fisher(ctx, "colours")
    by_batches = h.build(fisher_sample_percentage=0.5, fisher_normalization="batches").estimate_fisher(ctx, "colours")
    for name in by_samples:  # 24 examples in 3 batches
        torch.testing.assert_close(by_batches[name], by_samples[name] * 8)


def test_fisher_batches_sample_size_minimum_and_cap(h):
    ctx = h.context()  # 48 training examples, batch 8
    n = ctx.num_train_examples("colours")
    default = h.build().fisher_batches(ctx, "colours")  # 1% of 48 = 0 examples -> still one batch
    assert len(default) == 1 and len(default[0]) == 8
    everything = h.build(fisher_sample_percentage=1.0).fisher_batches(ctx, "colours")
    flat = [i for b in everything for i in b]
    assert len(everything) == math.ceil(n / 8) and sorted(flat) == list(range(n))  # a permutation, no repeats
    assert len(h.build(fisher_sample_percentage=1.0, fisher_max_batches=2).fisher_batches(ctx, "colours")) == 2
    sized = h.build(fisher_sample_percentage=0.5, fisher_batch_size=5).fisher_batches(ctx, "colours")
    assert [len(b) for b in sized] == [5] * 5  # ceil(24 / 5) batches of 5
    assert h.build(fisher_sample_percentage=0.5).fisher_batches(ctx, "colours") == h.build(
        fisher_sample_percentage=0.5).fisher_batches(ctx, "colours")  # seeded


def test_fisher_covers_only_trainable_encoder_parameters(h):
    ctx = h.context()
    ctx.model.encoder.embeddings.weight.requires_grad_(False)
    ewc = h.build(fisher_sample_percentage=0.5)
    fisher = ewc.estimate_fisher(ctx, "colours")
    assert "embeddings.weight" not in fisher and "image_proj.weight" in fisher
    assert not any(name.startswith("heads") for name in fisher)


@pytest.mark.parametrize("normalization", ["samples", "batches"])
def test_fisher_of_a_frozen_encoder_is_empty(h, normalization):
    ctx = h.context()
    ctx.model.encoder.requires_grad_(False)
    ewc = h.build(fisher_normalization=normalization)
    assert ewc.estimate_fisher(ctx, "colours") == {}
    ewc.on_task_end(ctx)
    assert float(ewc.penalty(ctx, ["colours"])) == 0.0
