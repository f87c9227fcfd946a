"""Whole runs through the core Runner: end to end, the penalty's effect, and resume equality."""

from __future__ import annotations

import pytest
import torch


def test_end_to_end_run_keeps_a_fisher_and_anchor_per_task(h, tmp_path):
    results = h.run(h.build(fisher_sample_percentage=0.25), tmp_path)
    assert results["status"] == "complete" and len(results["accuracy_matrix"]) == 2
    _, state = h.final_weights(tmp_path, results)
    assert state["ewc.tasks"] == ["colours", "yesno"]
    names = state["ewc.params.colours"]
    assert "embeddings.weight" in names and not any(n.startswith("heads") for n in names)
    for task in ("colours", "yesno"):
        for name in names:
            assert isinstance(state[f"fisher.{task}.{name}"], torch.Tensor)
            assert state[f"fisher.{task}.{name}"].shape == state[f"anchor.{task}.{name}"].shape
            assert float(state[f"fisher.{task}.{name}"].min()) >= 0


def _drifts(h, tmp_path, lambdas):
    """Fisher-weighted drift from task 0's anchor at the end of a two-task run, per lambda."""
    drift = {}
    for lam in lambdas:
        out = tmp_path / f"lambda-{lam}"
        results = h.run(h.build(ewc_lambda=lam, fisher_sample_percentage=0.5), out, epochs=2)
        weights, state = h.final_weights(out, results)
        drift[lam] = sum(
            float((state[f"fisher.colours.{n}"] * (weights[f"encoder.{n}"] - state[f"anchor.colours.{n}"]) ** 2).sum())
            for n in state["ewc.params.colours"]
        )
    return drift


def test_a_strong_penalty_keeps_important_weights_near_the_first_anchor(h, tmp_path):
    """The defining effect: with a large lambda the Fisher-weighted drift from task 0's anchor shrinks."""
    drift = _drifts(h, tmp_path, (0.0, 1e4))
    assert drift[0.0] > 0 and drift[1e4] < 0.5 * drift[0.0], drift


def test_climbs_lambda_and_the_default_have_an_effect(h, tmp_path):
    """At CLiMB's lambda = 100 the penalty constrains the encoder (drift about 0.3x that of lambda = 0
    here). With 0.1.0's squared batch-mean Fisher it was about 0.93x: EWC was all but switched off.
    The default (1e5, from the sweep on the default benchmark) constrains it further."""
    default = h.build().ewc_lambda
    assert default == 1e5
    drift = _drifts(h, tmp_path, (0.0, 100.0, default))
    assert drift[0.0] > 0 and drift[100.0] < 0.6 * drift[0.0], drift
    assert drift[default] < drift[100.0], drift


def test_resume_reproduces_an_uninterrupted_run(h, tmp_path):
    h.assert_resume_reproduces(lambda: h.build(fisher_sample_percentage=0.25), tmp_path)


def test_resume_without_the_state_would_differ(h, tmp_path):
    """Control for the test above: dropping the Fisher on resume changes the final weights."""
    class Forgetful(type(h.build())):
        def load_state_dict(self, state, ctx):
            pass

    def forgetful():
        algorithm = Forgetful({**h.build().options, "fisher_sample_percentage": 0.25})
        algorithm.manifest = h.build().manifest
        return algorithm

    full = h.run(h.build(fisher_sample_percentage=0.25), tmp_path / "full")
    try:
        h.run(forgetful(), tmp_path / "resumed", stop_after=0)
    except h.StopRun:
        pass
    resumed = h.run(forgetful(), tmp_path / "resumed", resume=True)
    a, _ = h.final_weights(tmp_path / "full", full)
    b, _ = h.final_weights(tmp_path / "resumed", resumed)
    assert any(not torch.equal(a[k], b[k]) for k in a if k.startswith("encoder."))


def test_a_checkpoint_of_the_old_estimator_is_refused_on_resume(h, tmp_path):
    """0.1.0 checkpoints hold squared batch-mean Fishers; resuming from one would mix two estimators."""
    results = h.run(h.build(fisher_sample_percentage=0.25), tmp_path)
    _, state = h.final_weights(tmp_path, results)
    assert state["ewc.fisher_estimator"] == "empirical-per-example"
    ctx = h.context()
    fresh = h.build()
    fresh.load_state_dict(state, ctx)  # this version's state loads
    assert list(fresh.fishers) == ["colours", "yesno"]
    old = {k: v for k, v in state.items() if k != "ewc.fisher_estimator"}
    with pytest.raises(ValueError, match="new --output folder"):
        h.build().load_state_dict(old, ctx)
    h.build().load_state_dict({"ewc.tasks": []}, ctx)  # an empty state (before any task) is fine either way
