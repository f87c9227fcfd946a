"""Simulated runs with a known truth, for checking intervals and ranks (tests and ``benchmarks/interval_coverage.py``).

Each task's test examples have a latent difficulty shared by every row of the accuracy matrix and by the
direct reference (one test set is reused for every evaluation, so entries of a column are correlated),
and a row's outcome on an example is ``1`` when ``Phi(rho * difficulty + sqrt(1 - rho^2) * noise) < p``:
marginally a Bernoulli(``p``) draw, so the expected score of a row is exactly its ``p``. Examples come in
groups of ``cluster`` that share their difficulty and noise (questions about one image).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from climb_harness.core import metrics
from climb_harness.core.uncertainty import RunScores, TaskScores

__all__ = ["observed_metrics", "simulate_run", "true_metrics"]


def simulate_run(p: np.ndarray, direct: Sequence[float], n: int, cluster: int, rng: np.random.Generator,
                 rho: float = 0.7, tasks: Sequence[str] | None = None) -> RunScores:
    """Per-example statistics of one simulated run.

    Args:
        p: ``(T + 1, T)`` true scores in [0, 1], the row before training first.
        direct: True direct-reference score per task, in [0, 1].
        n: Test examples per task (a multiple of ``cluster``).
        cluster: Examples per group.
        rng: The generator.
        rho: Correlation of an example's outcome across rows.
        tasks: Task names (default ``"t0"``, ``"t1"``, ...).
    """
    names = list(tasks) if tasks is not None else [f"t{j}" for j in range(p.shape[1])]
    groups = n // cluster
    scores = {}
    for j, task in enumerate(names):
        difficulty = np.repeat(rng.standard_normal(groups), cluster)

        def draw(probability: float) -> np.ndarray:
            noise = np.repeat(rng.standard_normal(groups), cluster)
            latent = rho * difficulty + math.sqrt(1 - rho * rho) * noise
            return (_normal_cdf(latent) < probability).astype(float)[:, None]

        rows = np.stack([draw(float(p[r][j])) for r in range(p.shape[0])])
        scores[task] = TaskScores("mean", np.repeat(np.arange(groups), cluster), np.arange(n), rows,
                                  draw(float(direct[j])))
    return RunScores(names, scores)


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    from scipy.stats import norm

    return norm.cdf(x)


def true_metrics(p: np.ndarray, direct: Sequence[float], random: Sequence[float],
                 tasks: Sequence[str] | None = None) -> dict:
    """:func:`climb_harness.core.metrics.compute_all` of the true scores (0-100)."""
    names = list(tasks) if tasks is not None else [f"t{j}" for j in range(p.shape[1])]
    return metrics.compute_all(100 * p[1:], 100 * p[0], list(random), [100 * float(d) for d in direct], names)


def observed_metrics(run: RunScores, random: Sequence[float]) -> tuple[dict, list[float]]:
    """The metrics a run would record, and its direct reference scores."""
    matrix = np.stack([100 * run.scores[t].rows[:, :, 0].mean(axis=1) for t in run.tasks], axis=1)
    direct = [100 * float(run.scores[t].direct.mean()) for t in run.tasks]  # type: ignore[union-attr]
    return metrics.compute_all(matrix[1:], matrix[0], list(random), direct, run.tasks), direct
