"""Whole runs through the core Runner: end to end, the penalty's effect, and resume equality."""

from __future__ import annotations

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


def test_a_strong_penalty_keeps_important_weights_near_the_first_anchor(h, tmp_path):
    """The defining effect: with a large lambda the Fisher-weighted drift from task 0's anchor shrinks."""
    drift = {}
    for lam in (0.0, 1e4):
        out = tmp_path / f"lambda-{lam}"
        results = h.run(h.build(ewc_lambda=lam, fisher_sample_percentage=0.5), out, epochs=2)
        weights, state = h.final_weights(out, results)
        drift[lam] = sum(
            float((state[f"fisher.colours.{n}"] * (weights[f"encoder.{n}"] - state[f"anchor.colours.{n}"]) ** 2).sum())
            for n in state["ewc.params.colours"]
        )
    assert drift[0.0] > 0 and drift[1e4] < 0.5 * drift[0.0], drift


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
