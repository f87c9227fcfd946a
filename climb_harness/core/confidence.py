"""Per-example evaluation statistics, cluster resampling and the interval of one score (numpy and scipy, no torch).

A task's score is a function of sums over its examples, so resampling examples resamples the score:

* ``"mean"`` statistics (classification and multiple-choice accuracy, the VQA score) hold one column,
  each example's score in [0, 1]; the task score is ``100 * sum(w x) / sum(w)`` for example weights ``w``.
* ``"micro-f1"`` statistics (multi-label) hold three columns per example, its true positives, false
  positives and false negatives; the score is ``100 * 2 TP / (2 TP + FP + FN)`` over the weighted sums.

**Clusters.** Examples that share an image (VQA questions about one picture, NLVR2 sentences about one
image pair) are not independent: a model that misreads the image fails all of them. Every resample
therefore draws *groups* (:attr:`climb_harness.api.Example.group`; an example without one is a group
of its own) with replacement, and an example's weight is the number of times its group was drawn
(the cluster bootstrap; Davison & Hinkley 1997, sec. 3.8; Field & Welsh 2007).

**Shared resamples.** :func:`resample_weights` draws the group counts from a generator seeded by the
task's name alone (:func:`task_stream`), never by the run: resample ``b`` of a task is the same set of
examples in every run, every row of a run's accuracy matrix, every seed and every method of an
experiment. That is what makes the joint intervals of :mod:`climb_harness.core.uncertainty` respect the
dependence between matrix entries and lets :mod:`climb_harness.core.comparison` pair two methods.

**One score's interval** (:func:`score_interval`): for ``"mean"`` statistics, the Clopper-Pearson
interval at the cluster-adjusted effective sample size (Korn & Graubard 1998): with ``p`` the score
over ``n`` examples, ``v`` the cluster-robust variance of ``p`` and ``v_examples`` the same with every
example its own group (so ``n / n_eff`` is Kish's design effect),

.. math::

    n_{eff} = \\min\\Big(n, n \\frac{v_{examples}}{v}\\Big), \\qquad
    [\\,B^{-1}_{\\alpha/2}(x, n_{eff} - x + 1),\\; B^{-1}_{1-\\alpha/2}(x + 1, n_{eff} - x)\\,], \\quad x = p\\, n_{eff},

and ``n_eff`` = the number of groups where ``p`` is 0 or 1 (no variance to estimate the design effect
from, so the conservative assumption that a group's examples are fully correlated). Unlike the
percentile bootstrap, which collapses to ``[100, 100]`` for 300 correct answers out of 300, it stays
honest at the ceiling (``[98.78, 100]`` for 300 independent examples). Scores in [0, 1] that are not
0/1 (the VQA score) have a variance at most ``p (1 - p)``, so the interval is conservative for them.
For ``"micro-f1"`` (not a proportion) it is the percentile cluster bootstrap.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterator, Sequence

import numpy as np

__all__ = [
    "DEFAULT_LEVEL",
    "DEFAULT_RESAMPLES",
    "INTERVAL_METHOD",
    "bootstrap_interval",
    "cluster_variance",
    "effective_sample_size",
    "group_codes",
    "resample_weights",
    "score_from_stats",
    "score_interval",
    "task_stream",
    "weighted_scores",
]

DEFAULT_RESAMPLES = 1000
DEFAULT_LEVEL = 0.95
_CHUNK = 2**22  # resampled entries drawn at once (bounds memory on large splits)
_RESAMPLE_STREAM = 0xB007  # seeds the shared group resamples of every task

#: How results.json describes the intervals (``protocol.confidence_interval.method``).
INTERVAL_METHOD = ("matrix entries: Clopper-Pearson at the cluster-adjusted effective sample size (Korn & "
                   "Graubard 1998; percentile cluster bootstrap for micro-F1); derived metrics: percentile "
                   "bootstrap that resamples each task's example groups once for every row of the matrix")


def _check_kind(kind: str) -> None:
    if kind not in ("mean", "micro-f1"):
        raise ValueError(f"unknown statistic kind {kind!r}; expected 'mean' or 'micro-f1'.")


def _sums_to_score(kind: str, sums: np.ndarray, count: np.ndarray | float) -> np.ndarray:
    """Scores (0-100) from weighted column sums ``(..., k)`` over a total weight ``count``."""
    _check_kind(kind)
    if kind == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(np.asarray(count) > 0, 100.0 * sums[..., 0] / np.where(np.asarray(count) > 0, count, 1), 0.0)
    tp, fp, fn = sums[..., 0], sums[..., 1], sums[..., 2]
    denominator = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, 100.0 * 2 * tp / np.where(denominator > 0, denominator, 1), 0.0)


def _as_stats(stats: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    array = np.asarray(stats, dtype=np.float64)
    if array.ndim != 2 or len(array) == 0:
        raise ValueError(f"per-example statistics must be a non-empty (N, k) array, got shape {array.shape}.")
    return array


def score_from_stats(kind: str, stats: np.ndarray | Sequence[Sequence[float]]) -> float:
    """The task score (0-100) of per-example statistics ``(N, k)``.

    Example:
        >>> score_from_stats("mean", [[1.0], [0.0], [1.0], [1.0]])
        75.0
        >>> score_from_stats("micro-f1", [[1, 1, 0], [1, 0, 0]])  # TP 2, FP 1, FN 0: 2*2 / (2*2 + 1)
        80.0
    """
    array = _as_stats(stats)
    return float(_sums_to_score(kind, array.sum(axis=0), float(len(array))))


# --------------------------------------------------------------------------- groups and resamples
def group_codes(keys: Sequence[Hashable | None]) -> np.ndarray:
    """Integer group codes ``0..G-1`` in order of first appearance; ``None`` makes an example its own group.

    Example:
        >>> group_codes(["img1", "img2", "img1", None, None]).tolist()
        [0, 1, 0, 2, 3]
    """
    codes: dict[Hashable, int] = {}
    out = np.empty(len(keys), dtype=np.int64)
    for i, key in enumerate(keys):
        if key is None:
            out[i] = len(codes)
            codes[("\0own", i)] = out[i]
        else:
            out[i] = codes.setdefault(key, len(codes))
    return out


def task_stream(task: str) -> list[int]:
    """The seed of a task's shared resamples: a function of its name only (see the module docstring)."""
    digest = hashlib.sha256(task.encode("utf-8")).digest()
    return [_RESAMPLE_STREAM, int.from_bytes(digest[:8], "little")]


def resample_weights(groups: np.ndarray, resamples: int, seed: int | Sequence[int]) -> Iterator[np.ndarray]:
    """Cluster-bootstrap weights, ``(b, N)`` float64 chunks adding up to ``resamples`` rows.

    Each row draws ``G`` groups with replacement (multinomial counts over the ``G`` groups of
    ``groups``, codes ``0..G-1``) and gives every example its group's count. The draws depend only on
    ``(groups, resamples, seed)``, so two runs over the same split get the same resamples.
    """
    if resamples < 1:
        raise ValueError(f"the number of bootstrap resamples must be at least 1, got {resamples}.")
    codes = np.asarray(groups, dtype=np.int64)
    count = int(codes.max()) + 1 if len(codes) else 0
    if count == 0:
        raise ValueError("cannot resample an empty split.")
    rng = np.random.default_rng(seed)
    per_chunk = max(1, _CHUNK // max(len(codes), count))
    uniform = np.full(count, 1.0 / count)
    for start in range(0, resamples, per_chunk):
        drawn = rng.multinomial(count, uniform, size=min(per_chunk, resamples - start))
        yield drawn[:, codes].astype(np.float64)


def weighted_scores(kind: str, stats: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Scores of ``stats`` ``(..., N, k)`` under each weight row ``(b, N)``: shape ``(b, ...)``."""
    stats = np.asarray(stats, dtype=np.float64)
    sums = np.einsum("bn,...nk->b...k", weights, stats)
    total = weights.sum(axis=1).reshape((-1,) + (1,) * (stats.ndim - 2))
    return _sums_to_score(kind, sums, total)


# --------------------------------------------------------------------------- one score's interval
def cluster_variance(values: np.ndarray, groups: np.ndarray | None = None) -> float:
    """The cluster-robust (sandwich) variance of the mean of ``values`` ``(N,)``.

    ``v = G / (G - 1) * sum_g (sum_{i in g} (x_i - mean))^2 / N^2``; with every example its own group
    this is the usual ``s^2 / N`` with the divisor ``N - 1`` replaced by ``N * (N - 1) / N``.
    """
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    codes = np.arange(len(x)) if groups is None else np.asarray(groups, dtype=np.int64)
    count = len(np.unique(codes))
    if count < 2:
        return 0.0
    residual = np.bincount(codes, weights=x - x.mean())
    return float(count / (count - 1) * np.sum(residual**2) / len(x) ** 2)


def effective_sample_size(values: np.ndarray, groups: np.ndarray | None = None) -> float:
    """``n_eff = min(N, N / deff)`` with the design effect ``deff = v_groups / v_examples`` (Kish 1965):
    the cluster-robust variance over the same variance with every example its own group. ``N`` for
    independent examples; the number of groups where there is no variance to estimate it from."""
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    codes = np.arange(len(x)) if groups is None else np.asarray(groups, dtype=np.int64)
    p = float(x.mean())
    grouped, independent = cluster_variance(x, codes), cluster_variance(x)
    if p <= 0.0 or p >= 1.0 or grouped <= 0.0 or independent <= 0.0:
        return float(len(np.unique(codes)))
    return float(min(len(x), len(x) * independent / grouped))


def _clopper_pearson(p: float, n: float, level: float) -> tuple[float, float]:
    from scipy.stats import beta  # type: ignore[import-untyped]  # the library's stubs are narrower than its behaviour

    alpha = 1.0 - level
    x = p * n
    low = 0.0 if x <= 0 else float(beta.ppf(alpha / 2, x, n - x + 1))
    high = 1.0 if x >= n else float(beta.ppf(1 - alpha / 2, x + 1, n - x))
    return low, high


def score_interval(
    kind: str,
    stats: np.ndarray | Sequence[Sequence[float]],
    groups: np.ndarray | None = None,
    level: float = DEFAULT_LEVEL,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int | Sequence[int] = 0,
) -> tuple[float, float]:
    """The interval ``(low, high)`` (0-100) of one score (see the module docstring for the method).

    Args:
        kind: ``"mean"`` or ``"micro-f1"``.
        stats: Per-example statistics ``(N, k)``.
        groups: Group codes ``(N,)`` (:func:`group_codes`); ``None``: every example its own group.
        level: Confidence level.
        resamples: Bootstrap resamples (micro-F1 only).
        seed: Seed of the resamples (micro-F1 only; :func:`task_stream` for shared ones).

    Example:
        >>> low, high = score_interval("mean", [[1.0]] * 300)
        >>> round(low, 2), high
        (98.78, 100.0)
    """
    _check_level(level)
    array = _as_stats(stats)
    _check_kind(kind)
    codes = np.arange(len(array)) if groups is None else np.asarray(groups, dtype=np.int64)
    if len(codes) != len(array):
        raise ValueError(f"{len(codes)} group codes for {len(array)} examples; give one code per example.")
    if kind == "mean":
        values = np.clip(array[:, 0], 0.0, 1.0)
        low, high = _clopper_pearson(float(values.mean()), effective_sample_size(values, codes), level)
        return 100.0 * low, 100.0 * high
    _, dense = np.unique(codes, return_inverse=True)
    scores = np.concatenate([weighted_scores(kind, array, w) for w in resample_weights(dense, resamples, seed)])
    low, high = np.quantile(scores, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"the confidence level must lie strictly between 0 and 1, got {level}.")


def bootstrap_interval(
    kind: str,
    stats: np.ndarray | Sequence[Sequence[float]],
    seed: int | Sequence[int],
    resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    groups: np.ndarray | None = None,
) -> tuple[float, float]:
    """Percentile (cluster) bootstrap interval ``(low, high)`` of the score of ``stats``.

    Deterministic for a given ``seed``. It collapses at the ceiling (``[100, 100]`` for all correct),
    which is why matrix entries use :func:`score_interval`; it is kept for scores that are not
    proportions and as the reference the tests compare against.

    Example:
        >>> low, high = bootstrap_interval("mean", [[1.0]] * 70 + [[0.0]] * 30, seed=0)
        >>> low < 70.0 < high, round(high - low) in range(14, 22)  # about +-1.96 * sqrt(.7 * .3 / 100)
        (True, True)
    """
    _check_level(level)
    array = _as_stats(stats)
    _check_kind(kind)
    codes = np.arange(len(array)) if groups is None else np.unique(np.asarray(groups), return_inverse=True)[1]
    scores = np.concatenate([weighted_scores(kind, array, w) for w in resample_weights(codes, resamples, seed)])
    low, high = np.quantile(scores, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)
