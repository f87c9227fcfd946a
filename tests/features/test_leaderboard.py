"""climb_harness.report.leaderboard: ranks only where paired intervals separate methods, Holm over pairs, no ranks on one
seed, wins counted on forgetting once, † methods last, memory budgets, Markdown, grouping by experiment."""

from __future__ import annotations

import numpy as np
import pytest

from climb_harness.core import metrics
from climb_harness.report.grouping import Run, group_experiments
from climb_harness.report.leaderboard import compare, leaderboard, leaderboard_markdown, leaderboards, memory_budget
from climb_harness.report.tables import ReportError
from climb_harness.testing.results import results_dict

TASKS = ["a", "b"]
RANDOM = {"a": 0.0, "b": 0.0}
DIRECT = {"a": 80.0, "b": 80.0}


def make_results(algorithm, A, *, seed=0, seconds=10.0, options=None, status="complete", settings=None):
    """A results dict with CLiMB metrics of a 2-task matrix; with 2 tasks and these references:
    avg acc = (A10 + A11) / 2, AMF = A00 - A10, BWT = -AMF, mean KT = 100 (A11 - 80) / 80."""
    return results_dict(TASKS, A, algorithm=algorithm, seed=seed, random=RANDOM, direct=DIRECT, initial=[10.0, 10.0],
                        ci_half=None, status=status, seconds=seconds, options=options, settings=settings)


def seeds_of(algorithm, A, jitter, seeds=(0, 1, 2, 3, 4), **kw):
    """Runs of one method on several seeds: ``A`` plus a small per-seed jitter of every entry."""
    rng = np.random.default_rng(abs(hash(algorithm)) % 2**32)
    return [make_results(algorithm, (np.asarray(A) + rng.normal(0, jitter, (2, 2))).clip(0, 100).tolist(), seed=s, **kw)
            for s in seeds]


def by_method(rows):
    return {row["method"]: row for row in rows}


#                     acc  AMF   BWT  mean KT
# alpha   80   10   -10    12.5
# beta    80    0     0     0
# gamma   60   40   -40     0
# delta   50    0     0   -75   (did not learn: KT < -50)
METHODS = {"gamma": [[80.0, 0.0], [40.0, 80.0]], "delta": [[80.0, 0.0], [80.0, 20.0]],
           "beta": [[80.0, 0.0], [80.0, 80.0]], "alpha": [[80.0, 0.0], [70.0, 90.0]]}


def test_clear_differences_are_ranked_and_wins_count_forgetting_once():
    runs = [r for name, A in METHODS.items() for r in seeds_of(name, A, 0.5, options={"memory_size": 1000} if name == "beta" else None)]
    rows = by_method(leaderboard(runs))
    assert rows["alpha"]["metrics"]["mean_knowledge_transfer"]["rank"] == 1
    assert rows["gamma"]["metrics"]["average_max_forgetting"]["rank"] == 4  # all three others forget less
    assert rows["beta"]["metrics"]["average_max_forgetting"]["rank"] == 1
    assert rows["delta"]["metrics"]["average_max_forgetting"]["rank"] == 1  # beta and delta: no difference
    # wins on AMF and mean KT only: alpha beats gamma on AMF, and everyone but itself on KT (beta/gamma tie)
    assert rows["alpha"]["wins"] == 1 + 3
    assert [r["method"] for r in leaderboard(runs)][-1] == "delta"  # did not learn: last whatever its wins
    assert rows["beta"]["memory"] == "1000" and rows["alpha"]["rank_seeds"] == 5


def test_one_seed_per_method_is_not_ranked():
    runs = [make_results(name, A) for name, A in METHODS.items()]
    rows = leaderboard(runs)
    assert all(r["overall_rank"] is None and r["metrics"]["average_accuracy"]["rank"] is None for r in rows)
    text = leaderboard_markdown(rows)
    assert "Not ranked" in text and "(1)" not in text


def test_methods_from_one_distribution_share_ranks_and_a_large_gap_is_separated_over_many_draws():
    """Simulated experiments: two methods whose per-seed scores come from the same distribution are given equal
    ranks in at least ~95% of draws (Holm at 5%); a method 10 points better is separated in nearly every draw."""
    rng = np.random.default_rng(0)
    equal_ranks = separated = 0
    draws = 300
    for _ in range(draws):
        seed_effect = rng.normal(0, 3, size=5)  # what the seed does to every method alike (data order, heads)
        runs = []
        for name, shift in (("same-1", 0.0), ("same-2", 0.0), ("better", 10.0)):
            for s in range(5):
                value = 60 + shift + seed_effect[s] + rng.normal(0, 1.5)
                runs.append(make_results(name, [[value, 0.0], [value, value]], seed=s))
        rows = by_method(leaderboard(runs))
        ranks = {n: rows[n]["metrics"]["average_accuracy"]["rank"] for n in rows}
        equal_ranks += ranks["same-1"] == ranks["same-2"]
        separated += ranks["better"] == 1 and ranks["same-1"] >= 2 and ranks["same-2"] >= 2
    assert equal_ranks / draws >= 0.93
    assert separated / draws >= 0.95


def test_holm_makes_more_pairs_harder_to_separate():
    base = [r for name in ("a1", "a2") for r in seeds_of(name, METHODS["beta"], 1.0, seeds=(0, 1, 2))]
    pair = list(compare(group_experiments(base)[0], "average_accuracy").values())[0]
    assert pair["difference"] is not None and pair["seeds"] == 3
    crowd = base + [r for i in range(6) for r in seeds_of(f"m{i}", METHODS["beta"], 1.0, seeds=(0, 1, 2))]
    comparisons = compare(group_experiments(crowd)[0], "average_accuracy")
    assert len(comparisons) == 28  # 8 methods: all pairs
    same = comparisons[("a1", "a2")]
    assert same["difference"].p_value == pytest.approx(pair["difference"].p_value)


def test_mean_interval_and_incomplete_runs():
    runs = [make_results("alpha", [[80.0, 0.0], [70.0, 90.0]], seed=0),
            make_results("alpha", [[80.0, 0.0], [60.0, 80.0]], seed=1),
            make_results("alpha", [[80.0, 0.0], [60.0, 80.0]], seed=2, status="running")]
    (row,) = leaderboard(runs)
    acc = row["metrics"]["average_accuracy"]
    assert (row["runs"], row["incomplete_runs"], row["seeds"]) == (2, 1, [0, 1])
    half = 12.706 * 7.0710678 / np.sqrt(2)  # t_{1, .975} * sd / sqrt(n): no per-example scores, seeds only
    assert acc["mean"] == pytest.approx(75.0) and acc["std"] == pytest.approx(7.0710678)
    assert (acc["low"], acc["high"]) == pytest.approx((75.0 - half, 75.0 + half), rel=1e-3)
    assert "2 (+1 incomplete)" in leaderboard_markdown([row])


def test_different_experiments_are_separate_leaderboards_never_pooled():
    small = make_results("alpha", [[80.0, 0.0], [70.0, 90.0]], settings={"tasks": TASKS, "training": {"batch_size": 32}})
    tiny = make_results("alpha", [[80.0, 0.0], [60.0, 80.0]], settings={"tasks": TASKS, "training": {"batch_size": 16}})
    boards = leaderboards([small, tiny])
    assert len(boards) == 2 and all(rows[0]["runs"] == 1 for _, rows in boards)
    assert any("training.batch_size=32" in d for d in boards[0][0].differs)
    with pytest.raises(ReportError, match="2 experiments"):
        leaderboard([small, tiny])


def test_two_runs_with_one_seed_in_one_group_are_refused():
    with pytest.raises(ReportError, match="both seed 0"):
        leaderboard([Run(make_results("alpha", METHODS["alpha"]), None), make_results("alpha", METHODS["beta"])])


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


def test_markdown_table_says_what_ranks_rest_on():
    runs = [r for name, A in METHODS.items() for r in seeds_of(name, A, 0.5, seeds=(0, 1, 2))]
    text = leaderboard_markdown(leaderboard(runs))
    lines = text.splitlines()
    assert lines[0] == ("| rank | method | seeds | memory | avg acc ↑ | AMF ↓ | BWT ↑ | mean KT ↑ | wins | wall time (s) |")
    assert "Ranks rest on 3 paired seeds" in text and "Holm" in text
    assert lines[5].startswith("| 4 | delta † |")  # did not learn: listed last
    assert all(line.count("|") == 11 for line in lines[:6])  # 10 columns
    assert "† did not learn" in text


def test_markdown_of_an_undefined_metric_says_so():
    one_task = make_results("solo", [[80.0, 0.0], [70.0, 90.0]])
    A = [[70.0]]
    one_task.update(tasks=["a"], accuracy_matrix=A,
                    metrics=metrics.compute_all(A, None, {"a": 0.0}, {"a": 80.0}, ["a"]))
    (row,) = leaderboard([one_task])
    assert row["metrics"]["average_max_forgetting"]["mean"] is None
    assert "| — |" in leaderboard_markdown([row]).splitlines()[2]
    assert "did not learn" not in leaderboard_markdown([row])
