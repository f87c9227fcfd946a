"""Intervals on every metric of one run: one resample of each task's examples, applied to every row.

The metrics of a run (average accuracy, average maximum forgetting, BWT, CLiMB's knowledge transfer
and forgetting) are functions of several accuracy-matrix entries that were measured **on the same test
examples**: the score on task ``j`` after task 1 and after task 3 share every example of ``j``. An
interval that treated the entries as independent would be wrong for every difference between them.
So the bootstrap here draws, for each task, one resample of its example groups
(:func:`climb_harness.core.confidence.resample_weights`) and applies it to that task's column in every row
(and to the direct fine-tuning reference, measured on the same examples); each of the ``B`` resampled
matrices gives every metric once, and a metric's interval is the percentile interval of its ``B``
values (Efron & Tibshirani 1993, ch. 13).

Resample ``b`` of a task is the same examples in every run (the resamples are seeded by the task's
name), so the replicates of two runs of an experiment line up; :mod:`climb_harness.core.comparison` uses
that to give seed-averaged and paired intervals.

Which metric is defined is decided on the observed matrix (:func:`climb_harness.core.metrics.compute_all`);
a ratio whose denominator reaches zero in more than ``(1 - level) / 2`` of the resamples has no
interval (``None``), since its resampled values are unbounded.

Bias: average maximum forgetting takes a maximum over noisy scores, so it is biased upwards where a
task's scores after it was learned are close (its expected value exceeds the true forgetting even
when nothing is forgotten). :func:`run_intervals` reports the bootstrap estimate of that bias,
``mean(AMF*) - AMF`` (Efron & Tibshirani 1993, sec. 10.2), beside the value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from climb_harness.core.confidence import resample_weights, task_stream, weighted_scores

__all__ = ["RunScores", "TaskScores", "matrix_replicates", "metric_replicates", "run_intervals"]


@dataclasses.dataclass(frozen=True)
class TaskScores:
    """One task's per-example statistics in one run (report split).

    Attributes:
        kind: ``"mean"`` or ``"micro-f1"`` (:mod:`climb_harness.core.confidence`).
        groups: ``(N,)`` group code of every example of the split (``0..G-1``).
        index: ``(n,)`` the examples scored in every row, increasing indices into the split.
        rows: ``(R, n, k)`` statistics: the row before training first, then after task 0, 1, ...
        direct: ``(n, k)`` the direct fine-tuning reference's statistics on the same examples, or None.
    """

    kind: str
    groups: np.ndarray
    index: np.ndarray
    rows: np.ndarray
    direct: np.ndarray | None = None


@dataclasses.dataclass(frozen=True)
class RunScores:
    """Every task's :class:`TaskScores` of one run, in task order."""

    tasks: list[str]
    scores: Mapping[str, TaskScores]

    @property
    def rows(self) -> int:
        return min(s.rows.shape[0] for s in self.scores.values())


def matrix_replicates(run: RunScores, resamples: int) -> tuple[np.ndarray, np.ndarray | None]:
    """``(A, D)``: ``A[b, r, j]`` the score on task ``j`` in row ``r`` (0: before training) under resample
    ``b``, and ``D[b, j]`` the direct reference's (``None`` when a task has no reference statistics)."""
    rows = run.rows
    matrix = np.empty((resamples, rows, len(run.tasks)))
    direct = np.empty((resamples, len(run.tasks)))
    has_direct = all(run.scores[t].direct is not None for t in run.tasks)
    for j, task in enumerate(run.tasks):
        scores = run.scores[task]
        start = 0
        for weights in resample_weights(scores.groups, resamples, task_stream(task)):
            kept = weights[:, scores.index]
            stop = start + len(kept)
            matrix[start:stop, :, j] = weighted_scores(scores.kind, scores.rows[:rows], kept)
            if has_direct:
                direct[start:stop, j] = weighted_scores(scores.kind, scores.direct, kept)  # type: ignore[arg-type]
            start = stop
    return matrix, (direct if has_direct else None)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, 100.0 * numerator / np.where(denominator > 0, denominator, 1.0), np.nan)


def metric_replicates(
    matrix: np.ndarray,
    random: Sequence[float],
    direct: np.ndarray | Sequence[float | None] | None,
    tasks: Sequence[str],
    defined: Mapping[str, Any],
) -> dict[str, np.ndarray]:
    """Every metric of ``compute_all`` for each resampled matrix, vectorised over the first axis.

    Args:
        matrix: ``(B, T + 1, T)`` scores, the row before training first (:func:`matrix_replicates`).
        random: Random-guessing score per task.
        direct: ``(B, T)`` resampled direct references, or fixed scores per task (``None`` entries:
            unknown), or None.
        tasks: Task names.
        defined: The run's ``metrics`` (:func:`climb_harness.core.metrics.compute_all`): a per-task value
            that is ``None`` there has no replicates here.

    Returns:
        ``{"average_accuracy", "average_max_forgetting", "bwt", "mean_knowledge_transfer",
        "knowledge_transfer.<task>", "forgetting.after:<i>.<j>"}`` -> ``(B,)`` arrays (NaN where a
        resample's denominator is not positive). Keys of undefined metrics are absent.
    """
    A = np.asarray(matrix, dtype=np.float64)
    B, _, T = A.shape
    after = A[:, 1:, :]  # after[:, i, j]: after learning task i
    last = after[:, T - 1, :]
    out: dict[str, np.ndarray] = {"average_accuracy": last.mean(axis=1)}
    if T > 1:
        drops = [np.max(after[:, j:T - 1, j] - last[:, j:j + 1], axis=1) for j in range(T - 1)]
        out["average_max_forgetting"] = np.mean(drops, axis=0)
        out["bwt"] = np.mean([last[:, i] - after[:, i, i] for i in range(T - 1)], axis=0)
    rand = np.asarray(random, dtype=np.float64)
    if direct is not None:
        if isinstance(direct, np.ndarray) and direct.ndim == 2:
            ref = direct
        else:
            ref = np.tile(np.array([np.nan if d is None else float(d) for d in direct]), (B, 1))
        transfer = defined.get("knowledge_transfer") or {}
        later = []
        for i, task in enumerate(tasks):
            if transfer.get(task) is None:
                continue
            out[f"knowledge_transfer.{task}"] = _ratio(after[:, i, i] - ref[:, i], ref[:, i] - rand[i])
            if i > 0:
                later.append(out[f"knowledge_transfer.{task}"])
        if later and defined.get("mean_knowledge_transfer") is not None:
            out["mean_knowledge_transfer"] = np.mean(later, axis=0)
    forgetting = defined.get("forgetting") or {}
    for i in range(1, T):
        row = forgetting.get(f"after:{tasks[i]}") or {}
        for j in range(i):
            if row.get(tasks[j]) is not None:
                out[f"forgetting.after:{tasks[i]}.{tasks[j]}"] = _ratio(after[:, j, j] - after[:, i, j],
                                                                         after[:, j, j] - rand[j])
    return out


def _percentile(values: np.ndarray, level: float) -> list[float] | None:
    finite = values[np.isfinite(values)]
    if len(finite) == 0 or len(values) - len(finite) > (1 - level) / 2 * len(values):
        return None
    low, high = np.quantile(finite, [(1 - level) / 2, (1 + level) / 2])
    return [round(float(low), 6), round(float(high), 6)]


def run_intervals(
    run: RunScores,
    metrics: Mapping[str, Any],
    random: Sequence[float],
    direct: Sequence[float | None],
    resamples: int,
    level: float,
) -> dict[str, Any]:
    """results.json's ``metrics_ci``: the joint percentile interval of every defined metric of a run.

    Returns:
        ``{"average_accuracy": [low, high], "average_max_forgetting": ..., "bwt": ...,
        "mean_knowledge_transfer": ..., "knowledge_transfer": {task: [low, high] | None},
        "forgetting": {"after:<i>": {"<j>": [low, high] | None}}, "bias": {"average_max_forgetting":
        mean(AMF*) - AMF}}``; ``None`` for an undefined metric or one whose resamples are unbounded.
    """
    matrix, resampled_direct = matrix_replicates(run, resamples)
    reference = resampled_direct if resampled_direct is not None else list(direct)
    replicates = metric_replicates(matrix, random, reference, run.tasks, metrics)
    ci: dict[str, Any] = {key: (_percentile(replicates[key], level) if key in replicates else None)
                          for key in ("average_accuracy", "average_max_forgetting", "bwt", "mean_knowledge_transfer")}
    ci["knowledge_transfer"] = {t: (_percentile(replicates[f"knowledge_transfer.{t}"], level)
                                    if f"knowledge_transfer.{t}" in replicates else None) for t in run.tasks}
    ci["forgetting"] = {
        f"after:{run.tasks[i]}": {run.tasks[j]: (_percentile(replicates[key], level) if key in replicates else None)
                                  for j in range(i) for key in [f"forgetting.after:{run.tasks[i]}.{run.tasks[j]}"]}
        for i in range(1, len(run.tasks))
    }
    amf = metrics.get("average_max_forgetting")
    ci["bias"] = {"average_max_forgetting": None if amf is None or "average_max_forgetting" not in replicates
                  else round(float(np.mean(replicates["average_max_forgetting"]) - amf), 6)}
    return ci
