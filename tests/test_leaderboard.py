"""climb_harness.leaderboard: per-metric ranks, the Borda order, † methods last, memory budgets, Markdown."""

from __future__ import annotations

import pytest

from climb_harness import metrics
from climb_harness.leaderboard import leaderboard, leaderboard_markdown, memory_budget, ranks
from climb_harness.report import ReportError
from climb_harness.testing.results import results_dict

TASKS = ["a", "b"]
RANDOM = {"a": 0.0, "b": 0.0}
DIRECT = {"a": 80.0, "b": 80.0}


def make_results(algorithm, A, *, seed=0, seconds=10.0, options=None, status="complete"):
    """A results dict with CLiMB metrics of a 2-task matrix; with 2 tasks and these references:
    avg acc = (A10 + A11) / 2, AMF = A00 - A10, BWT = -AMF, mean KT = 100 (A11 - 80) / 80."""
    return results_dict(TASKS, A, algorithm=algorithm, seed=seed, random=RANDOM, direct=DIRECT, initial=[10.0, 10.0],
                        ci_half=None, status=status, seconds=seconds, options=options)


#                     acc  AMF   BWT  mean KT  wall
# alpha   80   10   -10    12.5    30
# beta    80    0     0     0      10
# gamma   60   40   -40     0      20
# delta   50    0     0   -75      5   (did not learn: KT < -50)
RUNS = [
    make_results("gamma", [[80.0, 0.0], [40.0, 80.0]], seconds=20.0),
    make_results("delta", [[80.0, 0.0], [80.0, 20.0]], seconds=5.0),
    make_results("beta", [[80.0, 0.0], [80.0, 80.0]], seconds=10.0, options={"memory_size": 1000}),
    make_results("alpha", [[80.0, 0.0], [70.0, 90.0]], seconds=30.0),
]


def by_method(rows):
    return {row["method"]: row for row in rows}


def test_ranks_average_ties_and_put_undefined_last():
    assert ranks([3.0, 1.0, 3.0, None], higher_is_better=True) == [1.5, 3.0, 1.5, 4.0]
    assert ranks([3.0, 1.0, 3.0, None], higher_is_better=False) == [2.5, 1.0, 2.5, 4.0]
    assert ranks([None, None], higher_is_better=True) == [1.5, 1.5]
    assert ranks([], higher_is_better=True) == []


def test_rank_of_each_method_on_each_metric():
    rows = by_method(leaderboard(RUNS))
    expected = {  # avg acc, AMF, BWT, mean KT, wall time
        "alpha": [1.5, 3.0, 3.0, 1.0, 4.0],
        "beta": [1.5, 1.5, 1.5, 2.5, 2.0],
        "gamma": [3.0, 4.0, 4.0, 2.5, 3.0],
        "delta": [4.0, 1.5, 1.5, 4.0, 1.0],
    }
    keys = ["average_accuracy", "average_max_forgetting", "bwt", "mean_knowledge_transfer", "wall_time_s"]
    for name, want in expected.items():
        assert [rows[name]["metrics"][k]["rank"] for k in keys] == want, name
    assert rows["delta"]["metrics"]["mean_knowledge_transfer"]["mean"] == pytest.approx(-75.0)


def test_borda_order_and_the_method_that_did_not_learn_last():
    rows = leaderboard(RUNS)
    # beats on avg acc, AMF, mean KT: alpha 2+1+3, beta 2+2+1, gamma 1+0+1, delta 0+2+0
    # (BWT and wall time are shown and ranked, not counted)
    assert [(r["method"], r["borda"], r["overall_rank"]) for r in rows] == [
        ("alpha", 6, 1.0), ("beta", 5, 2.0), ("gamma", 2, 3.0), ("delta", 2, 4.0)]
    assert [r["did_not_learn"] for r in rows] == [False, False, False, True]


def test_equal_methods_share_the_overall_rank_and_are_listed_by_name():
    same = [make_results("zeta", [[80.0, 0.0], [70.0, 90.0]]), make_results("eta", [[80.0, 0.0], [70.0, 90.0]])]
    assert [(r["method"], r["overall_rank"]) for r in leaderboard(same)] == [("eta", 1.5), ("zeta", 1.5)]


def test_wall_time_does_not_change_the_overall_rank():
    faster = [dict(r, timing={**r["timing"], "total_seconds": 1.0}) if r["algorithm"] == "gamma" else r
              for r in RUNS]
    rows = leaderboard(faster)
    assert by_method(rows)["gamma"]["metrics"]["wall_time_s"]["rank"] == 1.0
    assert [r["method"] for r in rows] == ["alpha", "beta", "gamma", "delta"]


def test_mean_and_std_over_seeds():
    runs = [make_results("alpha", [[80.0, 0.0], [70.0, 90.0]], seed=0),
            make_results("alpha", [[80.0, 0.0], [60.0, 80.0]], seed=1),
            make_results("alpha", [[80.0, 0.0], [60.0, 80.0]], seed=2, status="running")]
    (row,) = leaderboard(runs)
    acc = row["metrics"]["average_accuracy"]
    assert (row["runs"], row["incomplete_runs"], row["seeds"]) == (2, 1, [0, 1])
    assert acc["mean"] == pytest.approx(75.0) and acc["std"] == pytest.approx(7.0710678) and acc["n"] == 2
    assert "75.00 ± 7.07 (1)" in leaderboard_markdown([row]) and "2 (+1 incomplete)" in leaderboard_markdown([row])


def test_different_task_orders_of_one_method_are_refused():
    other = dict(make_results("alpha", [[80.0, 0.0], [70.0, 90.0]], seed=1), tasks=["b", "a"])
    with pytest.raises(ReportError, match="task orders"):
        leaderboard([RUNS[3], other])


@pytest.mark.parametrize(("options", "text"), [
    ({"memory_size": 1000, "memories_per_task": 250}, "1000"),
    ({"memory_size": None, "memories_per_task": 250}, "250/task"),
    ({"n_memories": 65}, "65/task"),
    ({"memory_percentage": 0.01}, "1% of each task"),
    ({"replay_frequency": 5}, None),
    ({"memory_size": True}, None),
])
def test_memory_budget_from_the_algorithm_options(options, text):
    assert memory_budget(make_results("er", [[80.0, 0.0], [70.0, 90.0]], options=options)) == text


def test_memory_budget_of_a_config_without_algorithm():
    assert memory_budget({"config": {}}) is None and memory_budget({}) is None


def test_markdown_table():
    text = leaderboard_markdown(leaderboard(RUNS))
    lines = text.splitlines()
    assert lines[0] == ("| rank | method | runs | memory | avg acc ↑ | AMF ↓ | BWT ↑ | mean KT ↑ | wall time (s) ↓ "
                        "| Borda |")
    assert lines[2] == ("| 1 | alpha | 1 | — | 80.00 (1.5) | 10.00 (3) | -10.00 (3) | 12.50 (1) | 30.0 (4) | 6 |")
    assert lines[3].startswith("| 2 | beta | 1 | 1000 | 80.00 (1.5) | 0.00 (1.5) |")
    assert lines[5].startswith("| 4 | delta † |")
    assert "Borda count" in text and "† did not learn" in text and "delta" in text.split("† did not learn")[1]
    assert all(line.count("|") == 11 for line in lines[:6])  # 10 columns


def test_markdown_of_an_undefined_metric_says_so():
    one_task = make_results("solo", [[80.0, 0.0], [70.0, 90.0]])
    A = [[70.0]]
    one_task.update(tasks=["a"], accuracy_matrix=A,
                    metrics=metrics.compute_all(A, None, {"a": 0.0}, {"a": 80.0}, ["a"]))
    (row,) = leaderboard([one_task])
    assert row["metrics"]["average_max_forgetting"]["mean"] is None
    assert "— (1)" in leaderboard_markdown([row])
    assert "did not learn" not in leaderboard_markdown([row])
