"""Which runs may be averaged as seeds, and the intervals of their averages.

``climb report`` may be given runs of several experiments at once (two data sizes, two task orders,
two batch sizes). :func:`group_experiments` sorts them by their experiment fingerprint
(:mod:`climb_harness.core.fingerprint`; results files written before fingerprints get one derived from
their config) and, within an experiment, by method (label and method fingerprint). Only the runs of
one method in one experiment are aggregated as seeds; two runs of one method with the same seed are
refused; different experiments are shown as separate, named groups and never pooled.

Each :class:`Run` knows where its results file is, so its per-example scores
(``scores.safetensors``, :mod:`climb_harness.core.example_scores`) can be resampled: :meth:`Run.replicates`
gives every scalar metric under the shared example resamples, which :func:`estimate` combines with
the spread over seeds (:func:`climb_harness.core.comparison.seed_estimate`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Union

import numpy as np

from climb_harness.core.comparison import Estimate, seed_estimate
from climb_harness.core.fingerprint import legacy_record
from climb_harness.report.values import ReportError, run_value

__all__ = ["ExperimentGroup", "MethodGroup", "Run", "RunLike", "as_runs", "estimate", "group_experiments"]

#: Scalar metrics with replicates (the keys of :func:`climb_harness.core.uncertainty.metric_replicates`).
SCALAR_KEYS = ("average_accuracy", "average_max_forgetting", "bwt", "mean_knowledge_transfer")


class GroupingError(ReportError):
    """Runs that cannot be grouped (the same seed twice in one group); says which files."""


@dataclasses.dataclass(eq=False)
class Run:
    """One run's results, and where they were read from (its scores file sits beside them)."""

    results: Mapping[str, Any]
    path: Path | None = None
    _replicates: dict[str, np.ndarray] | None = dataclasses.field(default=None, repr=False)
    _tried: bool = dataclasses.field(default=False, repr=False)

    @property
    def label(self) -> str:
        return str(self.results.get("algorithm", "?"))

    @property
    def seed(self) -> Any:
        return self.results.get("seed")

    @property
    def complete(self) -> bool:
        return self.results.get("status") == "complete"

    def where(self) -> str:
        return str(self.path) if self.path is not None else f"{self.label} seed {self.seed}"

    def experiment(self) -> dict[str, Any]:
        found = self.results.get("experiment")
        return dict(found) if isinstance(found, Mapping) else legacy_record(self.results)

    def replicates(self) -> dict[str, np.ndarray] | None:
        """Every scalar metric under the shared example resamples, or None (no scores file, incomplete run)."""
        if not self._tried:
            self._tried = True
            self._replicates = self._compute()
        return self._replicates

    def _compute(self) -> dict[str, np.ndarray] | None:
        from climb_harness.core.example_scores import SCORES_FILE, ScoresError, read_run_scores
        from climb_harness.core.uncertainty import matrix_replicates, metric_replicates

        if self.path is None or not self.complete:
            return None
        scores_path = self.path.parent / SCORES_FILE
        if not scores_path.is_file():
            return None
        tasks = list(self.results.get("tasks") or [])
        try:
            scores = read_run_scores(scores_path, len(tasks) + 1)
        except ScoresError as exc:
            raise GroupingError(str(exc)) from None
        if scores.tasks != tasks:
            raise GroupingError(f"{scores_path} holds the tasks {scores.tasks[:8]}, not those of {self.path} "
                                f"({tasks[:8]}); it belongs to another run. Delete it or rerun.")
        resamples = int(((self.results.get("protocol") or {}).get("confidence_interval") or {}).get("resamples", 1000))
        refs = self.results.get("references") or {}
        matrix, direct = matrix_replicates(scores, resamples)
        fixed = [(refs.get("direct") or {}).get(t) for t in tasks]
        random = [float((refs.get("random") or {}).get(t, 0.0)) for t in tasks]
        return metric_replicates(matrix, random, direct if direct is not None else fixed, tasks,
                                 self.results.get("metrics") or {})


RunLike = Union[Run, Mapping[str, Any]]


def as_runs(items: Sequence[RunLike]) -> list[Run]:
    """Runs from :class:`Run` objects or plain results dicts (which have no scores file)."""
    return [item if isinstance(item, Run) else Run(item) for item in items]


@dataclasses.dataclass
class MethodGroup:
    """The runs of one method in one experiment: its seeds."""

    label: str
    method: dict[str, Any]
    fingerprint: str
    runs: list[Run] = dataclasses.field(default_factory=list)
    incomplete: list[Run] = dataclasses.field(default_factory=list)

    @property
    def seeds(self) -> list[Any]:
        return [run.seed for run in self.runs]


@dataclasses.dataclass
class ExperimentGroup:
    """Runs of one experiment (one fingerprint), by method."""

    name: str
    fingerprint: str
    settings: dict[str, Any]
    methods: dict[str, MethodGroup] = dataclasses.field(default_factory=dict)
    differs: list[str] = dataclasses.field(default_factory=list)
    derived: bool = False

    @property
    def title(self) -> str:
        return f"{self.name} ({self.fingerprint[:8]})"

    def runs(self) -> list[Run]:
        return [run for group in self.methods.values() for run in [*group.runs, *group.incomplete]]


def group_experiments(items: Sequence[RunLike]) -> list[ExperimentGroup]:
    """Group runs by experiment, then by method (see the module docstring), in order of first appearance.

    Raises:
        GroupingError: Two complete runs of one method in one experiment have the same seed.
    """
    groups: dict[str, ExperimentGroup] = {}
    for run in as_runs(items):
        record = run.experiment()
        group = groups.get(record["fingerprint"])
        if group is None:
            group = groups[record["fingerprint"]] = ExperimentGroup(
                str(record.get("name", "?")), record["fingerprint"], dict(record.get("settings") or {}),
                derived=bool(record.get("derived")))
        fp = record["method_fingerprint"]
        same = group.methods.get(run.label)
        key = run.label if same is None or same.fingerprint == fp else f"{run.label} [{fp[:6]}]"
        method = group.methods.setdefault(key, MethodGroup(key, dict(record.get("method") or {}), fp))
        if not run.complete:
            method.incomplete.append(run)
            continue
        twin = next((other for other in method.runs if other.seed == run.seed), None)
        if twin is not None:
            raise GroupingError(
                f"{twin.where()} and {run.where()} are both seed {run.seed} of {key!r} in experiment "
                f"{group.title}: a seed counted twice would shrink every interval. Report one of them (or rerun one "
                "with another seed).")
        method.runs.append(run)
    found = list(groups.values())
    _name_differences(found)
    return found


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        out = {}
        for i, item in enumerate(value):
            out.update(_flatten(item, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def _name_differences(groups: list[ExperimentGroup], limit: int = 4) -> None:
    """Give each group the settings in which it differs from the others (for titles), and unique names."""
    if len(groups) < 2:
        return
    flat = [_flatten(group.settings) for group in groups]
    keys = sorted(set().union(*flat))
    varying = [k for k in keys if len({repr(f.get(k)) for f in flat}) > 1]
    for group, settings in zip(groups, flat):
        group.differs = [f"{k}={_short(settings.get(k))}" for k in varying[:limit]]
        if len(varying) > limit:
            group.differs.append(f"... {len(varying) - limit} more")
    names = [g.name for g in groups]
    for group in groups:
        if names.count(group.name) > 1:
            group.name = f"{group.name} [{', '.join(group.differs[:2]) or group.fingerprint[:8]}]"


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def estimate(group: MethodGroup, key: str, level: float = 0.95) -> Estimate | None:
    """The seed average of a metric (or a cost) of one method with its interval; None where no run defines it.

    Metrics of :data:`SCALAR_KEYS` combine the spread over seeds with the shared evaluation noise of the
    runs' scores files (when every run has one); costs (``wall_time_s``, ``peak_memory_mb``) use the spread
    over seeds only.
    """
    values, rows = [], []
    for run in group.runs:
        value = run_value(run.results, key)
        if value is None:
            continue
        values.append(value)
        reps = run.replicates() if key in SCALAR_KEYS else None
        rows.append(None if reps is None or key not in reps else reps[key])
    if not values:
        return None
    replicates = np.stack(rows) if rows and all(r is not None for r in rows) else None  # type: ignore[arg-type]
    return seed_estimate(values, replicates, level)
