"""Intervals a reviewer can trust: cluster resampling, ceiling-honest entries, joint metric intervals
with nominal coverage on simulated matrices, and the seed/paired combination."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest
from scipy.stats import t as student

from climb_harness.core import metrics as M
from climb_harness.core.comparison import holm, paired_difference, seed_estimate
from climb_harness.core.confidence import (
    bootstrap_interval,
    cluster_variance,
    group_codes,
    resample_weights,
    score_interval,
    weighted_scores,
)
from climb_harness.testing.simulation import observed_metrics, simulate_run
from climb_harness.core.uncertainty import RunScores, TaskScores, matrix_replicates, metric_replicates, run_intervals

TASKS = ["a", "b", "c"]


# --------------------------------------------------------------------------- one score
def test_cluster_bootstrap_equals_a_brute_force_loop_over_drawn_groups() -> None:
    rng = np.random.default_rng(5)
    groups = np.repeat(np.arange(20), rng.integers(1, 4, size=20))
    stats = (rng.random((len(groups), 1)) < 0.6).astype(float)
    low, high = bootstrap_interval("mean", stats, seed=11, resamples=300, level=0.9, groups=groups)
    counts = np.random.default_rng(11).multinomial(20, np.full(20, 1 / 20), size=300)
    brute = []
    for row in counts:  # each drawn group contributes all of its examples, as often as it was drawn
        taken = [stats[i, 0] for g, times in enumerate(row) for _ in range(times) for i in np.flatnonzero(groups == g)]
        brute.append(100.0 * sum(taken) / len(taken))
    assert (low, high) == pytest.approx(tuple(np.quantile(brute, [0.05, 0.95])))
    tp_fp_fn = rng.integers(0, 3, size=(len(groups), 3)).astype(float)
    low, high = bootstrap_interval("micro-f1", tp_fp_fn, seed=3, resamples=200, groups=groups)
    brute = []
    for row in np.random.default_rng(3).multinomial(20, np.full(20, 1 / 20), size=200):
        tp, fp, fn = sum(tp_fp_fn[groups == g].sum(axis=0) * times for g, times in enumerate(row))
        brute.append(100.0 * 2 * tp / (2 * tp + fp + fn))
    assert (low, high) == pytest.approx(tuple(np.quantile(brute, [0.025, 0.975])))


def test_entry_interval_is_clopper_pearson_for_independent_examples_and_never_collapses_at_the_ceiling() -> None:
    for correct, n in [(300, 300), (0, 300), (280, 400), (57, 60)]:
        stats = np.array([[1.0]] * correct + [[0.0]] * (n - correct))
        exact = binomtest(correct, n).proportion_ci(0.95, method="exact")
        assert score_interval("mean", stats) == pytest.approx((100 * exact.low, 100 * exact.high), abs=1e-6)
    low, high = score_interval("mean", [[1.0]] * 300)
    assert (round(low, 2), high) == (98.78, 100.0)
    # the percentile bootstrap is what collapses there
    assert bootstrap_interval("mean", [[1.0]] * 300, seed=0) == (100.0, 100.0)


def test_clustered_entries_get_wider_intervals_than_independent_ones() -> None:
    rng = np.random.default_rng(0)
    outcome = (rng.random(150) < 0.7).astype(float)
    stats = np.repeat(outcome, 2)[:, None]  # two fully correlated questions per image
    pairs = np.repeat(np.arange(150), 2)
    iid = score_interval("mean", stats)
    clustered = score_interval("mean", stats, pairs)
    ratio = (clustered[1] - clustered[0]) / (iid[1] - iid[0])
    assert 1.3 < ratio < 1.5  # about sqrt(2): the effective sample size is the 150 images
    boot_iid = bootstrap_interval("mean", stats, seed=1, resamples=2000)
    boot_clustered = bootstrap_interval("mean", stats, seed=1, resamples=2000, groups=pairs)
    assert (boot_clustered[1] - boot_clustered[0]) > 1.25 * (boot_iid[1] - boot_iid[0])
    # at the ceiling the effective size is the number of groups, not of questions
    low_pairs, _ = score_interval("mean", np.ones((300, 1)), np.repeat(np.arange(150), 2))
    assert low_pairs == pytest.approx(100 * 0.025 ** (1 / 150))


def test_cluster_variance_equals_its_formula_by_hand() -> None:
    x = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0])
    groups = np.array([0, 0, 1, 2, 2, 3])
    mean = x.mean()
    sums = [sum(x[groups == g] - mean) for g in range(4)]
    assert cluster_variance(x, groups) == pytest.approx(4 / 3 * sum(s * s for s in sums) / 36)


def test_group_codes_and_shared_resamples() -> None:
    assert group_codes(["x", None, "y", "x", None]).tolist() == [0, 1, 2, 0, 3]
    groups = np.array([0, 0, 1, 2, 2, 3])
    first = np.concatenate(list(resample_weights(groups, 50, [7, 1])))
    again = np.concatenate(list(resample_weights(groups, 50, [7, 1])))
    assert np.array_equal(first, again) and first.shape == (50, 6)
    assert np.all(first[:, 0] == first[:, 1]) and np.all(first.reshape(50, -1)[:, [2, 5]].sum(1) <= 8)
    assert np.all(first.sum(axis=1) == [2 * r[0] + r[2] + 2 * r[3] + r[5] for r in first])


# --------------------------------------------------------------------------- joint metric intervals
P_FORGET = np.array([[30, 10, 50], [90, 12, 50], [70, 80, 52], [60, 65, 85]], float) / 100  # initial, after a, b, c
P_TIES = np.array([[30, 10, 50], [90, 12, 50], [90, 80, 52], [90, 80, 85]], float) / 100  # nothing forgotten
DIRECT = np.array([0.92, 0.85, 0.88])
RANDOM = [33.3, 12.5, 50.0]


def _simulate(P: np.ndarray, n: int, cluster: int, rng: np.random.Generator, rho: float = 0.7) -> RunScores:
    return simulate_run(P, DIRECT, n, cluster, rng, rho, TASKS)


def _observed(run: RunScores) -> tuple[dict, list[float]]:
    return observed_metrics(run, RANDOM)


def test_resampled_metrics_equal_compute_all_on_every_resampled_matrix() -> None:
    rng = np.random.default_rng(3)
    run = _simulate(P_FORGET, 120, 1, rng)
    metrics, direct = _observed(run)
    matrix, resampled_direct = matrix_replicates(run, 5)
    replicates = metric_replicates(matrix, RANDOM, resampled_direct, TASKS, metrics)
    for b in range(5):
        expected = M.compute_all(matrix[b, 1:], matrix[b, 0], RANDOM, list(resampled_direct[b]), TASKS)  # type: ignore[index]
        for key in ("average_accuracy", "average_max_forgetting", "bwt", "mean_knowledge_transfer"):
            assert replicates[key][b] == pytest.approx(expected[key])
        assert replicates["forgetting.after:c.a"][b] == pytest.approx(expected["forgetting"]["after:c"]["a"])
        assert replicates["knowledge_transfer.b"][b] == pytest.approx(expected["knowledge_transfer"]["b"])


@pytest.mark.parametrize("cluster", [1, 2])
def test_joint_intervals_cover_the_true_metrics_at_their_nominal_rate(cluster: int) -> None:
    truth = M.compute_all(100 * P_FORGET[1:], 100 * P_FORGET[0], RANDOM, list(100 * DIRECT), TASKS)
    keys = ["average_accuracy", "average_max_forgetting", "bwt", "mean_knowledge_transfer"]
    rng = np.random.default_rng(cluster)
    hits = dict.fromkeys(keys, 0)
    replications = 200
    for _ in range(replications):
        run = _simulate(P_FORGET, 300, cluster, rng)
        metrics, direct = _observed(run)
        ci = run_intervals(run, metrics, RANDOM, direct, 500, 0.95)
        for key in keys:
            hits[key] += ci[key][0] <= truth[key] <= ci[key][1]
    # 95% nominal; 200 replications give a Monte Carlo standard error of 1.5 points
    assert all(0.90 <= hits[key] / replications <= 0.99 for key in keys), hits


def test_question_level_resampling_is_too_narrow_when_questions_share_an_image() -> None:
    rng = np.random.default_rng(4)
    run = _simulate(P_FORGET, 300, 3, rng)
    metrics, direct = _observed(run)
    clustered = run_intervals(run, metrics, RANDOM, direct, 1000, 0.95)
    flat = RunScores(TASKS, {t: TaskScores("mean", np.arange(300), s.index, s.rows, s.direct) for t, s in run.scores.items()})
    independent = run_intervals(flat, metrics, RANDOM, direct, 1000, 0.95)
    for key in ("average_accuracy", "average_max_forgetting", "mean_knowledge_transfer"):
        width = clustered[key][1] - clustered[key][0]
        assert width > 1.3 * (independent[key][1] - independent[key][0]), key


def test_amf_bias_where_nothing_is_forgotten_is_measured_and_estimated() -> None:
    """AMF maximises over noisy scores: with no true forgetting its expectation is above 0. The interval
    still covers 0 at about the nominal rate and the bootstrap bias estimate is positive (README states both)."""
    rng = np.random.default_rng(9)
    values, biases, covered = [], [], 0
    for _ in range(150):
        run = _simulate(P_TIES, 300, 1, rng)
        metrics, direct = _observed(run)
        ci = run_intervals(run, metrics, RANDOM, direct, 500, 0.95)
        values.append(metrics["average_max_forgetting"])
        biases.append(ci["bias"]["average_max_forgetting"])
        covered += ci["average_max_forgetting"][0] <= 0.0 <= ci["average_max_forgetting"][1]
    assert 0.1 < np.mean(values) < 1.0  # the measured bias (true value 0) on 300 examples per task
    assert np.mean(biases) > 0.05
    assert covered / 150 >= 0.9


# --------------------------------------------------------------------------- over seeds and between methods
def test_seed_estimate_combines_seed_spread_and_shared_evaluation_noise_as_documented() -> None:
    values = [70.0, 73.0, 71.0]
    replicates = np.random.default_rng(0).normal(0, 1.5, size=(1, 4000)) + np.array(values)[:, None]
    estimate = seed_estimate(values, replicates)
    seed_var = np.var(values, ddof=1) / 3
    eval_var = np.var(replicates.mean(axis=0), ddof=1)
    total = seed_var + eval_var
    df = total**2 / (seed_var**2 / 2)
    half = student.ppf(0.975, df) * math.sqrt(total)
    assert (estimate.low, estimate.high) == pytest.approx((np.mean(values) - half, np.mean(values) + half))
    only_seeds = seed_estimate(values)
    assert only_seeds.high - only_seeds.low == pytest.approx(2 * student.ppf(0.975, 2) * math.sqrt(seed_var))
    one = seed_estimate([70.0])
    assert one.low is None and one.seeds == 1
    with_eval = seed_estimate([70.0], np.array([[69.0, 71.0, 70.0]]))
    assert with_eval.df == math.inf and with_eval.low is not None


def test_paired_differences_cancel_what_the_methods_share() -> None:
    shared = np.array([60.0, 75.0, 68.0])  # seeds differ a lot, the methods' gap is steady
    a, b = shared + 3.0, shared + np.array([0.2, -0.1, 0.1])
    assert paired_difference(list(a), list(b)).low > 0
    unpaired = seed_estimate(list(a)).low - seed_estimate(list(b)).high
    assert unpaired < 0  # the unpaired intervals overlap


def test_holm_equals_its_step_down_definition() -> None:
    rng = np.random.default_rng(2)
    for _ in range(200):
        p = list(rng.random(6) ** 3)
        order = np.argsort(p)
        expected = [False] * 6
        for rank, i in enumerate(order):
            if p[i] > 0.05 / (6 - rank):
                break
            expected[i] = True
        assert holm(p, 0.05) == expected
