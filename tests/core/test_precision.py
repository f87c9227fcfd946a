"""training.precision: bf16 autocast, fp16 autocast with a gradient scaler, fp32 unchanged."""

from __future__ import annotations

import dataclasses
import math

import pytest

from climb_harness.api import Algorithm
from climb_harness.core.engine import Runner
from climb_harness.testing.runs import run_spec


def _run(tmp_path, precision, name="run", **kwargs):
    spec = run_spec(Algorithm(), tmp_path / name, epochs=2, **kwargs)
    spec.training = dataclasses.replace(spec.training, precision=precision)
    return spec, Runner(spec).run()


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_runs_learn_and_differ_from_fp32(tmp_path, precision):
    _, fp32 = _run(tmp_path, "fp32", "fp32")
    _, mixed = _run(tmp_path, precision, precision)
    assert mixed["status"] == "complete"
    assert all(math.isfinite(v) and 0 <= v <= 100 for row in mixed["accuracy_matrix"] for v in row)
    # the diagonal (each task just learned) is well above the untrained initial scores, as in fp32
    assert all(mixed["accuracy_matrix"][i][i] > mixed["initial_scores"][i] for i in range(2))
    losses = [[e["train_loss"] for e in log["epochs"]] for log in mixed["training_log"]]
    losses32 = [[e["train_loss"] for e in log["epochs"]] for log in fp32["training_log"]]
    assert losses != losses32  # autocast really ran
    assert all(abs(a - b) < 0.25 * max(b, 1e-3) for la, lb in zip(losses, losses32) for a, b in zip(la, lb))


def test_fp16_uses_a_gradient_scaler_and_hooks_see_unscaled_gradients(tmp_path):
    seen = []

    class Probe(Algorithm):
        def before_optimizer_step(self, ctx, task, batch):
            grads = [p.grad.abs().max().item() for p in ctx.model.parameters() if p.grad is not None]
            seen.append(max(grads))

    spec = run_spec(Probe(), tmp_path / "run", epochs=1)
    spec.training = dataclasses.replace(spec.training, precision="fp16")
    Runner(spec).run()
    assert seen and max(seen) < 1e3  # GradScaler's initial scale is 65536: these are unscaled


def test_bf16_resumes_exactly(tmp_path):
    def spec(out, stop_after=None):
        s = run_spec(Algorithm(), out, epochs=2, stop_after=stop_after)
        s.training = dataclasses.replace(s.training, precision="bf16")
        return s

    full = Runner(spec(tmp_path / "full")).run()
    with pytest.raises(BaseException):
        Runner(spec(tmp_path / "cut", stop_after=0)).run()
    resumed = Runner(dataclasses.replace(spec(tmp_path / "cut"), hooks=None)).run(resume=True)
    assert resumed["accuracy_matrix"] == full["accuracy_matrix"]


@pytest.mark.slow
def test_compiled_encoder_gives_the_eager_numbers_and_the_same_checkpoint_names(tmp_path):
    """training.compile: the encoder compiled in place (inductor on CPU) trains to the eager run's numbers,
    and its checkpoint holds the same tensor names (so resume and Phase II read it). About 40 s (compiling)."""
    from safetensors.torch import load_file

    results, names = [], []
    for side, compile in (("eager", False), ("compiled", True)):
        spec = run_spec(Algorithm(), tmp_path / side, epochs=2)
        spec.training = dataclasses.replace(spec.training, compile=compile)
        results.append(Runner(spec).run())
        checkpoint = sorted((tmp_path / side / "checkpoints").glob("task-00-*.safetensors"))[-1]
        names.append(sorted(load_file(str(checkpoint)).keys()))
    eager, compiled = results
    assert compiled["accuracy_matrix"] == eager["accuracy_matrix"]
    assert [e["train_loss"] for t in compiled["training_log"] for e in t["epochs"]] == pytest.approx(
        [e["train_loss"] for t in eager["training_log"] for e in t["epochs"]], rel=1e-5)
    assert names[0] == names[1] and not any("_orig_mod" in n for n in names[1])
