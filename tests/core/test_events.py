"""The JSON-lines event log of every run, and the costs results.json records per task."""

from __future__ import annotations

from collections import Counter

import pytest

from climb_harness.api import Algorithm
from climb_harness.core.events import EVENTS_FILE, read_events
from climb_harness.core.engine import Runner
from climb_harness.testing.runs import run_spec


def test_one_record_per_epoch_and_task_and_resume_appends(tmp_path):
    spec = run_spec(Algorithm(), tmp_path / "run", epochs=2, stop_after=0)
    with pytest.raises(BaseException):
        Runner(spec).run()
    spec.hooks = None
    results = Runner(spec).run(resume=True)
    events = read_events(tmp_path / "run" / EVENTS_FILE)
    kinds = Counter(e["event"] for e in events)
    assert kinds == {"run_start": 2, "task_start": 2, "epoch_end": 4, "task_end": 2, "run_end": 1}
    starts = [e for e in events if e["event"] == "run_start"]
    assert [s["resumed_after"] for s in starts] == [None, 1]
    epochs = [e for e in events if e["event"] == "epoch_end"]
    assert [(e["task"], e["epoch"]) for e in epochs] == [("colours", 0), ("colours", 1), ("yesno", 0), ("yesno", 1)]
    assert all(e["train_loss"] > 0 and 0 <= e["selection_score"] <= 100 and e["examples"] > 0 for e in epochs)
    ends = [e for e in events if e["event"] == "task_end"]
    assert ends[-1]["scores"] == dict(zip(results["tasks"], results["accuracy_matrix"][-1]))
    assert events[-1]["event"] == "run_end" and events[-1]["metrics"]["average_accuracy"] == results["metrics"]["average_accuracy"]


def test_results_record_throughput_and_memory_per_task(tmp_path):
    results = Runner(run_spec(Algorithm(), tmp_path / "run", epochs=2)).run()
    timing = results["timing"]
    assert set(timing["per_task"]) == set(results["tasks"])
    for name, costs in timing["per_task"].items():
        assert costs["train_examples"] == 2 * 48  # two epochs over the 48 training examples
        assert costs["train_examples_per_second"] > 0 and costs["eval_examples_per_second"] > 0
        assert costs["train_seconds"] + costs["eval_seconds"] <= costs["seconds"] + 1e-3
        assert costs["eval_examples"] >= 2 * 48  # every epoch scores the selection split, then the report row
    assert timing["peak_rss_mb"] > 0 and timing["peak_accelerator_mb"] is None  # CPU


def test_an_unwritable_event_log_warns_once_and_the_run_goes_on(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / EVENTS_FILE).mkdir()  # a folder where the log should be
    spec = run_spec(Algorithm(), tmp_path / "run")
    lines = []
    spec.echo = lines.append
    results = Runner(spec).run()
    assert results["status"] == "complete"
    warnings = [line for line in lines if "event log" in line]
    assert len(warnings) == 1 and EVENTS_FILE in warnings[0]


def test_a_half_written_last_line_is_skipped(tmp_path):
    path = tmp_path / EVENTS_FILE
    path.write_text('{"event": "run_start"}\n{"event": "epo')
    assert read_events(path) == [{"event": "run_start"}]
