"""Online EWC (Schwarz et al. 2018, option online): one running Fisher gamma * F_old + F_new, anchored at
the latest weights, computed here by hand from each task's own estimate; the default (online: false) is
unchanged."""

from __future__ import annotations

import pytest
import torch


def test_the_running_fisher_is_gamma_times_the_old_plus_the_new(h, tmp_path):
    ewc = h.build(online=True, gamma=0.6, fisher_sample_percentage=0.25)
    estimates = []
    real = ewc.estimate_fisher

    def recording(ctx, task):
        estimates.append(real(ctx, task))
        return estimates[-1]

    ewc.estimate_fisher = recording
    results = h.run(ewc, tmp_path, tasks=h.tasks(3))
    weights, state = h.final_weights(tmp_path, results)
    last = results["tasks"][-1]
    assert state["ewc.tasks"] == [last] and state["ewc.online"] is True and len(estimates) == 3
    f0, f1, f2 = estimates
    for name in state[f"ewc.params.{last}"]:
        by_hand = 0.6 * (0.6 * f0[name] + f1[name]) + f2[name]
        torch.testing.assert_close(state[f"fisher.{last}.{name}"], by_hand)
        assert torch.equal(state[f"anchor.{last}.{name}"], weights[f"encoder.{name}"])


def test_the_penalty_is_lambda_gamma_times_the_running_fisher_distance(h):
    ctx = h.context()
    ewc = h.build(online=True, gamma=0.5, ewc_lambda=7.0, fisher_sample_percentage=0.25)
    ctx.task_index = 0
    ewc.on_task_end(ctx)
    ctx.task_index = 1
    with torch.no_grad():
        for p in ctx.model.encoder.parameters():
            p.add_(0.01 * torch.randn_like(p))
    params = dict(ctx.model.encoder.named_parameters())
    fisher, anchor = ewc.fishers["colours"], ewc.anchors["colours"]
    by_hand = 7.0 * 0.5 * sum((fisher[n] * (params[n] - anchor[n]) ** 2).sum() for n in fisher)
    torch.testing.assert_close(ewc.penalty(ctx, ["colours"]), by_hand)


def test_online_runs_resume_and_a_state_of_the_other_kind_is_refused(h, tmp_path):
    def online():
        return h.build(online=True, gamma=0.9, fisher_sample_percentage=0.25)

    h.assert_resume_reproduces(online, tmp_path)
    results = h.run(h.build(online=True, fisher_sample_percentage=0.25), tmp_path / "online")
    _, state = h.final_weights(tmp_path / "online", results)
    with pytest.raises(ValueError, match="online"):
        h.build().load_state_dict(state, h.context())  # classic EWC must not resume from a running Fisher
    results = h.run(h.build(fisher_sample_percentage=0.25), tmp_path / "classic")
    _, classic = h.final_weights(tmp_path / "classic", results)
    assert "ewc.online" not in classic and classic["ewc.tasks"] == ["colours", "yesno"]
    with pytest.raises(ValueError, match="online"):
        h.build(online=True).load_state_dict(classic, h.context())
