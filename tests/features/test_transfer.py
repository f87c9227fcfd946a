"""Phase II: low-shot samples, the transfer plan, and `climb transfer` end to end with resume."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner

from climb_harness.cli import main
from climb_harness.api.errors import UsageError
from climb_harness.transfer.lowshot import Shots, default_shots, low_shot_indices, stratum
from climb_harness.core.metrics import low_shot_transfer
from climb_harness.core.registry import Registry
from climb_harness.transfer.cells import Transfer, find_runs, read_transfer, summarise

REF = "pretrained/seed-0"  # the reference of upstream seed 0

TEST_PLUGIN = "climb_harness.testing.plugin"


# --------------------------------------------------------------------------- low-shot samples
TARGETS = [0] * 50 + [1] * 30 + [2] * 5


@pytest.mark.parametrize(("text", "counts"), [("16/class", {0: 16, 1: 16, 2: 5}), ("20%", {0: 10, 1: 6, 2: 1}),
                                              ("17", {0: 10, 1: 6, 2: 1})])
def test_sample_sizes_per_class_share_and_total(text, counts):
    indices = low_shot_indices(TARGETS, Shots.parse(text), seed=10)
    assert indices == sorted(set(indices))
    assert Counter(TARGETS[i] for i in indices) == counts


def test_same_seed_same_sample_other_seed_other_sample():
    shots = Shots.parse("8/class")
    assert low_shot_indices(TARGETS, shots, 10) == low_shot_indices(list(TARGETS), shots, 10)
    samples = {tuple(low_shot_indices(TARGETS, shots, seed)) for seed in (10, 50, 100)}
    assert len(samples) == 3


def test_per_class_sampling_is_uniform_within_a_class():
    # every example of class 0 should be drawn with probability 8/50 over many seeds
    draws = Counter(i for seed in range(2000) for i in low_shot_indices(TARGETS, Shots.parse("8/class"), seed) if i < 50)
    expected = 2000 * 8 / 50
    assert all(abs(draws[i] - expected) < 5 * (expected * (1 - 8 / 50)) ** 0.5 for i in range(50))


def test_stratum_of_soft_and_multi_label_targets():
    assert stratum({3: 0.3, 7: 1.0}) == 7 and stratum([5, 2, 9]) == 2 and stratum(4) == 4 and stratum({}) is None


@pytest.mark.parametrize("bad", ["", "0", "x/class", "16/clas", "150%", "-3"])
def test_unreadable_sizes_are_usage_errors(bad):
    with pytest.raises(UsageError, match="N/class|over 100%"):
        Shots.parse(bad)


def test_default_sizes_follow_climb():
    mc = {"head": {"type": "multiple-choice", "num_choices": 2}, "modality": "language"}
    assert default_shots(mc) == ["1024", "4096"]
    assert default_shots({"head": {"type": "classification"}, "modality": "vision"}) == ["16/class", "32/class"]
    assert default_shots({"head": {"type": "multi-label"}, "modality": "vision"}) == ["5%", "10%"]
    assert default_shots({"head": {"type": "classification"}, "modality": "language", "defaults": {"low_shot": ["4/class"]}}) == ["4/class"]


def test_low_shot_transfer_formula_and_undefined():
    assert low_shot_transfer(70.0, 60.0, 10.0) == pytest.approx(20.0)
    assert low_shot_transfer(60.0, 60.0, 10.0) == 0.0
    assert low_shot_transfer(70.0, 9.0, 10.0) is None


def test_summary_pairs_seeds_with_the_pretrained_reference():
    def cell(source, seed, score):
        return {"source": source, "task": "t", "shots": "4/class", "seed": seed, "score": score, "random": 25.0,
                "algorithm": None if source == REF else "a", "upstream_seed": 0, "after_task": "x"}
    cells = [cell(REF, 1, 60.0), cell(REF, 2, 65.0), cell("a/up", 1, 75.0), cell("a/up", 2, 75.0), cell("a/up", 3, 99.0),
             cell("pretrained/seed-7", 1, 10.0)]
    rows = summarise(cells)
    assert [r["source"] for r in rows] == [REF, "pretrained/seed-7", "a/up"]
    up = rows[2]
    assert up["pretrained"]["mean"] == 62.5 and up["seeds"] == [1, 2, 3]  # seed 3 has no reference: not paired
    assert up["low_shot_transfer"] == pytest.approx(100 * (75.0 - 62.5) / (62.5 - 25.0))
    per_seed = [100 * (75.0 - 60.0) / (60.0 - 25.0), 100 * (75.0 - 65.0) / (65.0 - 25.0)]
    assert up["low_shot_transfer_per_seed"]["n"] == 2
    assert up["low_shot_transfer_per_seed"]["mean"] == pytest.approx(sum(per_seed) / 2)


# --------------------------------------------------------------------------- end to end
@pytest.fixture()
def upstream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLIMB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    config = {"name": "tiny", "tasks": [{"name": "synthetic-colour", "options": {"size": 48, "seed": 1}},
                                        {"name": "synthetic-yesno", "options": {"size": 48, "seed": 2}}],
              "encoder": "tiny", "algorithms": ["finetune"], "seeds": [0],
              "training": {"epochs": 1, "progress": False}, "references": {"direct": False}}
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(config))
    out = tmp_path / "phase1"
    result = CliRunner().invoke(main, ["run", "--config", str(tmp_path / "exp.yaml"), "--plugin", TEST_PLUGIN,
                                       "--output", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def _transfer(*args: str):
    return CliRunner().invoke(main, ["transfer", *args, "--plugin", TEST_PLUGIN], catch_exceptions=False)


def test_a_checkpoint_goes_only_to_tasks_after_it(upstream):
    registry = Registry([TEST_PLUGIN])
    runs = find_runs([upstream])
    transfer = Transfer(runs, registry, upstream / "t", tasks=[{"name": "synthetic-shade", "options": {"size": 48}}],
                        shots=["4/class"], seeds=[1], echo=lambda line: None)
    plan = {(c.source.label, c.task) for c in transfer.cells}
    assert plan == {("finetune/seed-0/after-1-synthetic-colour", "synthetic-yesno"),
                    ("finetune/seed-0/after-2-synthetic-yesno", "synthetic-shade"),
                    (REF, "synthetic-yesno"), (REF, "synthetic-shade")}
    every = Transfer(runs, registry, upstream / "t", tasks=[{"name": "synthetic-shade"}], shots=["4/class"], seeds=[1],
                     checkpoints="all", later=False, echo=lambda line: None)
    assert {(c.source.task_index, c.task) for c in every.cells if c.source.checkpoint} == {(0, "synthetic-shade"), (1, "synthetic-shade")}
    with pytest.raises(UsageError, match="learned upstream"):
        Transfer(runs, registry, upstream / "t", tasks=[{"name": "synthetic-yesno"}], seeds=[1], echo=lambda line: None)


def test_climb_transfer_end_to_end_resumes_cell_by_cell(upstream, tmp_path):
    out = tmp_path / "phase2"
    args = [str(upstream), "--tasks", "synthetic-shade", "--option", "synthetic-shade.size=48", "--shots", "4/class",
            "--seeds", "1,2", "--epochs", "2", "--lr", "3e-3", "--output", str(out)]
    first = _transfer(*args)
    assert first.exit_code == 0, first.output
    results = read_transfer(out / "transfer.json")
    assert results["status"] == "complete" and len(results["cells"]) == 8
    cells = {(c["source"], c["task"], c["seed"]): c for c in results["cells"]}
    assert all(c["train_examples"] == 4 * (4 if c["task"] == "synthetic-shade" else 2) for c in cells.values())
    shade = [r for r in results["summary"] if r["task"] == "synthetic-shade" and r["source"] != REF][0]
    assert shade["low_shot_transfer"] is not None or shade["undefined"]
    assert "| pretrained/seed-0 | synthetic-shade | 4/class | 2 |" in first.output
    # the same arguments again: refused without --resume, nothing overwritten
    again = CliRunner().invoke(main, ["transfer", *args, "--plugin", TEST_PLUGIN])
    assert again.exit_code != 0 and "--resume" in again.output and "Traceback" not in again.output
    # a lost cell is recomputed on --resume, the others are kept as they were
    cell_files = sorted((out / "cells").glob("*.json"))
    kept = {p.name: p.read_text() for p in cell_files[1:]}
    cell_files[0].unlink()
    resumed = _transfer(*args, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert len(re.findall(r"^\[\d+/8\]", resumed.output, flags=re.M)) == 1  # only the lost cell ran again
    assert {p.name: p.read_text() for p in sorted((out / "cells").glob("*.json"))[1:]} == kept
    again = read_transfer(out / "transfer.json")
    assert [c["score"] for c in again["cells"]] == [c["score"] for c in results["cells"]]  # deterministic per cell
    # other arguments with --resume: refused
    other = CliRunner().invoke(main, ["transfer", *args[:-2], "--output", str(out), "--epochs", "1", "--resume", "--plugin", TEST_PLUGIN])
    assert other.exit_code != 0 and "another configuration" in other.output
    # climb report shows Phase II beside Phase I
    report = CliRunner().invoke(main, ["report", str(upstream), str(out)])
    assert report.exit_code == 0, report.output
    assert "| finetune |" in report.output and "Phase II low-shot transfer" in report.output


def test_transfer_of_a_folder_without_runs_is_one_paragraph(tmp_path):
    result = CliRunner().invoke(main, ["transfer", str(tmp_path)])
    assert result.exit_code == 2 and "No finished Phase I run" in result.output and "Traceback" not in result.output


def test_a_transfer_file_failing_its_schema_is_refused_naming_it(tmp_path):
    bad = tmp_path / "transfer.json"
    bad.write_text(json.dumps({"kind": "transfer", "schema_version": "1.0"}))
    result = CliRunner().invoke(main, ["report", str(bad)])
    assert result.exit_code != 0 and str(bad) in result.output and "not a valid" in result.output


def test_the_runner_loads_upstream_encoder_weights_before_training(tmp_path):
    import torch

    from climb_harness.api import Algorithm
    from climb_harness.api.errors import RunError
    from climb_harness.core.engine import Runner
    from climb_harness.testing.components import TinyEncoder
    from climb_harness.testing.runs import run_spec

    upstream = {k: torch.randn_like(v) for k, v in TinyEncoder({}).state_dict().items()}
    spec = run_spec(Algorithm(), tmp_path / "a")
    spec.encoder_state = {**upstream, "adapter.weight": torch.zeros(2)}
    runner = Runner(spec)
    runner._build()
    assert all(torch.equal(runner.encoder.state_dict()[k], v) for k, v in upstream.items())
    assert runner.ignored_encoder_tensors == ["adapter.weight"]
    spec = run_spec(Algorithm(), tmp_path / "b")
    spec.encoder_state = {k: v for k, v in upstream.items() if not k.startswith("layers.1")}
    with pytest.raises(RunError, match="lacks 2 of the encoder's tensors"):
        Runner(spec)._build()


def test_the_pretrained_reference_is_the_encoder_a_run_of_that_seed_starts_from(upstream, tmp_path):
    from climb_harness.api import Algorithm
    from climb_harness.core.engine import Runner
    from climb_harness.testing.runs import run_spec

    registry = Registry([TEST_PLUGIN])
    transfer = Transfer(find_runs([upstream]), registry, tmp_path / "t", tasks=[{"name": "synthetic-shade"}],
                        shots=["4/class"], seeds=[1], echo=lambda line: None)
    task = transfer._task("synthetic-shade")
    reference = transfer._pretrained_state(0, task)
    runner = Runner(run_spec(Algorithm(), tmp_path / "p1", seed=0, encoder_factory=lambda: registry.build("encoder", "tiny", {})))
    runner._build()
    initial = {k.removeprefix("encoder."): v for k, v in runner.ctx.initial_state.items() if k.startswith("encoder.")}
    assert initial.keys() == reference.keys() and all(torch.equal(initial[k], reference[k]) for k in initial)
    assert not all(torch.equal(reference[k], v) for k, v in transfer._pretrained_state(1, task).items())


def test_transfer_is_not_reported_when_the_reference_does_not_clear_random():
    def cell(source, seed, score):
        return {"source": source, "task": "t", "shots": "4/class", "seed": seed, "score": score, "random": 50.0,
                "algorithm": None if source == REF else "a", "upstream_seed": 0, "after_task": "x"}
    rows = summarise([cell(REF, 1, 48.0), cell(REF, 2, 60.0), cell("a/up", 1, 70.0), cell("a/up", 2, 70.0)])
    up = rows[1]
    assert up["low_shot_transfer"] is None and "does not clear the random baseline" in up["undefined"]
    assert up["pretrained"]["mean"] == 54.0  # the scores are still there
