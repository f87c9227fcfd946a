"""results.schema.json and the report views, on hand-built results dicts."""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from climb_harness.core import metrics
from climb_harness.report import tables as report
from climb_harness.core.schemas import validate

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "results.schema.json"
TASKS = ["vqa", "nlvr2"]


def make_results(algorithm="sequential_ft", seed=0, A=None, *, status="complete", seconds=10.0, memory=512.0):
    """A results.json dict as the runner writes it; metrics computed when the matrix is complete."""
    A = [[80.0, 10.0], [60.0, 90.0]] if A is None else A
    initial = [5.0, 20.0]
    random = {"vqa": 0.0, "nlvr2": 50.0}
    direct = {"vqa": 85.0, "nlvr2": None}
    complete = status == "complete"
    return {
        "schema_version": "1.1",
        "protocol": {"selection_split": "val", "report_split": "test"},
        "status": status,
        "tasks": list(TASKS),
        "algorithm": algorithm,
        "seed": seed,
        "accuracy_matrix": A,
        "initial_scores": initial,
        "best_epochs": [3, 1][: len(A)],
        "metrics": metrics.compute_all(A, initial, random, direct, TASKS) if complete else {},
        "references": {
            "random": random,
            "direct": direct,
            "direct_source": {"vqa": "runs/singletask_ft/vqa"},
        },
        "provenance": {
            "harness_version": "0.1.0",
            "api_version": "1.0",
            "plugins": [{"distribution": "climb-easyvqa", "version": "0.1.0", "plugin": "easyvqa"}],
            "git_revision": None,
            "seed": seed,
            "device": "cpu",
            "python": "3.12.3",
            "torch": "2.13.0",
            "transformers": "4.57.6",
            "platform": "Linux-x86_64",
            "started_at": "2025-01-01T10:00:00+00:00",
            "finished_at": "2025-01-01T10:05:00+00:00" if complete else None,
        },
        "timing": {
            "per_task_seconds": {"vqa": seconds / 2, "nlvr2": seconds / 2},
            "total_seconds": seconds,
            "peak_memory_mb": memory,
        },
        "config": {"encoder": {"name": "tiny"}, "epochs": 1},
    }


# --------------------------------------------------------------------------- schema
def test_results_schema_is_a_valid_draft_2020_12_schema():
    schema = json.loads(SCHEMA_PATH.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    jsonschema.Draft202012Validator.check_schema(schema)


def test_hand_written_samples_are_valid():
    done = make_results()
    assert validate("results", done) == []
    assert validate("results", json.loads(json.dumps(done, allow_nan=False))) == []
    running = make_results(A=[[80.0, 10.0]], status="running")  # one task of two done, no metrics yet
    running["timing"]["per_task_seconds"] = {"vqa": 5.0}
    running["test_accuracy_matrix"] = [[79.0, 11.0]]
    assert validate("results", running) == []


@pytest.mark.parametrize(
    "breakage, path",
    [
        (lambda r: r.pop("seed"), "$"),
        (lambda r: r.update(extra=1), "$"),
        (lambda r: r.update(status="done"), "$.status"),
        (lambda r: r["accuracy_matrix"][1].__setitem__(0, 101.0), "$.accuracy_matrix[1][0]"),
        (lambda r: r["metrics"].update(accuracy=1.0), "$.metrics"),
        (lambda r: r["metrics"]["forgetting"].update({"vqa": {}}), "$.metrics.forgetting"),
        (lambda r: r["references"].pop("direct"), "$.references"),
        (lambda r: r["provenance"]["plugins"][0].pop("version"), "$.provenance.plugins[0]"),
        (lambda r: r["provenance"].pop("git_revision"), "$.provenance"),
        (lambda r: r["timing"].update(total_seconds=-1), "$.timing.total_seconds"),
        (lambda r: r.update(tasks=["vqa", "vqa"]), "$.tasks"),
    ],
)
def test_broken_results_are_rejected(breakage, path):
    results = make_results()
    breakage(results)
    problems = validate("results", results)
    assert problems, "the broken results validated"
    assert path in [p.path for p in problems]


# --------------------------------------------------------------------------- format_matrix
def test_format_matrix_aligns_columns_and_labels_rows():
    text = report.format_matrix(TASKS, [[80.0, 10.0], [60.0, 90.5]], initial=[5.0, 20.0])
    assert text.splitlines() == [
        "               vqa  nlvr2",
        "initial       5.00  20.00",
        "after vqa    80.00  10.00",
        "after nlvr2  60.00  90.50",
    ]


def test_format_matrix_of_a_running_run_and_bad_rows():
    text = report.format_matrix(["a", "longer_name"], [[1.0, 2.0]])
    lines = text.splitlines()
    assert len(lines) == 2 and lines[1].startswith("after a") and "longer_name" in lines[0]
    assert len({line.rfind(".") for line in lines[1:]}) == 1
    with pytest.raises(ValueError, match="one score per task"):
        report.format_matrix(TASKS, [[1.0]])
    with pytest.raises(ValueError, match="only 2 tasks"):
        report.format_matrix(TASKS, [[1.0, 2.0]] * 3)


# --------------------------------------------------------------------------- metrics_table
def _table_rows(markdown: str) -> list[list[str]]:
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in markdown.splitlines()]
    assert set(rows[1]) <= {"---", "---:"}, "the second line must be the Markdown separator"
    return [rows[0], *rows[2:]]


def test_metrics_table_one_row_per_run():
    runs = [
        make_results(seed=1),
        make_results("ewc", seed=2, A=[[70.0, 30.0], [65.0, 80.0]]),
        make_results("er", A=[[80.0, 10.0]], status="running"),
    ]
    rows = _table_rows(report.metrics_table(runs))
    assert rows[0] == ["algorithm", "seed", "status", "avg acc", "AMF", "BWT", "mean KT"]
    assert rows[1][:3] == ["sequential_ft", "1", "complete"]
    # seq: avg (60 + 90) / 2 = 75; AMF 80 - 60 = 20; BWT -20; mean KT over tasks 1.. = nlvr2's, which has
    # no direct reference: undefined (vqa's KT is task 0's, left out of the mean)
    assert rows[1][3:] == ["75.00", "20.00", "-20.00", "—"]
    # ewc: avg 72.5; AMF 5; BWT -5
    assert rows[2][3:] == ["72.50", "5.00", "-5.00", "—"]
    assert rows[3][:3] == ["er", "0", "running"] and set(rows[3][3:]) == {"—"}


def test_scalar_metrics_computed_when_missing():
    run = make_results()
    expected = report.scalar_metrics(run)
    run["metrics"] = {}
    assert report.scalar_metrics(run) == expected
    run["metrics"] = {"knowledge_transfer": {"vqa": 4.0, "nlvr2": -6.0}, "average_accuracy": 1.0}
    assert report.scalar_metrics(run)["mean_knowledge_transfer"] == -6.0  # tasks 1..T-1 only
    assert report.scalar_metrics(run)["average_accuracy"] == 1.0  # stored values win


# --------------------------------------------------------------------------- aggregate
def test_aggregate_groups_by_algorithm_over_seeds():
    runs = [
        make_results("seq", 0, [[80.0, 10.0], [60.0, 90.0]], seconds=10.0, memory=100.0),  # avg 75
        make_results("seq", 1, [[80.0, 10.0], [70.0, 100.0]], seconds=20.0, memory=300.0),  # avg 85
        make_results("ewc", 0, [[70.0, 30.0], [65.0, 80.0]], seconds=40.0, memory=200.0),
        make_results("seq", 2, [[80.0, 10.0]], status="running"),
    ]
    agg = report.aggregate(runs)
    assert list(agg) == ["seq", "ewc"]
    seq = agg["seq"]
    assert seq["runs"] == 2 and seq["incomplete_runs"] == 1 and seq["seeds"] == [0, 1]
    # mean (75 + 85) / 2 = 80; sample std sqrt(50); without per-example scores the interval is the
    # t-interval over seeds: t(0.975, 1) = 12.706 times sqrt(50) / sqrt(2) = 5
    acc = seq["average_accuracy"]
    assert (acc["mean"], acc["std"], acc["n"]) == (pytest.approx(80.0), pytest.approx(math.sqrt(50)), 2)
    assert (acc["low"], acc["high"]) == pytest.approx((80.0 - 12.706 * 5.0, 80.0 + 12.706 * 5.0), rel=1e-4)
    # BWT: -20 and -10 -> mean -15, std sqrt(50)
    assert seq["bwt"]["mean"] == pytest.approx(-15.0) and seq["bwt"]["std"] == pytest.approx(math.sqrt(50))
    assert seq["wall_time_s"]["mean"] == pytest.approx(15.0)
    memory = seq["peak_memory_mb"]
    assert memory["mean"] == pytest.approx(200.0) and memory["std"] == pytest.approx(math.sqrt(20000))
    assert memory["low"] == 0.0  # a cost's interval stops at zero
    # a single run without per-example scores has a mean and no interval
    single = agg["ewc"]["average_accuracy"]
    assert single["mean"] == pytest.approx(72.5) and single["std"] is None and single["low"] is None


def test_aggregate_skips_undefined_values_and_refuses_to_pool_experiments():
    a, b = make_results(seed=0), make_results(seed=1)
    b["metrics"]["bwt"] = None
    b["timing"]["peak_memory_mb"] = None
    agg = report.aggregate([a, b])["sequential_ft"]
    assert agg["bwt"]["mean"] == pytest.approx(-20.0) and agg["bwt"]["n"] == 1 and agg["bwt"]["low"] is None
    assert agg["peak_memory_mb"]["n"] == 1
    c = copy.deepcopy(a)
    c["seed"] = 2
    c["tasks"] = ["nlvr2", "vqa"]  # another task order is another experiment (its fingerprint differs)
    with pytest.raises(ValueError, match="2 different experiments"):
        report.aggregate([a, c])


def test_aggregate_table_shows_mean_and_interval():
    runs = [
        make_results("seq", 0, [[80.0, 10.0], [60.0, 90.0]], seconds=10.0, memory=100.0),
        make_results("seq", 1, [[80.0, 10.0], [70.0, 100.0]], seconds=20.0, memory=300.0),
        make_results("ewc", 0, [[70.0, 30.0], [65.0, 80.0]], seconds=40.0, memory=200.0),
    ]
    table = report.aggregate_table(runs)
    assert table == report.aggregate_table(report.aggregate(runs))
    rows = _table_rows(table.split("\n\n")[0])
    assert rows[0] == ["algorithm", "seeds", "avg acc", "AMF", "BWT", "mean KT", "wall time (s)", "peak mem (MiB)"]
    half = 12.706 * 5.0
    assert rows[1][:3] == ["seq", "2", f"80.00 [{80 - half:.2f}, {80 + half:.2f}]"]
    assert rows[2][:3] == ["ewc", "1", "72.50"]
    assert "Student t" in table


def test_report_module_does_not_import_torch():
    code = "import sys, climb_harness.report.tables; sys.exit(1 if 'torch' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_methods_that_did_not_learn_are_marked():
    learned = make_results("seq", 0)
    idle = make_results("frozen", 0)
    idle["metrics"]["mean_knowledge_transfer"] = -80.0
    rows = _table_rows(report.aggregate_table([learned, idle]))
    assert rows[1][0] == "seq" and rows[2][0] == "frozen †"
    assert report.did_not_learn({"mean_knowledge_transfer": {"mean": -50.5}})
    assert not report.did_not_learn({"mean_knowledge_transfer": {"mean": -49.5}})
    assert not report.did_not_learn({"mean_knowledge_transfer": {"mean": None}})


def test_legacy_results_are_read_and_never_mixed_with_current_ones():
    current = make_results("seq", 0)
    legacy = make_results("seq", 1)
    legacy["schema_version"] = "1.0"
    del legacy["protocol"]
    legacy["eval_split"] = "val"
    legacy["metrics"]["knowledge_transfer"] = {"vqa": 10.0, "nlvr2": -30.0}
    legacy["metrics"]["mean_knowledge_transfer"] = -10.0  # 1.0 averaged task 0 in
    assert report.scalar_metrics(legacy)["mean_knowledge_transfer"] == -30.0
    with pytest.raises(ValueError, match="2 different experiments"):  # the protocols differ
        report.aggregate([current, legacy])
