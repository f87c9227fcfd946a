"""climb_harness.report.html: report.md links files that exist; report.html is one self-contained page."""

from __future__ import annotations

import base64
import io
import re

import pytest

pytest.importorskip("matplotlib")
from PIL import Image  # noqa: E402

from climb_harness.report.html import markdown_to_html, write_report  # noqa: E402
from climb_harness.report.tables import ReportError, format_matrix  # noqa: E402
from climb_harness.testing.results import results_dict  # noqa: E402

TASKS = ["vqa", "nlvr2", "snli-ve"]
RANDOM = {"vqa": 0.0, "nlvr2": 50.0, "snli-ve": 33.3}
DIRECT = {"vqa": 70.0, "nlvr2": 75.0, "snli-ve": 80.0}
A = [[68.0, 50.0, 33.0], [60.0, 74.0, 34.0], [55.0, 66.0, 79.0]]


def make_results(algorithm, seed, A=A, *, status="complete"):
    """A results dict shaped like the runner's (schema 1.1)."""
    return results_dict(TASKS, A, algorithm=algorithm, seed=seed, random=RANDOM, direct=DIRECT, initial=[20.0, 50.0, 33.0],
                        ci_half=2.0, status=status, seconds=12.0 + seed, options={"memory_size": 500} if algorithm == "er" else {})


def stat(mean, ci95=1.5):
    return {"mean": mean, "std": 1.0, "n": 3, "ci95": ci95}


def make_transfer():
    """A transfer.json dict: the pretrained reference and one upstream checkpoint, on one task."""
    common = {"task": "fashion-mnist", "shots": "16/class", "seeds": [10, 50, 100], "random": 10.0}
    return {
        "schema_version": "1.0", "kind": "transfer", "status": "complete", "runs": ["runs/ewc/seed-0"],
        "encoder": {"name": "vl-minilm"},
        "protocol": {"selection_split": "val", "report_split": "test", "seeds": [10, 50, 100], "epochs": 10,
                     "lr": 4e-05, "batch_size": 32, "checkpoints": "last", "later_tasks": False, "sampling": "stratified"},
        "cells": [],
        "summary": [
            {**common, "source": "pretrained/seed-0", "algorithm": None, "upstream_seed": 0, "after_task": None,
             "score": stat(60.0), "pretrained": None, "low_shot_transfer": None,
             "low_shot_transfer_per_seed": None, "undefined": "reference"},
            {**common, "source": "ewc/seed-0/after-3-snli-ve", "algorithm": "ewc", "upstream_seed": 0,
             "after_task": "snli-ve", "score": stat(55.0), "pretrained": stat(60.0), "low_shot_transfer": -10.0,
             "low_shot_transfer_per_seed": stat(-10.0, 2.0), "undefined": None},
        ],
        "provenance": {}, "timing": {"total_seconds": 3.0},
    }


RUNS = [
    make_results("ewc", 0),
    make_results("ewc", 1, [[r + 3 for r in row] for row in A]),
    make_results("er", 0, [[68.0, 50.0, 33.0], [66.0, 74.0, 34.0], [64.0, 72.0, 79.0]]),
    make_results("er", 1, A[:2], status="running"),
]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return out, write_report(RUNS, [make_transfer()], out)


def test_writes_both_formats_and_the_figures(report):
    out, written = report
    assert written["md"] == out / "report.md" and written["html"] == out / "report.html"
    figures = {k for k in written if k.startswith("figures/")}
    assert figures == {
        "figures/method-comparison.png", "figures/sequence-ewc.png", "figures/sequence-er.png",
        "figures/heatmap-ewc-seed-0.png", "figures/heatmap-ewc-seed-1.png", "figures/heatmap-er-seed-0.png",
        "figures/heatmap-er-seed-1.png", "figures/forgetting-ewc-seed-0.png", "figures/forgetting-ewc-seed-1.png",
        "figures/forgetting-er-seed-0.png",  # not for the run still going
    }
    for key in figures:
        assert written[key] == out / key and written[key].is_file()


def test_markdown_links_point_at_files_that_exist(report):
    out, written = report
    text = written["md"].read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    assert len(links) == 10
    for link in links:
        assert not link.startswith(("/", "http")) and (out / link).is_file(), link


def test_markdown_holds_leaderboard_matrices_and_phase_ii(report):
    text = report[1]["md"].read_text(encoding="utf-8")
    assert "## Leaderboard" in text and "| rank | method |" in text and "| 500 |" in text
    assert format_matrix(TASKS, A, [20.0, 50.0, 33.0]) in text
    assert "Phase II low-shot transfer" in text and "ewc/seed-0/after-3-snli-ve" in text and "-10.00 ± 2.00" in text


def test_html_refers_to_nothing_outside_itself(report):
    page = report[1]["html"].read_text(encoding="utf-8")
    assert "http" not in page  # not even in the embedded PNGs: they carry no Software URL
    assert "<script" not in page.lower() and "<link" not in page.lower() and "@import" not in page
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', page)
    assert refs and all(r.startswith(("data:image/png;base64,", "#")) for r in refs)
    anchors = set(re.findall(r'id="([^"]+)"', page))
    assert {r[1:] for r in refs if r.startswith("#")} <= anchors


def test_every_image_is_an_embedded_png(report):
    page = report[1]["html"].read_text(encoding="utf-8")
    sources = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(sources) == 10
    prefix = "data:image/png;base64,"
    for src in sources:
        assert src.startswith(prefix)
        data = base64.b64decode(src[len(prefix):], validate=True)
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            assert image.size == (640, 480)


def test_html_has_the_tables_as_html(report):
    page = report[1]["html"].read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert page.count("<table>") == 3  # leaderboard, runs, Phase II
    assert '<td class="num">' in page and "<pre>" in page


def test_markdown_only(tmp_path):
    written = write_report(RUNS[:1], None, tmp_path, formats=("md",))
    assert "html" not in written and not (tmp_path / "report.html").exists()
    assert written["md"].is_file() and (tmp_path / "figures" / "heatmap-ewc-seed-0.png").is_file()


def test_phase_ii_alone(tmp_path):
    written = write_report([], [make_transfer()], tmp_path)
    assert set(written) == {"md", "html"}
    assert "<table>" in written["html"].read_text(encoding="utf-8")


def test_bad_calls_are_report_errors(tmp_path):
    with pytest.raises(ReportError, match="unknown report format"):
        write_report(RUNS, None, tmp_path, formats=("pdf",))
    with pytest.raises(ReportError, match="nothing to report"):
        write_report([], [], tmp_path)


def test_markdown_to_html_escapes_and_groups():
    out = markdown_to_html("a <b>\nc\n\n| x | y |\n| --- | ---: |\n| 1 & 2 | 3 |\n\n- note")
    assert out.splitlines()[0] == "<p>a &lt;b&gt; c</p>"
    assert "<td>1 &amp; 2</td><td class=\"num\">3</td>" in out and '<ul class="notes"><li>note</li></ul>' in out


def test_climb_report_writes_the_folder_and_refuses_a_file_failing_its_schema(tmp_path):
    import json

    from click.testing import CliRunner

    from climb_harness.api import Algorithm
    from climb_harness.cli import main
    from climb_harness.core.engine import Runner
    from climb_harness.testing.runs import run_spec

    runs = tmp_path / "runs"
    for seed in (0, 1):
        Runner(run_spec(Algorithm(), runs / f"seed-{seed}", seed=seed)).run()
    out = tmp_path / "report"
    result = CliRunner().invoke(main, ["report", str(runs), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "report.md").is_file() and (out / "report.html").is_file()
    assert len(list((out / "figures").glob("*.png"))) >= 5 and "| rank | method |" in result.output
    bad = runs / "seed-0" / "results.json"
    bad.write_text(json.dumps({**json.loads(bad.read_text()), "accuracy_matrix": "not a matrix"}))
    refused = CliRunner().invoke(main, ["report", str(runs), "--output", str(tmp_path / "again")])
    assert refused.exit_code != 0 and str(bad) in refused.output and "Traceback" not in refused.output
