"""``climb data check TASK... --data-root DIR``: which files of a task's official layout are missing.

Nothing is read: each task is built and asked for :meth:`~climb_harness.api.Task.required_paths`.
With ``--data-root DIR`` a task finds its folder as a run would with ``CLIMB_DATA_ROOT=DIR``: under
its own folder name (``api.data_dir(option, folder)``), so tasks sharing one folder are found; a
task that does not look under the data root is given ``data_dir: DIR/<task>``. When files are
missing, a data folder set one level too deep or too high is recognised (the task is built once
more with a stand-in folder to learn its layout, relative to the folder) and the exact fix named.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from climb_harness.api import misplaced_hint
from climb_harness.api.errors import PluginError, shorten

#: The environment variable of the data root (``climb_harness.api.DATA_ROOT_ENV``).
DATA_ROOT_ENV = "CLIMB_DATA_ROOT"


@dataclasses.dataclass
class DataReport:
    """What one task expects and what is missing."""

    task: str
    paths: list[Path]
    missing: list[Path]
    how_to_get: str = ""
    layout: str = ""
    problem: str = ""  # why the paths could not even be listed (e.g. no data folder set)
    hint: str = ""  # the data folder looks one level off: the exact fix

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
            if self.hint:
                head.append(f"  hint:    {self.hint}")
            if self.how_to_get:
                head.append(f"  get it:  {self.how_to_get}")
            if self.layout:
                head.append(f"  layout:  {self.layout}")
        return head


@contextlib.contextmanager
def _data_root(root: Path | None) -> Iterator[None]:
    """``CLIMB_DATA_ROOT`` set to ``root`` for the block (unchanged when ``root`` is None)."""
    if root is None:
        yield
        return
    old = os.environ.get(DATA_ROOT_ENV)
    os.environ[DATA_ROOT_ENV] = str(root)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(DATA_ROOT_ENV, None)
        else:
            os.environ[DATA_ROOT_ENV] = old


def _paths(registry: Any, name: str, options: dict[str, Any], data_root: Path | None) -> list[Path]:
    with _data_root(data_root):
        task = registry.build("task", name, options, "data check")
        return [Path(p) for p in task.required_paths()]


def _probe() -> Path:
    """A folder that does not exist, standing in for a data folder to learn a task's layout."""
    return Path(tempfile.gettempdir()) / f"climb-data-check-probe-{os.getpid()}"


def _uses_data_root(registry: Any, name: str) -> bool:
    """Whether the task, without a data_dir option, looks under ``$CLIMB_DATA_ROOT``."""
    probe = _probe()
    try:
        paths = _paths(registry, name, {}, probe)
    except Exception:  # noqa: BLE001 - the real build below reports what is wrong
        return False
    return bool(paths) and all(p.is_relative_to(probe) for p in paths)


def _layout(registry: Any, name: str) -> list[Path]:
    """The task's paths relative to its data folder (``[]`` when that cannot be learnt)."""
    probe = _probe()
    try:
        paths = _paths(registry, name, {"data_dir": str(probe)}, None)
    except Exception:  # noqa: BLE001
        return []
    return [p.relative_to(probe) for p in paths] if all(p.is_relative_to(probe) for p in paths) else []


def _hint(registry: Any, name: str, paths: Sequence[Path]) -> str:
    """The fix for a data folder one level off, from the task's layout and the paths it gave."""
    layout = _layout(registry, name)
    if not layout or len(layout) != len(paths):
        return ""
    depth = len(layout[0].parts)
    root = Path(*paths[0].parts[: len(paths[0].parts) - depth]) if len(paths[0].parts) > depth else None
    if root is None or [root / rel for rel in layout] != list(paths):
        return ""
    return misplaced_hint(root, [str(rel) for rel in layout])


def _options(registry: Any, entry: Any, name: str, data_root: Path | None) -> dict[str, Any]:
    """No option when the task finds its folder under the data root itself; else ``data_dir: DIR/<task>``."""
    properties = (entry.manifest.get("options") or {}).get("properties", {})
    if data_root is None or "data_dir" not in properties or _uses_data_root(registry, name):
        return {}
    return {"data_dir": str(data_root / name)}


def check_task_data(registry: Any, name: str, data_root: Path | None) -> DataReport:
    """Build task ``name`` (reading nothing) and compare its required paths with the file system."""
    entry = registry.get("task", name)
    data = entry.manifest.get("data") or {}
    report = DataReport(name, [], [], str(data.get("how_to_get", "")), str(data.get("layout", "")))
    options = _options(registry, entry, name, data_root)
    with _data_root(data_root if not options else None):
        task = registry.build("task", name, options, "data check")
        try:
            report.paths = [Path(p) for p in task.required_paths()]
        except FileNotFoundError as exc:
            report.problem = shorten(exc, 400)
            return report
        except Exception as exc:  # noqa: BLE001 - the plugin's fault, named
            raise PluginError(
                f"The task {name!r} from {entry.plugin.distribution} {entry.plugin.version}: "
                f"required_paths() raised {type(exc).__name__}: {shorten(exc)}. It must list paths without "
                "reading them; report it to the plugin's authors."
            ) from exc
    report.missing = [p for p in report.paths if not p.exists()]
    if report.missing:
        report.hint = _hint(registry, name, report.paths)
    return report


def check_data(registry: Any, names: Sequence[str], data_root: Path | None) -> list[DataReport]:
    """One report per task, in the order given."""
    return [check_task_data(registry, name, data_root) for name in names]
