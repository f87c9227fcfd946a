"""LwF against the paper: the recorded targets are the old heads' outputs before the task, the loss is
CE + lambda_o * the temperature distillation formula (checked by hand on fixed logits, and its gradient
against the KL's), and one encoder forward serves every head."""

from __future__ import annotations

import math

import torch
from climb_regularization.lwf import distillation_loss
from torch.nn import functional as F


def _start_second_task(h, **options):
    ctx = h.context()
    lwf = h.build("lwf", **options)
    ctx.task_index = 1  # learning "yesno" after "colours"
    lwf.on_task_start(ctx)
    return ctx, lwf


def test_the_recorded_targets_are_the_old_heads_outputs_at_the_task_start(h):
    ctx, lwf = _start_second_task(h)
    assert list(lwf.targets) == ["colours"] and lwf.skipped_heads == []
    n = ctx.num_train_examples("yesno")
    ctx.model.eval()
    with torch.no_grad():
        expected = ctx.model("colours", ctx.batch("yesno", list(range(n))))
    ctx.model.train()
    assert lwf.targets["colours"].shape == (n, 4)
    torch.testing.assert_close(lwf.targets["colours"], expected)
    assert ctx.model.training  # the mode is given back


def test_the_loss_equals_the_temperature_distillation_formula_on_fixed_logits(h):
    ctx, lwf = _start_second_task(h, lambda_old=0.7, temperature=3.0)
    torch.manual_seed(1)
    fixed = 4 * torch.randn(ctx.num_train_examples("yesno"), 4)
    lwf.targets = {"colours": fixed}
    rows = [3, 5, 7, 9]
    ctx.batch_indices = rows
    batch = ctx.batch("yesno", rows)
    loss = lwf.training_loss(ctx, "yesno", batch)
    # by hand, in float64: -mean_b sum_k p'_k log q'_k, p' = softmax(Y_o / T), q' = softmax(Yhat_o / T)
    new = ctx.model("colours", batch).double().detach()
    distill = 0.0
    for b, row in enumerate(rows):
        old = [math.exp(float(v) / 3.0) for v in fixed[row]]
        cur = [math.exp(float(v) / 3.0) for v in new[b]]
        distill -= sum(o / sum(old) * math.log(c / sum(cur)) for o, c in zip(old, cur)) / len(rows)
    expected = float(ctx.model.loss("yesno", batch).detach()) + 0.7 * distill
    assert abs(float(loss.detach()) - expected) < 1e-5, (float(loss.detach()), expected)


def test_its_gradient_is_the_kl_gradient(h):
    """The paper's cross-entropy with soft targets differs from KL(p'||q') by the entropy of p' alone."""
    torch.manual_seed(2)
    old, new = torch.randn(5, 4), torch.randn(5, 4, requires_grad=True)
    ce = distillation_loss("classification", new, old, 2.0)
    kl = F.kl_div(torch.log_softmax(new / 2.0, -1), torch.softmax(old / 2.0, -1), reduction="batchmean")
    entropy = -(torch.softmax(old / 2.0, -1) * torch.log_softmax(old / 2.0, -1)).sum(-1).mean()
    torch.testing.assert_close(ce, kl + entropy)
    (g_ce,), (g_kl,) = torch.autograd.grad(ce, new), torch.autograd.grad(kl, new)
    torch.testing.assert_close(g_ce, g_kl)


def test_sigmoid_heads_distil_each_label_as_a_two_class_distribution():
    torch.manual_seed(3)
    old, new = torch.randn(3, 5), torch.randn(3, 5)
    p, q = torch.sigmoid(old / 2.0), torch.sigmoid(new / 2.0)
    by_hand = -(p * torch.log(q) + (1 - p) * torch.log(1 - q)).mean()
    torch.testing.assert_close(distillation_loss("multi-label", new, old, 2.0), by_hand)
    torch.testing.assert_close(distillation_loss("soft-score", new, old, 2.0), 5 * by_hand)


def test_one_encoder_forward_serves_the_current_and_the_old_heads(h):
    ctx, lwf = _start_second_task(h)
    calls = []
    real = type(ctx.model.encoder).forward
    ctx.model.encoder.forward = lambda batch: calls.append(1) or real(ctx.model.encoder, batch)
    ctx.batch_indices = [0, 1, 2]
    lwf.training_loss(ctx, "yesno", ctx.batch("yesno", [0, 1, 2]))
    del ctx.model.encoder.forward
    assert len(calls) == 1 and set(lwf.last_terms) == {"new", "colours"}


def test_the_first_task_is_plain_fine_tuning_and_a_run_resumes_exactly(h, tmp_path):
    ctx = h.context()
    lwf = h.build("lwf")
    lwf.on_task_start(ctx)
    ctx.batch_indices = [0, 1]
    batch = ctx.batch("colours", [0, 1])
    assert lwf.targets == {}
    assert torch.equal(lwf.training_loss(ctx, "colours", batch), ctx.model.loss("colours", batch))
    h.assert_resume_reproduces(lambda: h.build("lwf"), tmp_path)


def test_distillation_keeps_the_old_heads_outputs_closer(h, tmp_path):
    """The defining effect: with a strong lambda_o the first task's head's predictions on the second task's
    inputs (softmax, which the distillation preserves; logits may shift by a constant) move less."""
    drift = {}
    for lam in (0.0, 1.0):
        out = tmp_path / f"lambda-{lam}"
        seen = {}

        class Probe(type(h.build("lwf"))):
            def on_task_end(self, ctx):
                if ctx.task_index == 1:
                    ctx.model.eval()
                    with torch.no_grad():
                        inputs = ctx.batch("yesno", list(range(ctx.num_train_examples("yesno"))))
                        now = ctx.model("colours", inputs)
                    ctx.model.train()
                    recorded = torch.log_softmax(self.targets["colours"], -1)
                    seen["drift"] = float(F.kl_div(torch.log_softmax(now, -1), recorded, log_target=True,
                                                   reduction="batchmean"))

        algorithm = Probe({**h.build("lwf").options, "lambda_old": lam})
        algorithm.manifest = h.build("lwf").manifest
        h.run(algorithm, out, epochs=4)
        drift[lam] = seen["drift"]
    assert drift[1.0] < 0.5 * drift[0.0], drift  # measured: 0.0021 against 0.052
