"""results.json: reading it back (bounded and validated against its schema and shapes) and writing it (only
after the same checks: the harness never writes a results file it would refuse to read)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from climb_harness.api.errors import RunError
from climb_harness.core.io import write_json
from climb_harness.core.messages import clip, os_reason

__all__ = ["RESULTS_FILE", "read_results", "results_problems", "schema_version_of", "validate_results", "write_results"]

RESULTS_FILE = "results.json"


_REREAD_FIX = ("Fix: if a run wrote it, delete it (or move it away) and run the experiment again to "
               "recompute it (--resume cannot continue from it); otherwise restore a good copy.")


def schema_version_of(path: Path) -> Any:
    """The ``schema_version`` a results file declares, or None when it cannot be read (read_results says why)."""
    from climb_harness.api.bounded_json import load

    try:
        data = load(path)
    except (OSError, ValueError):
        return None
    return data.get("schema_version") if isinstance(data, dict) else None


def read_results(path: Path) -> dict[str, Any]:
    """``path`` parsed and checked against ``schemas/results.schema.json`` (and the matrix shapes).

    A missing file raises FileNotFoundError; an unreadable, unparsable or invalid one a RunError
    naming the file, the first problems (with their JSON paths) and the fix."""
    from climb_harness.api.bounded_json import load

    try:  # bounded: size, nesting depth and number limits; NaN and Infinity refused, naming line and column
        results = load(path)
    except FileNotFoundError:
        raise
    except OSError as exc:
        reason = os_reason(exc)
        raise RunError(f"{path} cannot be read ({reason}); it was left as it is. {_REREAD_FIX}") from None
    except ValueError as exc:
        reason = clip(exc, 300)
        raise RunError(f"{path} is not valid JSON ({reason}); it was left as it is. {_REREAD_FIX}") from None
    problems = results_problems(results)
    if problems:
        shown = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
        raise RunError(f"{path} is not a valid climb-harness results file: {shown}. It was left as it is. "
                       f"{_REREAD_FIX}")
    return results


def write_results(path: Path, results: Mapping[str, Any]) -> None:
    """results.json, atomically, after checking it against its own schema: a results file the harness would
    refuse to read back (a score of 1e308 that a damaged input smuggled in, a NaN) is never written; the
    failure is the harness's, and names the file and the fields."""
    problems = results_problems(results)
    if problems:
        raise RunError(f"climb-harness built a results file for {path} that fails its own schema "
                       f"({clip('; '.join(problems[:3]), 400)}); nothing was written. This is a bug in the harness (an "
                       "input it read should have been refused first): please report it with the command you ran.")
    write_json(path, results)


def results_problems(results: Any) -> list[str]:
    """Schema violations (``$.path: message``, bounded) and shape problems of a results object."""
    from climb_harness.core.schemas import validate

    found = [f"{v.path}: {clip(v.message, 120)}" for v in validate("results", results)]
    if found or not isinstance(results, Mapping):
        return found
    return _shape_problems(results)


def _shape_problems(results: Mapping[str, Any]) -> list[str]:
    """What the schema cannot say: one score per task in every row, at most one row per task."""
    width = len(results["tasks"])
    found = [f"$.initial_scores: {len(results['initial_scores'])} scores for {width} tasks"] \
        if len(results["initial_scores"]) != width else []
    for key in ("accuracy_matrix", "accuracy_matrix_ci", "test_accuracy_matrix"):
        rows = results.get(key, [])
        if len(rows) > width:
            found.append(f"$.{key}: {len(rows)} rows for {width} tasks")
        found += [f"$.{key}[{i}]: {len(row)} entries for {width} tasks (rows must not be ragged)"
                  for i, row in enumerate(rows) if len(row) != width]
    return found


def validate_results(results: Mapping[str, Any]) -> list[str]:
    from climb_harness.core.schemas import validate

    return [str(v) for v in validate("results", dict(results))]
