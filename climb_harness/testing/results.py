"""Hand-made results.json dicts, for tests of anything that reads results (reports, figures, leaderboards)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def bootstrap_like(A: Sequence[Sequence[float]], half: float = 3.0) -> list[list[list[float]]]:
    """An interval ``[x - half, x + half]`` (clipped to 0-100) around every score of ``A``."""
    return [[[max(0.0, x - half), min(100.0, x + half)] for x in row] for row in A]


def results_dict(
    tasks: Sequence[str],
    A: Sequence[Sequence[float]],
    *,
    algorithm: str = "sequential-ft",
    seed: int = 0,
    random: Mapping[str, float] | None = None,
    direct: Mapping[str, float | None] | None = None,
    initial: Sequence[float] | None = None,
    ci_half: float | None = 3.0,
    status: str = "complete",
    seconds: float = 10.0,
    options: Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A results dict shaped like the runner's (schema 1.2), metrics computed from ``A`` when complete.

    Args:
        tasks: The task order.
        A: The accuracy matrix rows so far (row i: after task i).
        algorithm: The run's algorithm label.
        seed: The run's seed.
        random: Random baselines per task (default 0).
        direct: Direct fine-tuning scores per task (default None: knowledge transfer undefined).
        initial: Scores before training (default none recorded).
        ci_half: Half-width of the made-up bootstrap intervals (None: no intervals).
        status: ``"complete"`` or ``"running"``.
        seconds: The run's wall time.
        options: The algorithm options the config gave.
        settings: The experiment's settings (its fingerprint; default: just the task order), so that runs
            made with the same settings are seeds of one experiment.

    Returns:
        The dict (not every optional field of the schema is present).
    """
    from climb_harness.core import fingerprint, metrics

    random = dict(random or dict.fromkeys(tasks, 0.0))
    direct = dict(direct or dict.fromkeys(tasks))
    rows = [list(row) for row in A]
    ci = bootstrap_like(rows, ci_half) if ci_half is not None else None
    results: dict[str, Any] = {
        "schema_version": "1.2",
        "protocol": {"selection_split": "val", "report_split": "test"},
        "status": status,
        "tasks": list(tasks),
        "algorithm": algorithm,
        "seed": seed,
        "accuracy_matrix": rows,
        "initial_scores": list(initial) if initial is not None else [],
        "best_epochs": [1] * len(rows),
        "metrics": metrics.compute_all(rows, None, random, direct, list(tasks), ci=ci) if status == "complete" else {},
        "references": {"random": random, "direct": direct},
        "timing": {"per_task_seconds": {}, "total_seconds": seconds, "peak_memory_mb": 100.0},
        "config": {"algorithm": {"name": algorithm, "options": dict(options or {})}},
        "experiment": fingerprint.record("test", dict(settings or {"tasks": list(tasks)}),
                                         {"name": algorithm, "label": algorithm, "options": dict(options or {})}),
    }
    if ci is not None:
        results["accuracy_matrix_ci"] = ci
        if initial is not None:
            results["initial_scores_ci"] = bootstrap_like([list(initial)], ci_half)[0]  # type: ignore[arg-type]
    return results
