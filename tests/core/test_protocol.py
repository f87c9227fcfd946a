"""The protocol a reviewer relies on: separate selection and report splits, intervals, RNG isolation,
weight-decay groups, the algorithm's optimizer and selection hooks, and a reference cache that cannot
go stale."""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from climb_harness.core import references
from climb_harness.api import Algorithm, OptimizerConfig
from climb_harness.core.config import load_config
from climb_harness.api.errors import ConfigError, RunError
from climb_harness.core.engine import Runner, RunSpec, TrainingOptions, parameter_groups
from climb_harness.testing.components import TinyEncoder, synthetic_task


def make_spec(out: Path, algorithm: Algorithm | None = None, epochs: int = 2, **training: Any) -> RunSpec:
    tasks = [synthetic_task("colours", "colour", size=40, seed=1), synthetic_task("yesno", "yesno", size=40, seed=2)]
    return RunSpec(
        tasks=tasks, encoder_factory=lambda: TinyEncoder({}), algorithm=algorithm or Algorithm(), seed=0,
        training=TrainingOptions(epochs=epochs, lr=3e-3, progress=False, **training), output_dir=out, config={"test": True},
        references={"random": {t.name: t.manifest["random_baseline"] for t in tasks}, "direct": {t.name: None for t in tasks}},
        plugins=[],
    )


# --------------------------------------------------------------------------- splits and intervals
def test_results_report_split_intervals_and_protocol(tmp_path: Path) -> None:
    results = Runner(make_spec(tmp_path)).run()
    assert results["protocol"]["selection_split"] == "val" and results["protocol"]["report_split"] == "test"
    assert results["protocol"]["confidence_interval"]["level"] == 0.95
    matrix, intervals = results["accuracy_matrix"], results["accuracy_matrix_ci"]
    assert len(intervals) == len(matrix) and all(len(r) == len(matrix[0]) for r in intervals)
    for row, ci_row in zip(matrix, intervals):
        for score, (low, high) in zip(row, ci_row):
            assert low <= score <= high and high - low > 0
    # the matrix is on the test split: the selection (val) score of the kept epoch is not what is reported
    selected = [max(e["selection_score"] for e in log["epochs"]) for log in results["training_log"]]
    assert [matrix[i][i] for i in range(2)] != selected


# --------------------------------------------------------------------------- RNG isolation
class DrawRecorder(Algorithm):
    """Records random numbers drawn in training steps (Python, NumPy, torch)."""

    def __init__(self) -> None:
        super().__init__({})
        self.draws: list[tuple[float, float, float]] = []
        self.evaluations = 0

    def training_loss(self, ctx: Any, task: str, batch: Any) -> torch.Tensor:
        self.draws.append((random.random(), float(np.random.rand()), float(torch.rand(()))))
        return ctx.model.loss(task, batch)

    def before_evaluate(self, ctx: Any, task: str) -> None:
        self.evaluations += 1
        torch.rand(self.evaluations)  # evaluation-time randomness must not leak into training


def test_how_often_a_run_evaluates_never_changes_its_training_rng_stream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    once = DrawRecorder()
    plain = Runner(make_spec(tmp_path / "a", once, epochs=3)).run()
    original = Runner.evaluate

    def evaluate_twice(self: Runner, task: str, data: Any) -> Any:
        original(self, task, data)
        return original(self, task, data)

    monkeypatch.setattr(Runner, "evaluate", evaluate_twice)
    twice = DrawRecorder()
    doubled = Runner(make_spec(tmp_path / "b", twice, epochs=3)).run()
    assert twice.evaluations > once.evaluations
    assert once.draws == twice.draws
    assert plain["accuracy_matrix"] == doubled["accuracy_matrix"]
    # and epochs do not replay one another's random numbers (evaluation used to reseed the global RNG)
    steps = len(once.draws) // 6  # 2 tasks x 3 epochs
    assert once.draws[steps : 2 * steps] != once.draws[2 * steps : 3 * steps]


# --------------------------------------------------------------------------- weight decay groups
class NamedOddly(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layernorm_before = nn.LayerNorm(4)
        self.ln = nn.LayerNorm(4)
        self.prenorm = nn.Linear(4, 4)  # a Linear whose name contains "norm": its weight decays
        self.head = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4))
        self.frozen = nn.Linear(4, 4)
        self.frozen.requires_grad_(False)


def test_no_decay_on_every_norm_parameter_and_bias_chosen_by_module_type() -> None:
    model = NamedOddly()
    decay, no_decay = parameter_groups(model, 0.01)
    assert decay["weight_decay"] == 0.01 and no_decay["weight_decay"] == 0.0
    names = {id(p): n for n, p in model.named_parameters()}
    assert sorted(names[id(p)] for p in decay["params"]) == ["head.0.weight", "prenorm.weight"]
    assert sorted(names[id(p)] for p in no_decay["params"]) == sorted(
        n for n in names.values() if not n.startswith(("frozen", "prenorm.weight", "head.0.weight"))
    )


# --------------------------------------------------------------------------- algorithm hooks
class PlainSGD(Algorithm):
    def __init__(self) -> None:
        super().__init__({})
        self.lrs: list[float] = []

    def configure_optimizer(self, ctx: Any, param_groups: list[dict[str, Any]], lr: float) -> OptimizerConfig:
        return OptimizerConfig(torch.optim.SGD(param_groups, lr=lr / 2), schedule="constant")

    def after_optimizer_step(self, ctx: Any, task: str, batch: Any) -> None:
        assert isinstance(ctx.optimizer, torch.optim.SGD)
        self.lrs.append(ctx.optimizer.param_groups[0]["lr"])


def test_an_algorithm_can_bring_its_own_optimizer_and_constant_schedule(tmp_path: Path) -> None:
    algorithm = PlainSGD()
    Runner(make_spec(tmp_path, algorithm)).run()
    assert algorithm.lrs and set(algorithm.lrs) == {3e-3 / 2}


class SelectOnSeen(Algorithm):
    def __init__(self, bad: bool = False) -> None:
        super().__init__({})
        self.bad = bad
        self.evaluated: list[tuple[int, str]] = []

    def selection_tasks(self, ctx: Any) -> list[str]:
        return list(ctx.task_order) if self.bad else list(ctx.task_order[: ctx.task_index + 1])

    def before_evaluate(self, ctx: Any, task: str) -> None:
        self.evaluated.append((ctx.task_index, task))


def test_selection_tasks_choose_the_epoch_on_the_seen_tasks(tmp_path: Path) -> None:
    algorithm = SelectOnSeen()
    runner = Runner(make_spec(tmp_path, algorithm))
    results = runner.run()
    # during task 1's two epochs, both seen tasks were scored for selection; the logged score is their mean
    log = results["training_log"][1]["epochs"]
    assert all(0 <= e["selection_score"] <= 100 for e in log)
    during_task_1 = [t for i, t in algorithm.evaluated if i == 1]
    assert during_task_1.count("colours") >= 2 + 1 and during_task_1.count("yesno") >= 2 + 1
    with pytest.raises(RunError, match="never a later one"):
        Runner(make_spec(tmp_path / "bad", SelectOnSeen(bad=True))).run()


# --------------------------------------------------------------------------- config
@pytest.mark.parametrize("overrides, match", [
    (["eval_split=test"], "eval_split: test chose epochs on test"),
    (["eval_split=val"], "no longer a setting"),
    (["protocol.selection_split=test"], "selection_split: test"),
    (["protocol.report_split=val"], "both 'val'"),
])
def test_selecting_on_the_reported_or_test_split_is_refused(overrides: list[str], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_config(None, overrides)


def test_default_protocol_selects_on_val_and_reports_on_test() -> None:
    protocol = load_config(None, [])["protocol"]
    assert protocol == {"selection_split": "val", "report_split": "test", "confidence_level": 0.95, "bootstrap_resamples": 1000}


# --------------------------------------------------------------------------- reference cache
def test_cache_key_changes_with_core_source_and_library_versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = ({"name": "e", "options": {"a": 1}}, {"name": "t"}, {"epochs": 1}, 0, {"selection_split": "val"})
    base = references.direct_key(*args)
    assert references.direct_key(*args) == base
    # a core source file changes -> the source hash and the key change
    core = tmp_path / "core"
    shutil.copytree(Path(references.__file__).parent, core, ignore=shutil.ignore_patterns("__pycache__"))
    before = references.source_hash(str(core))
    (core / "engine" / "runner.py").write_text((core / "engine" / "runner.py").read_text() + "\n# changed\n")
    references.source_hash.cache_clear()
    after = references.source_hash(str(core))
    assert before != after
    identity = references.core_identity()
    assert references.direct_key(*args, core={**identity, "core_source": after}) != references.direct_key(
        *args, core={**identity, "core_source": before})
    # a library version changes -> the key changes
    real_version = references.importlib.metadata.version
    monkeypatch.setattr(references.importlib.metadata, "version",
                        lambda name: "0.0.1-other" if name == "transformers" else real_version(name))
    assert references.library_versions()["transformers"] == "0.0.1-other"
    assert references.direct_key(*args) != base
    # and so does any resolved option
    assert references.direct_key({"name": "e", "options": {"a": 2}}, *args[1:]) != references.direct_key(*args)


def test_code_hash_follows_the_factorys_package() -> None:
    assert references.code_hash("climb_harness.testing.components:TinyEncoder") == references.source_hash(
        str(Path(references.__file__).parent.parent))
    assert references.code_hash("no_such_package_xyz.module:Thing") is None


class HandRolledNorm(nn.Module):
    """A LayerNorm that is not an ``nn.LayerNorm``: the harness would decay it."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(width))
        self.bias = nn.Parameter(torch.zeros(width))


def test_conformance_flags_a_normalisation_layer_that_would_be_decayed() -> None:
    from climb_harness.testing.conformance import _check_norm_decay, _Failed

    encoder = TinyEncoder({})
    assert "none decayed" in _check_norm_decay(encoder)
    encoder.LayerNorm = HandRolledNorm(encoder.hidden_size)
    encoder.LayerNorm.requires_grad_(False)  # frozen parameters are checked too, and stay frozen
    with pytest.raises(_Failed, match=r"LayerNorm\.weight"):
        _check_norm_decay(encoder)
    assert not encoder.LayerNorm.weight.requires_grad


class BadOptimizer(Algorithm):
    def __init__(self, returned: Any) -> None:
        super().__init__({})
        self.returned = returned

    def configure_optimizer(self, ctx: Any, param_groups: list[dict[str, Any]], lr: float) -> Any:
        return self.returned(param_groups) if callable(self.returned) else self.returned


@pytest.mark.parametrize("returned, match", [
    (lambda groups: torch.optim.SGD(groups, lr=0.1), "returned SGD"),
    (OptimizerConfig(None), r"OptimizerConfig\(NoneType\)"),
    (lambda groups: OptimizerConfig(torch.optim.SGD(groups, lr=0.1), schedule="cosine"), "'cosine'"),
])
def test_a_wrong_configure_optimizer_is_a_clear_error(tmp_path: Path, returned: Any, match: str) -> None:
    with pytest.raises(RunError, match=match):
        Runner(make_spec(tmp_path, BadOptimizer(returned))).run()


class SelectsAString(Algorithm):
    def selection_tasks(self, ctx: Any) -> Any:
        return ctx.current_task


def test_selection_tasks_returning_a_string_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="a list of task names"):
        Runner(make_spec(tmp_path, SelectsAString({}))).run()


def test_an_empty_report_split_is_a_clear_error(tmp_path: Path) -> None:
    spec = make_spec(tmp_path)
    spec.tasks[1].examples = lambda split, real=spec.tasks[1].examples: [] if split == "test" else real(split)  # type: ignore[method-assign]
    with pytest.raises(RunError, match="empty split|no examples in its 'test' split"):
        Runner(spec).run()


def test_multihead_attention_biases_get_no_decay() -> None:
    model = nn.MultiheadAttention(8, 2)
    decay, no_decay = parameter_groups(model, 0.01)
    names = {id(p): n for n, p in model.named_parameters()}
    assert "in_proj_bias" in {names[id(p)] for p in no_decay["params"]}
    assert "in_proj_weight" in {names[id(p)] for p in decay["params"]}


def test_resuming_a_run_of_the_previous_results_schema_is_refused(tmp_path: Path) -> None:
    import json

    (tmp_path / "results.json").write_text(json.dumps({"schema_version": "1.0", "config": {"test": True}, "accuracy_matrix": []}))
    with pytest.raises(RunError, match="earlier climb-harness"):
        Runner(make_spec(tmp_path)).run(resume=True)


def test_requirement_versions_name_the_packages_a_distribution_needs() -> None:
    versions = references.requirement_versions("climb-harness")
    assert versions["torch"] == references.importlib.metadata.version("torch")
    assert "pytest" not in versions  # an extra, not a requirement
    assert references.requirement_versions("no-such-distribution-xyz") == {}


# --------------------------------------------------------------------------- data-parallel dropout streams
def test_each_process_draws_its_own_dropout_masks_and_the_global_stream_is_untouched() -> None:
    """Under data parallelism every process has the same seed; its training forwards draw dropout masks from a
    stream keyed by (seed, rank, task, forward count) inside a fork of the global RNG: masks differ across
    processes, repeat on a resumed run, and leave every other draw (the algorithm's) the same everywhere."""
    from climb_harness.core.heads import ContinualModel

    task = synthetic_task("colours", "colour", size=8, seed=1)
    encoder = TinyEncoder({})
    encoder.dropout = nn.Dropout(0.5)
    original = encoder.forward
    encoder.forward = lambda inputs: encoder.dropout(original(inputs))  # type: ignore[method-assign]
    model = ContinualModel(encoder, {task.name: task.info}).train()
    batch = encoder.collate(list(task.examples("train"))[:8], task.info)

    def forward(rank: int) -> tuple[torch.Tensor, torch.Tensor]:
        torch.manual_seed(123)
        model.own_stream(7, rank, 0)
        out = model(task.name, batch)
        return out, torch.rand(3)  # the next global draw: what an algorithm would see

    zero, after_zero = forward(0)
    one, after_one = forward(1)
    again, _ = forward(0)
    assert not torch.equal(zero, one)  # independent masks across processes
    assert torch.equal(after_zero, after_one)  # the global stream is the same in every process
    assert torch.equal(zero, again)  # and replays exactly
    model.rank_stream = None  # one process: the global stream, as before
    torch.manual_seed(123)
    plain = model(task.name, batch)
    torch.manual_seed(123)
    assert torch.equal(plain, model(task.name, batch))
