"""The Fisher estimate: the per-example empirical Fisher, through every path, and which examples.

The reference is the definition written out: a Python loop over single examples, each one's loss
differentiated with ``torch.autograd.grad``, squared and averaged. The old (0.1.0) estimate, squared
batch-mean gradients, is computed too so that the tests show they would catch a return to it.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from climb_harness.testing.components import SyntheticTask, TinyEncoder, synthetic_task
from climb_harness.testing.manifests import synthetic_manifest

HEADS = ("classification", "soft-score", "multi-label")


class _RetargetedTask(SyntheticTask):
    """The 4-way colour task with soft-score ({colour: 1.0, next colour: 0.3}) or multi-label
    ([colour, colour + 2]) targets, for the BCE heads."""

    def examples(self, split):
        kind = self.options["kind"]
        out = []
        for example in super().examples(split):
            t = int(example.target)
            target = {t: 1.0, (t + 1) % 4: 0.3} if kind == "soft-score" else sorted({t, (t + 2 * (t % 2)) % 4})
            out.append(dataclasses.replace(example, target=target))
        return out


def _task(kind: str, size: int = 24):
    if kind == "classification":
        return synthetic_task("colours", "colour", size=size, seed=1)
    task = _RetargetedTask({"question": "colour", "size": size, "seed": 1, "kind": kind})
    manifest = synthetic_manifest("colours", "colour", size)
    manifest["head"] = {"type": kind, "num_labels": 4}
    task.manifest = manifest
    return task


class _ControlFlowEncoder(TinyEncoder):
    """TinyEncoder plus a Python ``if`` on a tensor value, as Hugging Face models have: vmap refuses it (the
    hooks path does not mind)."""

    def forward(self, batch):
        hidden = super().forward(batch)
        if float(batch["input_ids"].sum()) < 0:  # never true; reading the value is what vmap cannot do
            hidden = -hidden
        return hidden


class _BatchMixingEncoder(TinyEncoder):
    """TinyEncoder whose output depends on the other examples of the batch (centred on the batch mean, as
    batch statistics would): per-example gradients of a batched pass are not those of each example alone."""

    def forward(self, batch):
        hidden = super().forward(batch)
        return hidden - 0.5 * hidden.mean(0, keepdim=True)


class _DropoutEncoder(TinyEncoder):
    """TinyEncoder with heavy dropout on its output: the Fisher must be taken without it (eval mode)."""

    def __init__(self, options=None):
        super().__init__(options)
        self.dropout = torch.nn.Dropout(0.5)

    def forward(self, batch):
        return self.dropout(super().forward(batch))


def _trained_context(h, kind="classification", encoder_cls=None, steps=3):
    """A context over one task with the given head, weights moved off their initial values."""
    ctx = h.context([_task(kind)])
    if encoder_cls is not None:
        encoder = encoder_cls({})
        encoder.load_state_dict(ctx.model.encoder.state_dict())
        ctx.model.encoder = encoder
    optimizer = torch.optim.SGD(ctx.model.parameters(), lr=0.1)
    for indices in list(ctx.train_batches("colours"))[:steps]:
        optimizer.zero_grad()
        ctx.model.loss("colours", ctx.batch("colours", indices)).backward()
        optimizer.step()
    ctx.model.zero_grad(set_to_none=True)
    return ctx


def _params(ctx):
    return {n: p for n, p in ctx.model.encoder.named_parameters() if p.requires_grad}


def _brute_force_fisher(ctx, task, batches):
    """(1/N) sum_n grad(loss of example n alone)^2, one example at a time."""
    params = _params(ctx)
    total = {n: torch.zeros_like(p) for n, p in params.items()}
    examples = [i for b in batches for i in b]
    ctx.model.eval()
    for i in examples:
        grads = torch.autograd.grad(ctx.model.loss(task, ctx.batch(task, [i])), list(params.values()), allow_unused=True)
        for n, g in zip(params, grads):
            if g is not None:
                total[n] += g.detach() ** 2
    ctx.model.train()
    return {n: t / len(examples) for n, t in total.items()}


def _batch_mean_fisher(ctx, task, batches, accumulate=False):
    """climb-ewc 0.1.0: sum over batches of the squared batch-mean gradient, / examples.
    ``accumulate=True`` is the original CLiMB code (``backward()`` without zeroing between batches)."""
    model, params = ctx.model, _params(ctx)
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


def _assert_fisher_close(fisher, reference):
    assert fisher.keys() == reference.keys()
    for name in fisher:
        torch.testing.assert_close(fisher[name], reference[name], rtol=1e-4, atol=1e-9)


@pytest.mark.parametrize("backend", ["hooks", "vmap", "loop", "auto"])
@pytest.mark.parametrize("kind", HEADS)
def test_fisher_equals_the_brute_force_per_example_fisher(h, kind, backend):
    ctx = _trained_context(h, kind)
    ewc = h.build(fisher_sample_percentage=0.5, fisher_backend=backend)
    batches = ewc.fisher_batches(ctx, "colours")
    assert [len(b) for b in batches] == [8, 8]  # int(0.5 * 24) = 12 examples -> 2 batches of 8 (16 examples)
    fisher = ewc.estimate_fisher(ctx, "colours")
    assert ewc.last_fisher_backend == {"auto": "hooks"}.get(backend, backend)
    assert fisher.keys() == {n for n, _ in ctx.model.encoder.named_parameters()}
    assert sum(float(f.sum()) for f in fisher.values()) > 0
    _assert_fisher_close(fisher, _brute_force_fisher(ctx, "colours", batches))
    if backend in ("hooks", "auto"):  # every TinyEncoder parameter sits in a Linear or an Embedding
        assert set(ewc.last_fisher_levels.values()) == {"layer"}


@pytest.mark.parametrize("kind", HEADS)
def test_fisher_is_not_the_squared_batch_mean_estimate(h, kind):
    """The 0.1.0 estimate squared batch means: smaller than the per-example Fisher by at least the batch
    size B everywhere (Cauchy-Schwarz: (sum of B gradients)^2 <= B * sum of their squares)."""
    ctx = _trained_context(h, kind)
    ewc = h.build(fisher_sample_percentage=1.0)
    batches = ewc.fisher_batches(ctx, "colours")
    fisher = ewc.estimate_fisher(ctx, "colours")
    for old in (_batch_mean_fisher(ctx, "colours", batches), _batch_mean_fisher(ctx, "colours", batches, accumulate=True)):
        assert all(not torch.allclose(fisher[n], old[n], rtol=1e-2) for n in fisher if float(fisher[n].abs().max()) > 0)
    old = _batch_mean_fisher(ctx, "colours", batches)
    for name in fisher:  # elementwise, within rounding
        assert bool((fisher[name] >= 8 * old[name] * (1 - 1e-4) - 1e-12).all()), name
    ratio = sum(float(f.sum()) for f in fisher.values()) / sum(float(o.sum()) for o in old.values())
    assert ratio > 8, ratio


@pytest.mark.parametrize("kind", ["classification", "soft-score"])
def test_auto_falls_back_to_one_example_at_a_time_when_examples_interact(h, kind):
    """An encoder that mixes the examples of a batch: the hooks path's check (one example against autograd
    on that example alone) fails, and auto computes the estimate with the loop."""
    ctx = _trained_context(h, kind, encoder_cls=_BatchMixingEncoder)
    batches = h.build(fisher_sample_percentage=0.75).fisher_batches(ctx, "colours")
    reference = _brute_force_fisher(ctx, "colours", batches)

    auto = h.build(fisher_sample_percentage=0.75)
    _assert_fisher_close(auto.estimate_fisher(ctx, "colours"), reference)
    assert auto.last_fisher_backend == "loop" and "differs from autograd's" in auto.last_hooks_error

    with pytest.raises(RuntimeError, match="fisher_backend"):
        h.build(fisher_sample_percentage=0.75, fisher_backend="hooks").estimate_fisher(ctx, "colours")
    assert ctx.model.training  # mode restored after the failure too


def test_hooks_run_a_model_with_data_dependent_control_flow_that_vmap_refuses(h):
    ctx = _trained_context(h, encoder_cls=_ControlFlowEncoder)
    batches = h.build(fisher_sample_percentage=0.75).fisher_batches(ctx, "colours")
    auto = h.build(fisher_sample_percentage=0.75)
    _assert_fisher_close(auto.estimate_fisher(ctx, "colours"), _brute_force_fisher(ctx, "colours", batches))
    assert auto.last_fisher_backend == "hooks" and auto.last_hooks_error is None
    with pytest.raises(RuntimeError, match="fisher_backend"):
        h.build(fisher_sample_percentage=0.75, fisher_backend="vmap").estimate_fisher(ctx, "colours")


def test_a_failure_part_way_finishes_the_estimate_with_the_loop(h, monkeypatch):
    """The hooks path failing on a later batch: the batches done stay, the rest goes through the loop."""
    ctx = _trained_context(h)
    ewc = h.build(fisher_sample_percentage=1.0)
    batches = ewc.fisher_batches(ctx, "colours")
    original, calls = ewc._hook_square_sums, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("unsupported (simulated)")
        return original(*args, **kwargs)

    monkeypatch.setattr(ewc, "_hook_square_sums", flaky)
    fisher = ewc.estimate_fisher(ctx, "colours")
    assert ewc.last_fisher_backend == "hooks+loop" and len(calls) == 2 and "simulated" in ewc.last_hooks_error
    _assert_fisher_close(fisher, _brute_force_fisher(ctx, "colours", batches))


@pytest.mark.parametrize("backend", ["auto", "vmap", "loop"])
def test_fisher_is_taken_in_eval_mode_without_dropout(h, backend):
    ctx = _trained_context(h, encoder_cls=_DropoutEncoder)
    ctx.model.train()
    ewc = h.build(fisher_sample_percentage=0.5, fisher_backend=backend)
    fisher = ewc.estimate_fisher(ctx, "colours")
    assert ewc.last_fisher_backend == {"auto": "hooks"}.get(backend, backend)  # vmap: no random op in eval
    assert ctx.model.training
    _assert_fisher_close(fisher, _brute_force_fisher(ctx, "colours", ewc.fisher_batches(ctx, "colours")))


@pytest.mark.parametrize("chunk", [1, 3, 8, 100])
def test_vmap_chunks_of_any_size_give_the_same_fisher(h, chunk):
    ctx = _trained_context(h)
    ewc = h.build(fisher_sample_percentage=0.75, fisher_backend="vmap", fisher_vmap_chunk_size=chunk)
    fisher = ewc.estimate_fisher(ctx, "colours")
    _assert_fisher_close(fisher, _brute_force_fisher(ctx, "colours", ewc.fisher_batches(ctx, "colours")))


def test_automatic_vmap_chunk_follows_the_memory_budget(h, monkeypatch):
    from climb_ewc import ewc as module

    ctx = h.context()
    ewc = h.build()
    tensors = list(_params(ctx).values())
    per_example = sum(t.numel() * t.element_size() for t in tensors)
    assert ewc._vmap_chunk(tensors, 8) == 8  # a tiny encoder: the whole batch at once
    monkeypatch.setattr(module, "VMAP_CHUNK_BYTES", 3 * per_example)
    assert ewc._vmap_chunk(tensors, 8) == 3
    monkeypatch.setattr(module, "VMAP_CHUNK_BYTES", per_example // 2)
    assert ewc._vmap_chunk(tensors, 8) == 1  # never less than one example


@pytest.mark.parametrize("backend", ["hooks", "vmap", "loop"])
def test_fisher_leaves_gradients_and_mode_alone(h, backend):
    ctx = h.context()
    ctx.model.train()
    ctx.model.loss("colours", ctx.batch("colours", [0, 1, 2])).backward()
    before = {n: p.grad.clone() for n, p in ctx.model.named_parameters() if p.grad is not None}
    h.build(fisher_sample_percentage=0.5, fisher_backend=backend).estimate_fisher(ctx, "colours")
    after = {n: p.grad for n, p in ctx.model.named_parameters() if p.grad is not None}
    assert before.keys() == after.keys()
    assert all(torch.equal(before[n], after[n]) for n in before)
    assert ctx.model.training


def test_fisher_batches_sample_size_minimum_and_cap(h):
    ctx = h.context()  # 48 training examples, batch 8
    n = ctx.num_train_examples("colours")
    default = h.build().fisher_batches(ctx, "colours")  # 10% of 48 = 4 examples -> one batch of 8
    assert len(default) == 1 and len(default[0]) == 8
    assert len(h.build(fisher_sample_percentage=0.01).fisher_batches(ctx, "colours")) == 1  # 0 examples -> still one
    everything = h.build(fisher_sample_percentage=1.0).fisher_batches(ctx, "colours")
    flat = [i for b in everything for i in b]
    assert len(everything) == math.ceil(n / 8) and sorted(flat) == list(range(n))  # a permutation, no repeats
    assert len(h.build(fisher_sample_percentage=1.0, fisher_max_batches=2).fisher_batches(ctx, "colours")) == 2
    sized = h.build(fisher_sample_percentage=0.5, fisher_batch_size=5).fisher_batches(ctx, "colours")
    assert [len(b) for b in sized] == [5] * 5  # ceil(24 / 5) batches of 5
    assert h.build(fisher_sample_percentage=0.5).fisher_batches(ctx, "colours") == h.build(
        fisher_sample_percentage=0.5).fisher_batches(ctx, "colours")  # seeded


def test_the_default_cap_bounds_a_large_task(h):
    ctx = h.context(h.tasks(1, size=800), batch_size=4)
    assert len(h.build(fisher_sample_percentage=1.0).fisher_batches(ctx, "colours")) == 64
    assert len(h.build(fisher_sample_percentage=1.0, fisher_max_batches=None).fisher_batches(ctx, "colours")) == 200


@pytest.mark.parametrize("backend", ["hooks", "vmap"])
def test_fisher_batch_size_only_groups_the_examples(h, backend):
    """Per example, the estimate does not depend on how the same examples are batched."""
    ctx = _trained_context(h)
    whole = h.build(fisher_sample_percentage=1.0, fisher_backend=backend)
    fives = h.build(fisher_sample_percentage=1.0, fisher_batch_size=5, fisher_backend=backend)
    assert sorted(i for b in whole.fisher_batches(ctx, "colours") for i in b) == sorted(
        i for b in fives.fisher_batches(ctx, "colours") for i in b)
    _assert_fisher_close(whole.estimate_fisher(ctx, "colours"), fives.estimate_fisher(ctx, "colours"))


def test_fisher_covers_only_trainable_encoder_parameters(h):
    ctx = h.context()
    ctx.model.encoder.embeddings.weight.requires_grad_(False)
    ewc = h.build(fisher_sample_percentage=0.5)
    fisher = ewc.estimate_fisher(ctx, "colours")
    assert "embeddings.weight" not in fisher and "image_proj.weight" in fisher
    assert not any(name.startswith("heads") for name in fisher)
    _assert_fisher_close(fisher, _brute_force_fisher(ctx, "colours", ewc.fisher_batches(ctx, "colours")))


@pytest.mark.parametrize("backend", ["auto", "vmap", "loop"])
def test_fisher_of_a_frozen_encoder_is_empty(h, backend):
    ctx = h.context()
    ctx.model.encoder.requires_grad_(False)
    ewc = h.build(fisher_backend=backend)
    assert ewc.estimate_fisher(ctx, "colours") == {}
    ewc.on_task_end(ctx)
    assert float(ewc.penalty(ctx, ["colours"])) == 0.0
