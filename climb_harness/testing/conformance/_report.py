"""What a check reports: :class:`CheckResult`, and how a check says "failed" or "skipped".

A check function returns normally to pass (optionally with a note), calls :func:`fail` or
:func:`skip`, or lets any exception escape (a failure that names it and where it was raised).
"""

from __future__ import annotations

import dataclasses
import traceback
from pathlib import Path
from typing import Literal, NoReturn

Status = Literal["passed", "failed", "skipped"]

_LABELS = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """The outcome of one check of one component, as plain data (``dataclasses.asdict`` is JSON).

    Attributes:
        component: ``"kind:name"`` (``"task:easyvqa-shape"``) or ``"plugin:name"``.
        name: The check's human-readable name, e.g. ``"resume reproduces the run"``.
        status: ``"passed"``, ``"failed"`` or ``"skipped"``.
        message: A note on success, the reason on failure, ``"skipped: <why>"`` when skipped.
        seconds: Time the check itself took (checks it depends on are not counted).

    >>> result = CheckResult("task:x", "fingerprint", "skipped", "skipped: no data")
    >>> result.passed, result.skipped, str(result)
    (True, True, 'SKIP  task:x  fingerprint: skipped: no data')
    """

    component: str
    name: str
    status: Status
    message: str = ""
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """True unless the check failed (a skipped check is not a failure)."""
        return self.status != "failed"

    @property
    def skipped(self) -> bool:
        """True when the check was skipped (missing data, a missing capability, a failed prerequisite)."""
        return self.status == "skipped"

    def __str__(self) -> str:
        text = f"{_LABELS[self.status]}  {self.component}  {self.name}"
        return f"{text}: {self.message}" if self.message else text


class Failed(Exception):
    """Raised by :func:`fail`: the check failed with this message."""


class Skipped(Exception):
    """Raised by :func:`skip`: the check could not run, for this reason."""


# The names the kit used before it was a package (tests of the core import ``_Failed``).
_Failed = Failed
_Skipped = Skipped


def fail(message: str) -> NoReturn:
    """End the current check as failed.

    Args:
        message: What is wrong and how to fix it, addressed to the plugin's author.

    Raises:
        Failed: Always.
    """
    raise Failed(message)


def skip(reason: str) -> NoReturn:
    """End the current check as skipped (not a failure).

    Args:
        reason: Why it could not run, e.g. ``"data not available: ..."``.

    Raises:
        Skipped: Always.
    """
    raise Skipped(reason)


def describe(exc: BaseException) -> str:
    """``Type: message (raised at file:line in function)`` of the innermost frame.

    Args:
        exc: An exception a component raised.

    Returns:
        One line that tells the author where to look.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return f"{type(exc).__name__}: {exc}"
    where = f" (raised at {Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name})"
    return f"{type(exc).__name__}: {exc}{where}"
