"""One component (or plugin) under test: its checks, each run at most once, and what they share.

``climb check`` asks a :class:`Subject` for every result in order; the pytest kit asks for one
check per test item. Either way a check that needs another (the run before the resume) calls
:meth:`Subject.require`, which runs that one first, or reuses its result: the component is built
and run once however its checks are asked for.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from climb_harness.testing.conformance._report import CheckResult, Failed, Skipped, describe


@dataclasses.dataclass(frozen=True)
class Check:
    """One check of a component.

    Attributes:
        id: A short slug, unique within the component (``"resume-is-exact"``); pytest ids use it.
        name: What ``climb check`` prints (``"resume reproduces the run"``).
        run: Called with the :class:`Subject`; returns a note (or None) to pass, or raises.
    """

    id: str
    name: str
    run: Callable[[Subject], str | None]


class Subject:
    """A component or plugin being checked, with its results so far.

    Args:
        label: ``"kind:name"`` or ``"plugin:name"``: the ``component`` of every result.
        checks: The checks, in the order ``climb check`` runs them.
        registry: The :class:`climb_harness.core.registry.Registry` the component comes from.
        entry: The registry entry (None for a plugin).
        plugin: The registry's ``PluginInfo`` (for plugin checks, and the component's plugin).
        options: Options to build the component with (None: its defaults).
        workdir: Where runs write; None: a temporary folder made on first use, removed at exit.
        settings: Kind-specific settings (e.g. the algorithm runs' encoder and size).
        one_thread: Run every check with torch on one thread (the models are tiny).
    """

    def __init__(
        self,
        label: str,
        checks: Sequence[Check],
        *,
        registry: Any,
        entry: Any = None,
        plugin: Any = None,
        options: Mapping[str, Any] | None = None,
        workdir: str | Path | None = None,
        settings: Any = None,
        one_thread: bool = False,
    ) -> None:
        self.label = label
        self.checks = {check.id: check for check in checks}
        if len(self.checks) != len(checks):
            raise ValueError(f"{label}: two checks share an id: {[c.id for c in checks]}")
        self.registry, self.entry, self.plugin = registry, entry, plugin
        self.options, self.settings, self.one_thread = options, settings, one_thread
        self.shared: dict[str, Any] = {}  # what checks hand to later ones (the built component, the run)
        self._workdir = Path(workdir) if workdir is not None else None
        self._results: dict[str, CheckResult] = {}
        self._running: list[_Frame] = []  # the checks in progress, innermost last

    def __repr__(self) -> str:
        return f"<Subject {self.label} ({len(self._results)}/{len(self.checks)} checks run)>"

    @property
    def workdir(self) -> Path:
        """The folder runs write into (made on first use)."""
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="climb-check-"))
            atexit.register(shutil.rmtree, self._workdir, ignore_errors=True)
        self._workdir.mkdir(parents=True, exist_ok=True)
        return self._workdir

    def result(self, check_id: str) -> CheckResult:
        """The result of one check, running it (and what it requires) the first time.

        Args:
            check_id: The check's :attr:`Check.id`.

        Returns:
            Its :class:`CheckResult`; the same object on every later call.

        Raises:
            KeyError: If the component has no such check.
            RuntimeError: If checks require each other in a cycle (a bug in the kit).
        """
        if check_id in self._results:
            return self._results[check_id]
        check = self.checks[check_id]
        if any(frame.check_id == check_id for frame in self._running):
            raise RuntimeError(f"{self.label}: check {check_id!r} requires itself")
        frame = _Frame(check_id)
        self._running.append(frame)
        started = time.perf_counter()
        try:
            with self._threads():
                status, message = _outcome(check, self)
        finally:
            self._running.pop()
        elapsed = time.perf_counter() - started
        if self._running:
            self._running[-1].nested_seconds += elapsed
        if status == "skipped" and not message.startswith("skipped"):
            message = f"skipped: {message}"
        own_seconds = round(elapsed - frame.nested_seconds, 3)
        result = CheckResult(self.label, check.name, status, message, own_seconds)
        self._results[check_id] = result
        return result

    def results(self) -> list[CheckResult]:
        """Every check's result, in order (running those not run yet).

        Returns:
            One result per check.
        """
        return [self.result(check_id) for check_id in self.checks]

    def require(self, check_id: str) -> CheckResult:
        """Make the calling check depend on another that must pass.

        Args:
            check_id: The check that must have passed.

        Returns:
            Its (passed) result.

        Raises:
            Skipped: If it failed or was skipped: the caller is skipped, naming it.
        """
        result = self.result(check_id)
        if result.status != "passed":
            verb = "failed" if result.status == "failed" else "was skipped"
            raise Skipped(f"not run because {result.name!r} {verb}")
        return result

    @contextlib.contextmanager
    def _threads(self) -> Iterator[None]:
        if not self.one_thread or len(self._running) > 1:
            yield
            return
        from climb_harness.testing.runs import single_thread

        with single_thread():
            yield


@dataclasses.dataclass
class _Frame:
    """A check in progress, and the time spent in the checks it required (not its own)."""

    check_id: str
    nested_seconds: float = 0.0


def _outcome(check: Check, subject: Subject) -> tuple[str, str]:
    try:
        note = check.run(subject)
    except Skipped as exc:
        return "skipped", str(exc)
    except Failed as exc:
        return "failed", str(exc)
    except Exception as exc:  # noqa: BLE001 - a broken component must not stop the other checks
        return "failed", describe(exc)
    return "passed", note or ""
