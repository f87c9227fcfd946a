"""The Phase I runner on small real components: protocol, determinism, checkpoints, results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from climb_harness.api import Algorithm
from climb_harness.core.checkpoints import algorithm_path, checkpoint_path
from climb_harness.api.errors import RunError
from climb_harness.core.results import validate_results
from climb_harness.core.engine import Runner, RunSpec, TrainingOptions
from climb_harness.testing.components import TinyEncoder, synthetic_task


def make_spec(out: Path, algorithm: Algorithm | None = None, epochs: int = 2, seed: int = 0, hooks: Any = None,
              report_split: str = "test", **training: Any) -> RunSpec:
    tasks = [synthetic_task("colours", "colour", size=48, seed=1), synthetic_task("yesno", "yesno", size=48, seed=2),
             synthetic_task("colours-2", "colour", size=48, seed=3)]
    return RunSpec(
        tasks=tasks, encoder_factory=lambda: TinyEncoder({}), algorithm=algorithm or Algorithm(), seed=seed,
        training=TrainingOptions(epochs=epochs, lr=3e-3, progress=False, **training), output_dir=out, config={"test": True},
        references={"random": {t.name: t.manifest["random_baseline"] for t in tasks}, "direct": {t.name: None for t in tasks}},
        plugins=[], hooks=hooks, report_split=report_split,
    )


class Recorder(Algorithm):
    """Sequential fine-tuning that records the order of hook calls."""

    def __init__(self) -> None:
        super().__init__({})
        self.calls: list[tuple[str, Any]] = []

    def setup(self, ctx: Any) -> None:
        self.calls.append(("setup", None))

    def on_task_start(self, ctx: Any) -> None:
        self.calls.append(("task_start", ctx.current_task))

    def after_optimizer_step(self, ctx: Any, task: str, batch: Any) -> None:
        self.calls.append(("step", task))

    def on_epoch_end(self, ctx: Any, epoch: int) -> None:
        self.calls.append(("epoch_end", epoch))

    def on_task_end(self, ctx: Any) -> None:
        self.calls.append(("task_end", ctx.current_task))

    def before_evaluate(self, ctx: Any, task: str) -> None:
        self.calls.append(("evaluate", task))


def test_full_accuracy_matrix_metrics_and_schema(tmp_path: Path) -> None:
    results = Runner(make_spec(tmp_path)).run()
    assert results["status"] == "complete"
    assert len(results["accuracy_matrix"]) == 3 and all(len(row) == 3 for row in results["accuracy_matrix"])
    assert len(results["initial_scores"]) == 3
    assert validate_results(results) == []
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert on_disk["accuracy_matrix"] == results["accuracy_matrix"]
    # the model learns the first task (4 colours, chance 25%)
    assert results["accuracy_matrix"][0][0] > 60
    metrics = results["metrics"]
    last = results["accuracy_matrix"][-1]
    assert metrics["average_accuracy"] == pytest.approx(sum(last) / 3)
    assert metrics["bwt"] == pytest.approx(sum(last[i] - results["accuracy_matrix"][i][i] for i in range(2)) / 2)


def test_hook_order_and_every_task_evaluated_after_each_task(tmp_path: Path) -> None:
    algorithm = Recorder()
    Runner(make_spec(tmp_path, algorithm, epochs=2)).run()
    names = [c[0] for c in algorithm.calls]
    assert names[0] == "setup"
    assert names[1:4] == ["evaluate"] * 3  # the initial evaluation (row "before training")
    starts = [i for i, n in enumerate(names) if n == "task_start"]
    assert [algorithm.calls[i][1] for i in starts] == ["colours", "yesno", "colours-2"]
    for start in starts:
        ends = names.index("task_end", start)
        segment = names[start:ends]
        assert segment.count("epoch_end") == 2 and "step" in segment
        # after the task: every task evaluated, future ones included
        assert [c[1] for c in algorithm.calls[ends + 1 : ends + 4]] == ["colours", "yesno", "colours-2"]
    steps = {c[1] for c in algorithm.calls if c[0] == "step"}
    assert steps == {"colours", "yesno", "colours-2"}


def test_same_seed_same_results_other_seed_differs(tmp_path: Path) -> None:
    a = Runner(make_spec(tmp_path / "a")).run()
    b = Runner(make_spec(tmp_path / "b")).run()
    c = Runner(make_spec(tmp_path / "c", seed=1)).run()
    assert a["accuracy_matrix"] == b["accuracy_matrix"]
    assert a["training_log"][0]["epochs"][0]["train_loss"] == b["training_log"][0]["epochs"][0]["train_loss"]
    assert a["training_log"][0]["epochs"][0]["train_loss"] != c["training_log"][0]["epochs"][0]["train_loss"]


def test_best_epoch_weights_are_carried_forward(tmp_path: Path) -> None:
    """The checkpoint (= the weights the next task starts from) scores the best validation epoch.

    (Reporting on the selection split is what the config refuses; the runner allows it, which is what
    lets this test see the selected score in the matrix.)"""
    results = Runner(make_spec(tmp_path, epochs=4, report_split="val")).run()
    for index, log in enumerate(results["training_log"]):
        best = max(e["selection_score"] for e in log["epochs"])
        assert results["best_epochs"][index] == [e["selection_score"] for e in log["epochs"]].index(best)
        assert results["accuracy_matrix"][index][index] == pytest.approx(best, abs=1e-5)


def test_checkpoints_are_safetensors_with_metadata(tmp_path: Path) -> None:
    Runner(make_spec(tmp_path)).run()
    path = checkpoint_path(tmp_path, 1, "yesno")
    state = load_file(str(path))  # no pickle involved
    assert any(k.startswith("encoder.") for k in state) and any(k.startswith("heads.yesno") for k in state)
    header_len = int.from_bytes(path.read_bytes()[:8], "little")
    meta = json.loads(json.loads(path.read_bytes()[8 : 8 + header_len])["__metadata__"]["climb"])
    assert meta["tasks"] == ["colours", "yesno", "colours-2"] and meta["task_index"] == 1
    assert algorithm_path(path).exists()


def test_frozen_parameters_stay_and_no_optimizer_when_nothing_trains(tmp_path: Path) -> None:
    class FreezeAll(Algorithm):
        def setup(self, ctx: Any) -> None:
            for p in ctx.model.parameters():
                p.requires_grad_(False)

    results = Runner(make_spec(tmp_path, FreezeAll())).run()
    rows = results["accuracy_matrix"]
    assert rows[0] == rows[1] == rows[2] == results["initial_scores"]


def test_resume_after_truncation_equals_uninterrupted(tmp_path: Path) -> None:
    full = Runner(make_spec(tmp_path / "full")).run()
    part_dir = tmp_path / "part"
    Runner(make_spec(part_dir)).run()
    # pretend the process died after task 1: keep one row of results
    saved = json.loads((part_dir / "results.json").read_text())
    saved.update(status="running", metrics={}, accuracy_matrix=saved["accuracy_matrix"][:1], best_epochs=saved["best_epochs"][:1],
                 training_log=saved["training_log"][:1])
    (part_dir / "results.json").write_text(json.dumps(saved))
    resumed = Runner(make_spec(part_dir)).run(resume=True)
    assert resumed["accuracy_matrix"] == full["accuracy_matrix"]
    assert resumed["metrics"] == full["metrics"]


def test_unfinished_run_is_not_overwritten_without_resume(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text(json.dumps({"status": "running", "config": {"test": True}}))
    before = (tmp_path / "results.json").read_bytes()
    with pytest.raises(RunError, match="--resume"):
        Runner(make_spec(tmp_path)).run()
    assert (tmp_path / "results.json").read_bytes() == before


def test_corrupt_checkpoint_on_resume_is_a_clear_error_and_results_untouched(tmp_path: Path) -> None:
    Runner(make_spec(tmp_path)).run()
    saved = json.loads((tmp_path / "results.json").read_text())
    saved.update(status="running", accuracy_matrix=saved["accuracy_matrix"][:2])
    (tmp_path / "results.json").write_text(json.dumps(saved))
    before = (tmp_path / "results.json").read_bytes()
    ckpt = checkpoint_path(tmp_path, 1, "yesno")
    ckpt.write_bytes(ckpt.read_bytes()[:200])
    with pytest.raises(RunError, match="corrupt") as info:
        Runner(make_spec(tmp_path)).run(resume=True)
    assert str(ckpt) in str(info.value)
    assert (tmp_path / "results.json").read_bytes() == before


def test_lifecycle_hooks_are_emitted(tmp_path: Path) -> None:
    events: list[tuple[str, Any]] = []

    class Hooks:
        def climb_run_start(self, run: dict) -> None:
            events.append(("run_start", run["algorithm"]))

        def climb_task_start(self, run: dict, task_index: int, task: str) -> None:
            events.append(("task_start", task))

        def climb_epoch_end(self, run: dict, task_index: int, task: str, epoch: int, logs: dict) -> None:
            events.append(("epoch_end", (task, epoch, set(logs))))

        def climb_task_end(self, run: dict, task_index: int, task: str, scores: dict) -> None:
            events.append(("task_end", sorted(scores)))

        def climb_run_end(self, run: dict, results: dict) -> None:
            events.append(("run_end", results["status"]))

    Runner(make_spec(tmp_path, hooks=Hooks(), epochs=1)).run()
    assert events[0] == ("run_start", "Algorithm")
    assert events[-1] == ("run_end", "complete")
    assert [e[1] for e in events if e[0] == "task_start"] == ["colours", "yesno", "colours-2"]
    assert ("epoch_end", ("yesno", 0, {"train_loss", "selection_score", "steps", "examples", "train_seconds", "eval_seconds",
                                       "train_examples_per_second", "seconds"})) in events
    assert events[-2] == ("task_end", ["colours", "colours-2", "yesno"])


def test_preload_and_on_the_fly_batches_agree(tmp_path: Path) -> None:
    a = Runner(make_spec(tmp_path / "a", preload=True)).run()
    b = Runner(make_spec(tmp_path / "b", preload=False)).run()
    assert a["accuracy_matrix"] == b["accuracy_matrix"]


def test_training_batches_are_deterministic_and_cover_the_split(tmp_path: Path) -> None:
    runner = Runner(make_spec(tmp_path))
    runner._build()
    first = list(runner.ctx.train_batches("yesno", 16, epoch=0))
    assert first == list(runner.ctx.train_batches("yesno", 16, epoch=0))
    assert first != list(runner.ctx.train_batches("yesno", 16, epoch=1))
    assert sorted(i for b in first for i in b) == list(range(48))
    batch = runner.ctx.batch("yesno", first[0])
    assert batch["targets"].shape == (16,) and batch["targets"].dtype == torch.long


def test_runs_agree_whichever_way_batches_are_loaded(tmp_path: Path) -> None:
    """The numbers do not depend on the loading path (and so the reference cache ignores it)."""
    preloaded = Runner(make_spec(tmp_path / "a", preload=True)).run()
    workers = Runner(make_spec(tmp_path / "b", preload=False, num_workers=2)).run()
    auto = Runner(make_spec(tmp_path / "c", preload="auto", memory_budget_mb=1e-6, num_workers=1)).run()  # 48 <= sample: preloads
    assert preloaded["accuracy_matrix"] == workers["accuracy_matrix"] == auto["accuracy_matrix"]


def test_forward_tasks_is_one_encoder_pass_that_equals_each_tasks_own_forward() -> None:
    from unittest import mock

    import torch

    from climb_harness.core.heads import ContinualModel
    from climb_harness.testing.components import TinyEncoder, synthetic_task

    tasks = [synthetic_task("colours", "colour", size=16, seed=1), synthetic_task("yesno", "yesno", size=16, seed=2)]
    encoder = TinyEncoder({})
    model = ContinualModel(encoder, {t.name: t.info for t in tasks}).eval()
    parts = [(t.name, {**encoder.collate(list(t.examples("train"))[:n], t.info)}) for t, n in zip(tasks, (5, 7))]
    for name, batch in parts:
        batch["targets"] = torch.zeros(len(next(iter(batch.values()))), dtype=torch.long)
    with mock.patch.object(encoder, "forward", wraps=encoder.forward) as calls:
        merged = model.forward_tasks(parts)
    assert calls.call_count == 1  # one pass for both tasks
    for (name, batch), logits in zip(parts, merged):
        assert torch.allclose(logits, model(name, batch), atol=1e-6)
    alone = model.forward_tasks(parts[:1])[0]
    assert torch.equal(alone, model(*parts[0]))  # a part alone is exactly its own forward
