"""``climb data check TASK... --data-root DIR``: which files of a task's official layout are missing.

Nothing is read: each task is built with its data folder (``DIR/<task>`` when ``--data-root`` is
given and the task has a ``data_dir`` option) and asked for :meth:`~climb_harness.api.Task.required_paths`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from climb_harness.errors import PluginError, shorten


@dataclasses.dataclass
class DataReport:
    """What one task expects and what is missing."""

    task: str
    paths: list[Path]
    missing: list[Path]
    how_to_get: str = ""
    layout: str = ""
    problem: str = ""  # why the paths could not even be listed (e.g. no data folder set)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.problem

    def lines(self) -> list[str]:
        if self.problem:
            head = [f"{self.task}: {self.problem}"]
        elif not self.paths:
            return [f"ok    {self.task}: its data ships with its distribution (nothing to check)"]
        else:
            head = [f"{'ok   ' if self.ok else 'MISSING'} {self.task}: {len(self.paths) - len(self.missing)} of {len(self.paths)} expected path(s) present"]
        head += [f"  missing  {p}" for p in self.missing]
        if not self.ok:
            if self.how_to_get:
                head.append(f"  get it:  {self.how_to_get}")
            if self.layout:
                head.append(f"  layout:  {self.layout}")
        return head


def _options(entry: Any, name: str, data_root: Path | None) -> dict[str, Any]:
    properties = (entry.manifest.get("options") or {}).get("properties", {})
    return {"data_dir": str(data_root / name)} if data_root is not None and "data_dir" in properties else {}


def check_task_data(registry: Any, name: str, data_root: Path | None) -> DataReport:
    """Build task ``name`` (reading nothing) and compare its required paths with the file system."""
    entry = registry.get("task", name)
    data = entry.manifest.get("data") or {}
    report = DataReport(name, [], [], str(data.get("how_to_get", "")), str(data.get("layout", "")))
    task = registry.build("task", name, _options(entry, name, data_root), "data check")
    try:
        report.paths = [Path(p) for p in task.required_paths()]
    except FileNotFoundError as exc:
        report.problem = shorten(exc, 400)
        return report
    except Exception as exc:  # noqa: BLE001 - the plugin's fault, named
        raise PluginError(
            f"The task {name!r} from {entry.plugin.distribution} {entry.plugin.version}: required_paths() raised "
            f"{type(exc).__name__}: {shorten(exc)}. It must list paths without reading them; report it to the plugin's authors."
        ) from exc
    report.missing = [p for p in report.paths if not p.exists()]
    return report


def check_data(registry: Any, names: Sequence[str], data_root: Path | None) -> list[DataReport]:
    """One report per task, in the order given."""
    return [check_task_data(registry, name, data_root) for name in names]
