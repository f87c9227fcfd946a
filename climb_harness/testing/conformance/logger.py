"""The checks of a logger: the common four, then that it observes a whole small run without failing."""

from __future__ import annotations

import importlib.util
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from climb_harness.testing.conformance._report import fail, skip
from climb_harness.testing.conformance._subject import Check, Subject
from climb_harness.testing.conformance.common import BUILDS, built, common_checks


def checks(entry: Any, options: Mapping[str, Any] | None = None) -> list[Check]:
    """Every check of a logger, in order.

    Args:
        entry: The logger's registry entry.
        options: The options it is built with (None: its defaults).

    Returns:
        The common checks, then ``observes-a-run``.
    """
    return [*common_checks(options), Check("observes-a-run", "observes a two-task run without failing", _observes)]


def _observes(subject: Subject) -> str:
    from climb_harness.api import Algorithm
    from climb_harness.core.engine import Runner
    from climb_harness.testing.runs import run_spec

    subject.require(BUILDS)
    manifest = subject.entry.manifest
    missing = [p for p in manifest.get("requires_packages", []) if importlib.util.find_spec(p) is None]
    if missing:
        skip(f"needs {', '.join(missing)} ({manifest.get('install') or 'pip install ' + ' '.join(missing)})")
    folder = Path(tempfile.mkdtemp(prefix=f"{subject.entry.name}-", dir=subject.workdir))
    lines: list[str] = []
    spec = run_spec(Algorithm(), folder / "run")
    spec.loggers = [built(subject)]
    spec.echo = lines.append
    runner = Runner(spec)
    runner.run()
    if runner.observers.failures:
        (plugin, hook), _ = next(iter(runner.observers.failures.items()))
        warning = next((line for line in lines if "raised" in line), f"{plugin} failed in {hook}")
        fail(warning)
    written = sorted(p.name for p in (folder / "run").iterdir())
    return f"2 tasks, every event; the run folder holds {', '.join(written)}"
