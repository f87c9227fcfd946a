"""The JSON-lines event log every run keeps beside its results (``events.jsonl``).

One JSON object per line, appended as the run goes: ``run_start`` (also after ``--resume``, with
``resumed_after``), ``task_start``, ``epoch_end`` (losses, the selection score, steps, examples,
seconds of training and of evaluation), ``task_end`` (the accuracy-matrix row and the task's
costs) and ``run_end`` (the scalar metrics). Each carries ``event``, ``time`` (UTC, ISO 8601) and
``seconds`` since the process started the run. A notebook reads it with
``[json.loads(line) for line in open(path)]``, or :func:`read_events`, which skips a last line a
killed process left half-written.

Writing it must never end a run: a failed write (a full disk) is reported once and the log is
given up for the rest of the run; results.json and the checkpoints are unaffected.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from climb_harness.core.io import writes_enabled
from climb_harness.core.messages import clip
from climb_harness.core.provenance import now

EVENTS_FILE = "events.jsonl"


def _jsonable(value: Any) -> Any:
    """Plain JSON: mappings and sequences copied, non-finite floats as None, anything else as str."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


class EventLog:
    """Appends events to ``folder/events.jsonl``."""

    def __init__(self, folder: Path, echo: Callable[[str], None]) -> None:
        self.path = Path(folder) / EVENTS_FILE
        self.echo = echo
        self.started = time.perf_counter()
        self.broken = not writes_enabled()  # data parallel: only the main process logs

    def write(self, event: str, **fields: Any) -> None:
        if self.broken:
            return
        record = {"event": event, "time": now(), "seconds": round(time.perf_counter() - self.started, 3), **fields}
        line = json.dumps(_jsonable(record), sort_keys=False, allow_nan=False) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
        except OSError as exc:
            self.broken = True
            self.echo(f"warning: the event log {self.path} cannot be written ({clip(exc, 160)}); the run goes on "
                      "without it (results.json and the checkpoints are written as usual).")


def read_events(path: Path) -> list[dict[str, Any]]:
    """The events of a log; an unparsable last line (a write cut short by a kill) is left out."""
    from climb_harness.api.bounded_json import DEFAULT_LIMITS, JsonLimits, loads

    limits = JsonLimits(max_bytes=DEFAULT_LIMITS.max_bytes, duplicate_keys="last")
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    events = []
    for number, line in enumerate(lines, 1):
        try:
            events.append(loads(line, source=f"{path} line {number}", limits=limits))
        except ValueError:
            if number == len(lines):
                break
            raise ValueError(f"{path} line {number} is not JSON: {clip(line, 80)}") from None
    return events
