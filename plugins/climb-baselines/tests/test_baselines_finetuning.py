"""sequential-ft and direct-ft: real runs through the Runner (TinyEncoder, synthetic tasks)."""

from __future__ import annotations

import torch

from climb_baselines.direct_ft import DirectFineTuning, encoder_state
from climb_baselines.sequential_ft import SequentialFineTuning
from climb_harness.testing import validate_results


def _equal(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_sequential_ft_trains_the_whole_model_end_to_end(tmp_path, run, snapshot):
    algorithm = SequentialFineTuning({})
    algorithm.manifest = {"name": "sequential-ft"}
    results, runner = run(algorithm, tmp_path / "run")
    assert validate_results(results) == []
    assert results["status"] == "complete" and len(results["accuracy_matrix"]) == 3
    initial = encoder_state(runner.ctx.initial_state)
    final = snapshot(runner.model)
    assert all(not torch.equal(initial[k], final[k]) for k in final)  # every encoder tensor learned
    # it learns: the last task is well above chance (4 colours -> 25%) right after training
    assert results["accuracy_matrix"][2][2] > 40.0


class _SpyDirect(DirectFineTuning):
    """Records, at each task start, whether the encoder equals the initial weights before/after the reset."""

    def __init__(self, options=None):
        super().__init__(options)
        self.before, self.after = [], []

    def on_task_start(self, ctx):
        initial = encoder_state(ctx.initial_state)
        current = lambda: {k: v.detach().cpu() for k, v in ctx.model.encoder.state_dict().items()}  # noqa: E731
        self.before.append(_equal(initial, current()))
        super().on_task_start(ctx)
        self.after.append(_equal(initial, current()))


def test_direct_ft_starts_every_task_from_the_initial_encoder(tmp_path, run):
    algorithm = _SpyDirect({})
    results, runner = run(algorithm, tmp_path / "run")
    assert algorithm.after == [True, True, True]
    assert algorithm.before == [True, False, False]  # training did move it, so the reset mattered
    assert results["status"] == "complete"
    # the encoder after the run is the last task's alone: it differs from the initial one
    assert not _equal(encoder_state(runner.ctx.initial_state), {k: v.cpu() for k, v in runner.model.encoder.state_dict().items()})


def test_direct_ft_resume_equals_an_uninterrupted_run(tmp_path, run):
    full, _ = run(DirectFineTuning({}), tmp_path / "full", n_tasks=2)
    stopped, _ = run(DirectFineTuning({}), tmp_path / "part", n_tasks=2, stop_after=0)
    resumed, _ = run(DirectFineTuning({}), tmp_path / "part", n_tasks=2, resume=True)
    assert stopped is None and len(resumed["accuracy_matrix"]) == 2
    assert resumed["accuracy_matrix"] == full["accuracy_matrix"]
