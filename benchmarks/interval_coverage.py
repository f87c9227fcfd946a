"""Coverage and bias of the joint metric intervals on simulated runs with a known truth.

    python benchmarks/interval_coverage.py [--replications 300] [--examples 300]

Simulated three-task runs (:mod:`climb_harness.testing.simulation`: one test set reused for every row, so
entries of a column are correlated) are scored and given ``metrics_ci`` exactly as a run is
(:func:`climb_harness.core.uncertainty.run_intervals`, 1,000 resamples); the script prints how often each 95%
interval covers the true value, with independent examples and with three fully correlated questions per
image (cluster resampling, and question-level resampling for comparison), and AMF's bias where nothing is
forgotten, raw and after subtracting the recorded bootstrap bias estimate. README quotes its output.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from climb_harness.testing.simulation import observed_metrics, simulate_run, true_metrics
from climb_harness.core.uncertainty import RunScores, TaskScores, run_intervals

FORGETS = np.array([[30, 10, 50], [90, 12, 50], [70, 80, 52], [60, 65, 85]], float) / 100
NOTHING_FORGOTTEN = np.array([[30, 10, 50], [90, 12, 50], [90, 80, 52], [90, 80, 85]], float) / 100
DIRECT = [0.92, 0.85, 0.88]
RANDOM = [33.3, 12.5, 50.0]
KEYS = ("average_accuracy", "average_max_forgetting", "bwt", "mean_knowledge_transfer")


def flat(run: RunScores) -> RunScores:
    """The same run with every example its own group (question-level resampling)."""
    return RunScores(run.tasks, {t: TaskScores(s.kind, np.arange(len(s.groups)), s.index, s.rows, s.direct)
                                 for t, s in run.scores.items()})


def coverage(p: np.ndarray, cluster: int, replications: int, examples: int, seed: int, questions: bool) -> None:
    truth = true_metrics(p, DIRECT, RANDOM)
    rng = np.random.default_rng(seed)
    hits, widths = dict.fromkeys(KEYS, 0), {k: [] for k in KEYS}
    for _ in range(replications):
        run = simulate_run(p, DIRECT, examples, cluster, rng)
        observed, direct = observed_metrics(run, RANDOM)
        ci = run_intervals(flat(run) if questions else run, observed, RANDOM, direct, 1000, 0.95)
        for key in KEYS:
            hits[key] += ci[key][0] <= truth[key] <= ci[key][1]
            widths[key].append(ci[key][1] - ci[key][0])
    label = f"{cluster} per group, resampling {'questions' if questions else 'groups'}"
    print(f"{label:<40}" + "  ".join(f"{k}: {hits[k] / replications:.3f} (width {np.mean(widths[k]):.2f})" for k in KEYS))


def amf_bias(replications: int, examples: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    raw, corrected, covered = [], [], 0
    for _ in range(replications):
        run = simulate_run(NOTHING_FORGOTTEN, DIRECT, examples, 1, rng)
        observed, direct = observed_metrics(run, RANDOM)
        ci = run_intervals(run, observed, RANDOM, direct, 1000, 0.95)
        raw.append(observed["average_max_forgetting"])
        corrected.append(observed["average_max_forgetting"] - ci["bias"]["average_max_forgetting"])
        covered += ci["average_max_forgetting"][0] <= 0.0 <= ci["average_max_forgetting"][1]
    print(f"AMF with nothing forgotten (true 0): mean {np.mean(raw):.3f} (sd {np.std(raw):.3f}); bias-corrected "
          f"mean {np.mean(corrected):.3f} (sd {np.std(corrected):.3f}); interval covers 0 in {covered / replications:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=300)
    parser.add_argument("--examples", type=int, default=300)
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"{args.replications} simulated runs each, {args.examples} test examples per task, nominal 95%:")
    coverage(FORGETS, 1, args.replications, args.examples, 1, questions=False)
    coverage(FORGETS, 3, args.replications, args.examples, 2, questions=False)
    coverage(FORGETS, 3, args.replications, args.examples, 2, questions=True)
    amf_bias(args.replications, args.examples, 3)
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
