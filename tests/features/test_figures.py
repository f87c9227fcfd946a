"""climb_harness.report.figures: every PNG opens at its size and shows something; the structure of each figure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")
from PIL import Image  # noqa: E402

from climb_harness.core import metrics  # noqa: E402
from climb_harness.report import figures  # noqa: E402
from climb_harness.core.comparison import mean_std  # noqa: E402
from climb_harness.report.values import ReportError  # noqa: E402
from climb_harness.testing.results import results_dict  # noqa: E402

TASKS = ["vqa", "nlvr2", "snli-ve"]
RANDOM = {"vqa": 0.0, "nlvr2": 50.0, "snli-ve": 33.3}
DIRECT = {"vqa": 70.0, "nlvr2": 75.0, "snli-ve": 80.0}
A = [[68.0, 50.0, 33.0], [60.0, 74.0, 34.0], [55.0, 66.0, 79.0]]


def make_results(algorithm="ewc", seed=0, A=A, *, status="complete", random=RANDOM, seconds=10.0, initial=True):
    """A results.json dict shaped like the runner's (schema 1.1), metrics from compute_all."""
    return results_dict(TASKS, A, algorithm=algorithm, seed=seed, random=random, direct=DIRECT,
                        initial=[20.0, 50.0, 33.0] if initial else None, status=status, seconds=seconds)


def check_png(path: Path, size=(640, 480), ink: float = 0.05) -> None:
    """The file is a PNG of ``size`` pixels with a drawing on it (many colours, not mostly white)."""
    assert path.is_file()
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == size
        rgb = image.convert("RGB")
    colours = rgb.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50
    pixels = size[0] * size[1]
    white = sum(count for count, colour in colours if min(colour) >= 250)
    assert (pixels - white) / pixels > ink


def diagonal_boxes(fig):
    return [p for p in fig.axes[0].patches if p.get_gid() == figures.DIAGONAL_GID]


def all_text(fig) -> str:
    texts = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        texts += [t.get_text() for t in ax.texts] + [ax.get_title()]
    return "\n".join(texts)


# --------------------------------------------------------------------------- PNGs
@pytest.mark.parametrize("draw", ["heatmap", "sequence", "forgetting", "comparison"])
def test_every_figure_is_a_png_of_its_size_with_a_drawing(tmp_path, draw):
    runs = [make_results("ewc", 0), make_results("ewc", 1, [[r + 2 for r in row] for row in A])]
    call = {
        "heatmap": lambda p: figures.accuracy_heatmap(runs[0], p),
        "sequence": lambda p: figures.accuracy_over_sequence(runs, p),
        "forgetting": lambda p: figures.forgetting_per_task(runs[0], p),
        "comparison": lambda p: figures.method_comparison(runs + [make_results("sequential-ft", 0)], p),
    }[draw]
    path = tmp_path / "sub" / f"{draw}.png"
    assert call(path) == path
    check_png(path)


def test_size_and_dpi_set_the_pixels(tmp_path):
    path = figures.accuracy_heatmap(make_results(), tmp_path / "h.png", size=(4.0, 3.0), dpi=50)
    check_png(path, (200, 150))


def test_png_carries_no_url(tmp_path):
    data = figures.method_comparison([make_results()], tmp_path / "m.png").read_bytes()
    assert b"http" not in data and b"Software" not in data


def test_importing_figures_does_not_import_matplotlib():
    code = "import sys, climb_harness.report.figures, climb_harness.report.leaderboard, climb_harness.report.html; " \
           "print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- heatmap
def test_heatmap_boxes_every_diagonal_cell_below_the_initial_row():
    fig = figures.accuracy_heatmap_figure(make_results())
    boxes = diagonal_boxes(fig)
    assert len(boxes) == 3
    assert sorted(b.get_xy() for b in boxes) == [(-0.5, 0.5), (0.5, 1.5), (1.5, 2.5)]  # row 0 is "initial"
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["initial", "after vqa", "after nlvr2", "after snli-ve"]


def test_heatmap_cells_hold_score_and_bootstrap_interval():
    text = all_text(figures.accuracy_heatmap_figure(make_results()))
    assert "68.0\n[65.0, 71.0]" in text
    assert "20.0\n[17.0, 23.0]" in text  # the initial row has its interval too


def test_heatmap_of_a_running_run_without_initial_scores():
    running = make_results(A=A[:2], status="running", initial=False)
    fig = figures.accuracy_heatmap_figure(running)
    assert [b.get_xy() for b in diagonal_boxes(fig)] == [(-0.5, -0.5), (0.5, 0.5)]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["after vqa", "after nlvr2"]


def test_heatmap_colour_scale_is_0_to_100():
    image = figures.accuracy_heatmap_figure(make_results()).axes[0].images[0]
    assert image.get_clim() == (0, 100)


def test_heatmap_without_scores_is_a_report_error():
    with pytest.raises(ReportError, match="no scores"):
        figures.accuracy_heatmap_figure(make_results(A=[], status="running", initial=False))


# --------------------------------------------------------------------------- over the sequence
def test_sequence_band_is_the_t_interval_over_seeds_or_the_bootstrap_of_one_run():
    runs = [make_results(seed=0), make_results(seed=1, A=[[r + 4 for r in row] for row in A])]
    scores = [r["accuracy_matrix"][2] for r in runs]
    stat = mean_std([s[0] for s in scores])
    mean, low, high = figures._point(scores, [r["accuracy_matrix_ci"][2] for r in runs], 0)
    assert mean == pytest.approx(57.0) and high - mean == pytest.approx(stat["ci95"]) and mean - low == pytest.approx(stat["ci95"])
    assert figures._point([scores[0]], [runs[0]["accuracy_matrix_ci"][2]], 0) == (55.0, 52.0, 58.0)


def test_sequence_draws_a_line_and_a_band_per_task():
    fig = figures.accuracy_over_sequence_figure([make_results(seed=0), make_results(seed=1)])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == TASKS
    assert len(ax.collections) == 3  # one band per task
    assert [t.get_text() for t in ax.get_xticklabels()] == ["initial", "after vqa", "after nlvr2", "after snli-ve"]
    assert "2 seeds" in ax.get_title() and "t-interval" in all_text(fig)


def test_sequence_needs_one_algorithm():
    with pytest.raises(ReportError, match="several algorithms"):
        figures.accuracy_over_sequence_figure([make_results("ewc"), make_results("er")])
    with pytest.raises(ReportError, match="no runs"):
        figures.accuracy_over_sequence_figure([])


# --------------------------------------------------------------------------- forgetting
def bar_heights(fig):
    return sorted(round(p.get_height(), 6) for p in fig.axes[0].patches)


def test_forgetting_bars_are_climbs_values():
    results = make_results()
    F = metrics.forgetting(A, [RANDOM[t] for t in TASKS])
    fig = figures.forgetting_per_task_figure(results)
    assert bar_heights(fig) == sorted(round(v, 6) for row in F for v in row if v is not None)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["vqa", "nlvr2"]


def test_forgetting_leaves_out_nulls_and_says_why():
    # nlvr2 is learned to 50 = its random baseline: no gain to forget, so its forgetting is null
    learned_to_random = [[68.0, 50.0, 33.0], [60.0, 50.0, 34.0], [55.0, 50.0, 79.0]]
    results = make_results(A=learned_to_random)
    assert results["metrics"]["forgetting"]["after:snli-ve"]["nlvr2"] is None
    fig = figures.forgetting_per_task_figure(results)
    assert len(fig.axes[0].patches) == 2  # vqa after nlvr2 and after snli-ve
    assert "Left out, nlvr2 after snli-ve" in all_text(fig) and "no gain to forget" in all_text(fig)


def test_forgetting_reads_a_txt_list_and_computes_missing_metrics():
    results = make_results()
    F, _ = figures.forgetting_matrix(results)
    listed = dict(results, metrics={"forgetting": F})
    assert figures.forgetting_matrix(listed)[0] == F
    assert figures.forgetting_matrix(dict(results, metrics={}))[0] == F


def test_forgetting_of_one_task_says_there_is_none(tmp_path):
    one = make_results(A=[[70.0]], status="running")
    one.update(tasks=["vqa"], status="complete", initial_scores=[20.0], initial_scores_ci=[[17.0, 23.0]],
               metrics=metrics.compute_all([[70.0]], None, [0.0], None, ["vqa"]))
    fig = figures.forgetting_per_task_figure(one)
    assert "no forgetting value" in all_text(fig)
    check_png(figures.forgetting_per_task(one, tmp_path / "f.png"), ink=0.02)  # axes and a sentence only


# --------------------------------------------------------------------------- methods
def test_comparison_has_a_point_per_method_with_spread_over_seeds():
    runs = [make_results("ewc", 0), make_results("ewc", 1, [[r + 4 for r in row] for row in A]),
            make_results("sequential-ft", 0, [[68.0, 50.0, 33.0], [30.0, 74.0, 34.0], [20.0, 55.0, 79.0]])]
    fig = figures.method_comparison_figure(runs)
    ax = fig.axes[0]
    labels = sorted(t.get_text() for t in ax.texts if t.get_text() in ("ewc", "sequential-ft"))
    assert labels == ["ewc", "sequential-ft"]
    assert len(ax.containers) == 2  # one errorbar container per method
    ewc_bars = ax.containers[0]
    assert ewc_bars.has_yerr and ewc_bars.has_xerr
    assert "95% intervals of the means" in all_text(fig)


def test_comparison_marks_a_method_that_did_not_learn():
    # direct 70/75/80: a method scoring near random on every new task has knowledge transfer below -50
    flat = [[68.0, 50.0, 33.0], [68.0, 52.0, 34.0], [68.0, 52.0, 36.0]]
    fig = figures.method_comparison_figure([make_results("ewc"), make_results("frozen", A=flat)])
    text = all_text(fig)
    assert "frozen †" in text and "did not learn" in text
