"""What a report reads from one run: its scalar metrics and costs, and the error results that cannot be shown raise."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from climb_harness.api.errors import UsageError
from climb_harness.core import metrics as _metrics

__all__ = ["COSTS", "NOT_LEARNED_KT", "SCALAR_METRICS", "ReportError", "did_not_learn", "run_value", "scalar_metrics"]


#: Scalar metrics shown per run and aggregated over seeds: key -> column title.
SCALAR_METRICS: dict[str, str] = {
    "average_accuracy": "avg acc",
    "average_max_forgetting": "AMF",
    "bwt": "BWT",
    "mean_knowledge_transfer": "mean KT",
}

# FWT is not a column: with one head per task it measures nothing (metrics.FWT_UNDEFINED).
#: Costs aggregated over seeds next to the metrics: key -> column title.
COSTS: dict[str, str] = {"wall_time_s": "wall time (s)", "peak_memory_mb": "peak mem (MiB)"}

_MISSING = "—"

class ReportError(UsageError, ValueError):
    """Results that cannot be formatted or aggregated together; says which and what to pass instead."""

#: A method whose mean knowledge transfer is below this learned less than half of what direct
#: fine-tuning gains over random: its "no forgetting" is not a finding, so tables mark it.
NOT_LEARNED_KT = -50.0

def did_not_learn(summary: Mapping[str, Any]) -> bool:
    """Whether an aggregated method's mean knowledge transfer is below :data:`NOT_LEARNED_KT`."""
    kt = summary.get("mean_knowledge_transfer") or {}
    return kt.get("mean") is not None and kt["mean"] < NOT_LEARNED_KT

def scalar_metrics(results: Mapping[str, Any]) -> dict[str, float | None]:
    """The scalar metrics of one run (``None`` where undefined or not yet known)."""
    found = dict(results.get("metrics") or {})
    tasks = results.get("tasks") or []
    matrix = results.get("accuracy_matrix") or []
    if "average_accuracy" not in found and tasks and len(matrix) == len(tasks):
        refs = results.get("references") or {}
        random, direct = refs.get("random"), refs.get("direct")
        if not random:  # no baseline: the averages need none, knowledge transfer stays undefined
            random, direct = [0.0] * len(tasks), None
        found = _metrics.compute_all(matrix, results.get("initial_scores") or None, random, direct, tasks,
                                     ci=results.get("accuracy_matrix_ci"), direct_ci=refs.get("direct_ci"))
    transfer = found.get("knowledge_transfer")
    legacy = "protocol" not in results  # schema 1.0: its stored mean included task 0
    if (legacy or found.get("mean_knowledge_transfer") is None) and isinstance(transfer, Mapping) and tasks:
        # over tasks 1..T-1, as compute_all defines it (task 0 is a built-in 0 for fine-tuning methods)
        found["mean_knowledge_transfer"] = _metrics.mean_defined([transfer.get(t) for t in tasks[1:]])
    return {key: found.get(key) for key in SCALAR_METRICS}

def run_value(results: Mapping[str, Any], key: str) -> float | None:
    """One run's scalar metric (:data:`SCALAR_METRICS`) or cost (:data:`COSTS`); None where undefined."""
    if key in COSTS:
        timing = results.get("timing") or {}
        value = timing.get("total_seconds" if key == "wall_time_s" else key)
        return None if value is None else float(value)
    value = scalar_metrics(results).get(key)
    return None if value is None else float(value)
