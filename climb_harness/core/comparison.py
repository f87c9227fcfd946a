"""Intervals over seeds, paired differences between methods, and the multiple-comparison correction.

A metric averaged over ``n`` seeds of one experiment has two sources of error:

* **training noise**, the spread over seeds: ``s^2 / n`` with ``s`` the sample standard deviation of
  the per-seed values;
* **evaluation noise**, the test examples being a sample: every seed is scored on the *same* examples,
  so this part does not average away over seeds. It is the variance over the shared example resamples
  (:mod:`climb_harness.core.uncertainty`) of the seed-mean, ``v_eval = Var_b( mean_k R[k, b] )``.

The interval is ``mean +- t_{nu, (1 + level) / 2} * SE`` with ``SE^2 = s^2 / n + v_eval`` and ``nu`` the
Welch-Satterthwaite degrees of freedom (the evaluation part has effectively infinite ones):
``nu = SE^4 / ((s^2 / n)^2 / (n - 1))``. The two parts overlap slightly (the per-seed values also carry
the part of the evaluation noise that differs between models), so the interval is a little
conservative. With one seed only the evaluation part is known, and :attr:`Estimate.seeds` says so.

Two methods run on the same seeds are compared on the **paired** per-seed differences
``d_k = x^A_k - x^B_k``, with the replicate differences ``R^A[k, b] - R^B[k, b]`` of the same example
resamples, so the shared seed (data order, initial head weights) and the shared test examples cancel.
The two-sided p-value of ``H0: E[d] = 0`` uses the same ``SE`` and ``nu``. Across the ``m (m - 1) / 2``
pairs of a metric, Holm's step-down procedure (Holm 1979) keeps the family-wise error rate at
``alpha``: the chance of declaring *any* difference where there is none is at most ``alpha``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

__all__ = ["Estimate", "holm", "mean_std", "paired_difference", "seed_estimate"]


@dataclasses.dataclass(frozen=True)
class Estimate:
    """A mean over seeds with its interval.

    Attributes:
        mean: The mean over seeds.
        low: Lower end of the interval (``None`` when nothing is known about the noise).
        high: Upper end.
        se: Its standard error, ``sqrt(s^2 / n + v_eval)``.
        df: Welch-Satterthwaite degrees of freedom (``inf``: evaluation noise only).
        seeds: How many seeds it rests on.
        seed_sd: Standard deviation over seeds (``None`` for one seed).
        eval_se: The evaluation-noise part, ``sqrt(v_eval)`` (``None`` without per-example scores).
        p_value: Two-sided p-value of ``mean = 0`` (meaningful for paired differences).
    """

    mean: float
    low: float | None
    high: float | None
    se: float | None
    df: float | None
    seeds: int
    seed_sd: float | None
    eval_se: float | None
    p_value: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) and k != "df" else v)
                for k, v in dataclasses.asdict(self).items()}


def _quantile(df: float, level: float) -> float:
    from scipy.stats import norm, t  # type: ignore[import-untyped]  # the library's stubs are narrower than its behaviour

    q = (1 + level) / 2
    return float(norm.ppf(q)) if not math.isfinite(df) else float(t.ppf(q, df))


def _p_value(statistic: float, df: float) -> float:
    from scipy.stats import norm, t

    tail = norm.sf(abs(statistic)) if not math.isfinite(df) else t.sf(abs(statistic), df)
    return float(min(1.0, 2 * tail))


def seed_estimate(values: Sequence[float] | np.ndarray, replicates: np.ndarray | None = None, level: float = 0.95) -> Estimate:
    """The mean of per-seed ``values`` with the interval of the module docstring.

    Args:
        values: One value per seed.
        replicates: ``(n, B)`` the same metric under the shared example resamples, one row per seed (rows
            in the order of ``values``); ``None`` when the runs kept no per-example scores (then only the
            spread over seeds is counted, and one seed has no interval).
        level: Confidence level.

    Example:
        >>> e = seed_estimate([70.0, 72.0, 74.0])  # t_{2, .975} * 2 / sqrt(3) = 4.97
        >>> round(e.low, 2), round(e.high, 2), e.seeds
        (67.03, 76.97, 3)
    """
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    if n == 0:
        raise ValueError("an estimate over seeds needs at least one value.")
    mean = float(x.mean())
    seed_var = float(x.var(ddof=1)) / n if n > 1 else None
    eval_var = None
    if replicates is not None:
        reps = np.asarray(replicates, dtype=np.float64).reshape(n, -1)
        pooled = reps.mean(axis=0)
        pooled = pooled[np.isfinite(pooled)]
        eval_var = float(pooled.var(ddof=1)) if len(pooled) > 1 else None
    if seed_var is None and eval_var is None:
        return Estimate(mean, None, None, None, None, n, None, None, None)
    total = (seed_var or 0.0) + (eval_var or 0.0)
    if seed_var is None:
        df = math.inf
    elif seed_var == 0.0:
        df = math.inf if eval_var else float(n - 1)
    else:
        df = total**2 / (seed_var**2 / (n - 1))
    se = math.sqrt(total)
    half = _quantile(df, level) * se
    p = _p_value(mean / se, df) if se > 0 else (0.0 if mean != 0 else 1.0)
    return Estimate(mean, mean - half, mean + half, se, df, n,
                    None if n < 2 else float(x.std(ddof=1)), None if eval_var is None else math.sqrt(eval_var), p)


def paired_difference(
    a: Sequence[float], b: Sequence[float], a_replicates: np.ndarray | None = None,
    b_replicates: np.ndarray | None = None, level: float = 0.95,
) -> Estimate:
    """The mean paired difference ``a - b`` over the seeds both ran (values in the same seed order).

    Example:
        >>> d = paired_difference([80.0, 82.0, 81.0], [70.0, 71.0, 73.0])
        >>> round(d.mean, 2), d.low > 0, d.p_value < 0.05
        (9.67, True, True)
    """
    if len(a) != len(b):
        raise ValueError(f"paired values need the same seeds: {len(a)} against {len(b)}.")
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    reps = None
    if a_replicates is not None and b_replicates is not None:
        reps = np.asarray(a_replicates, dtype=np.float64) - np.asarray(b_replicates, dtype=np.float64)
    return seed_estimate(diff, reps, level)


def holm(p_values: Sequence[float | None], alpha: float = 0.05) -> list[bool]:
    """Holm's step-down rejections of a family of hypotheses (``None``: not tested, never rejected).

    Sort the ``m`` p-values; reject the ``i``-th smallest while ``p_(i) <= alpha / (m - i + 1)``, and stop
    at the first that is not.

    Example:
        >>> holm([0.01, 0.04, 0.03, None], alpha=0.05)  # thresholds .05/3, .05/2, .05/1 in order
        [True, False, False, False]
    """
    tested = [(p, i) for i, p in enumerate(p_values) if p is not None]
    tested.sort()
    out = [False] * len(p_values)
    m = len(tested)
    for rank, (p, i) in enumerate(tested):
        if p > alpha / (m - rank):
            break
        out[i] = True
    return out


#: Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom (beyond: the normal 1.96).
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
         2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def mean_std(values: Sequence[float | None]) -> dict[str, float | int | None]:
    """Mean, sample standard deviation (ddof 1) and 95% t-interval half-width of the defined values.

    ``ci95 = t_{0.975, n-1} * std / sqrt(n)``: the interval of the mean over seeds (training noise);
    ``std`` and ``ci95`` are ``None`` below 2 values.
    """
    xs = [float(v) for v in values if v is not None]
    n = len(xs)
    if n == 0:
        return {"mean": None, "std": None, "n": 0, "ci95": None}
    mean = sum(xs) / n
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1)) if n > 1 else None
    ci95 = None if std is None else (_T975[n - 2] if n - 1 <= len(_T975) else 1.96) * std / math.sqrt(n)
    return {"mean": mean, "std": std, "n": n, "ci95": ci95}
