"""Per-example evaluation statistics and bootstrap confidence intervals (pure numpy, no torch).

A task's score is a function of sums over its examples, so resampling examples resamples the score:

* ``"mean"`` statistics (classification and multiple-choice accuracy, the VQA score) hold one column,
  each example's score in [0, 1]; the task score is ``100 * mean``.
* ``"micro-f1"`` statistics (multi-label) hold three columns per example, its true positives, false
  positives and false negatives; the score is ``100 * 2 TP / (2 TP + FP + FN)`` over the summed columns.

The interval is the percentile bootstrap (Efron & Tibshirani 1993, ch. 13): draw ``resamples`` sets of
``N`` examples with replacement, score each, and take the ``(1 - level) / 2`` and ``(1 + level) / 2``
quantiles. It describes the sampling noise of the evaluation split only (not of training seeds).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["DEFAULT_LEVEL", "DEFAULT_RESAMPLES", "bootstrap_interval", "score_from_stats"]

DEFAULT_RESAMPLES = 1000
DEFAULT_LEVEL = 0.95
_CHUNK = 2**22  # resampled entries drawn at once (bounds memory on large splits)


def _sums_to_score(kind: str, sums: np.ndarray, count: int) -> np.ndarray:
    """Scores (0-100) from column sums ``(..., k)`` over ``count`` examples."""
    if kind == "mean":
        return 100.0 * sums[..., 0] / count
    if kind == "micro-f1":
        tp, fp, fn = sums[..., 0], sums[..., 1], sums[..., 2]
        denominator = 2 * tp + fp + fn
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(denominator > 0, 100.0 * 2 * tp / np.where(denominator > 0, denominator, 1), 0.0)
    raise ValueError(f"unknown statistic kind {kind!r}; expected 'mean' or 'micro-f1'.")


def score_from_stats(kind: str, stats: np.ndarray | Sequence[Sequence[float]]) -> float:
    """The task score (0-100) of per-example statistics ``(N, k)``.

    Example:
        >>> score_from_stats("mean", [[1.0], [0.0], [1.0], [1.0]])
        75.0
        >>> score_from_stats("micro-f1", [[1, 1, 0], [1, 0, 0]])  # TP 2, FP 1, FN 0: 2*2 / (2*2 + 1)
        80.0
    """
    array = np.asarray(stats, dtype=np.float64)
    if array.ndim != 2 or len(array) == 0:
        raise ValueError(f"per-example statistics must be a non-empty (N, k) array, got shape {array.shape}.")
    return float(_sums_to_score(kind, array.sum(axis=0), len(array)))


def bootstrap_interval(
    kind: str,
    stats: np.ndarray | Sequence[Sequence[float]],
    seed: int | Sequence[int],
    resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
) -> tuple[float, float]:
    """Percentile-bootstrap interval ``(low, high)`` of the score of ``stats`` (see the module docstring).

    Deterministic for a given ``seed`` (an integer or a sequence of integers, e.g. ``(run seed, row,
    column)``), so a resumed run writes the same intervals.

    Example:
        >>> low, high = bootstrap_interval("mean", [[1.0]] * 70 + [[0.0]] * 30, seed=0)
        >>> low < 70.0 < high, round(high - low) in range(14, 22)  # about +-1.96 * sqrt(.7 * .3 / 100)
        (True, True)
    """
    if not 0 < level < 1:
        raise ValueError(f"the confidence level must lie strictly between 0 and 1, got {level}.")
    if resamples < 1:
        raise ValueError(f"the number of bootstrap resamples must be at least 1, got {resamples}.")
    array = np.asarray(stats, dtype=np.float64)
    score_from_stats(kind, array)  # validates the shape
    n = len(array)
    rng = np.random.default_rng(seed)
    per_chunk = max(1, _CHUNK // n)
    scores = []
    for start in range(0, resamples, per_chunk):
        rows = rng.integers(0, n, size=(min(per_chunk, resamples - start), n))
        scores.append(_sums_to_score(kind, array[rows].sum(axis=1), n))
    values = np.concatenate(scores)
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)
