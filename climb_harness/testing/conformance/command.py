"""The two ways to run the whole kit at once: ``climb check`` and :func:`assert_conforms` in a test."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from climb_harness.testing.conformance._report import CheckResult
from climb_harness.testing.conformance.formatting import summary_line
from climb_harness.testing.conformance.selection import check_selected, run_subjects, subjects


def check_command(
    selected: Sequence[str],
    extra_plugins: Sequence[str] = (),
    *,
    workdir: str | Path | None = None,
    verbose: bool = True,
    echo: Callable[[str], None] = print,
) -> int:
    """``climb check [PLUGIN|KIND:NAME...] [--plugin MODULE_OR_PATH]``: run the kit, echo one line per check.

    Args:
        selected: Plugins, distributions or ``kind:name``; none: every plugin (or, with
            ``extra_plugins``, the plugins loaded from the command line).
        extra_plugins: ``--plugin`` modules or paths to load besides the installed plugins.
        workdir: Where algorithm runs write (None: a temporary folder, removed after).
        verbose: Echo passed checks too.
        echo: Where lines go.

    Returns:
        The exit code: 0 when every check passed or was skipped, 1 when any failed.

    Raises:
        UsageError: For an unknown name, before any check runs.
    """
    from climb_harness.core.registry import Registry

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    registry = Registry(tuple(extra_plugins))
    if not selected and extra_plugins:  # `climb check --plugin file.py`: check what the command line loaded
        selected = [p.name for p in registry.plugins if p.source == "--plugin"]

    def show(found: list[CheckResult]) -> None:
        for result in found:
            if verbose or result.status != "passed":
                echo(str(result))

    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="climb-check-"))
        results = check_selected(registry, selected, workdir, show)
    echo(summary_line(results))
    return 1 if any(not r.passed for r in results) else 0


def assert_conforms(
    selector: str, workdir: str | Path, registry: Any = None, *, options: Mapping[str, Any] | None = None
) -> list[CheckResult]:
    """Run every check of a plugin or one component in a single test; fail it listing the failed checks.

    Prefer :func:`~climb_harness.testing.conformance.conformance_test`, which makes each check its
    own test item; this is for a test that must prepare something first (a data folder).

    Args:
        selector: A plugin or distribution name, or ``kind:name``.
        workdir: Where algorithm runs write.
        registry: The registry to look in (None: every installed plugin).
        options: Options to build the component with (``kind:name`` only).

    Returns:
        Every result (skipped ones included) when none failed.

    Raises:
        AssertionError: Listing the failed checks.
        UsageError: For an unknown name, or ``options`` with a plugin selector.
    """
    if registry is None:
        from climb_harness.core.registry import Registry

        registry = Registry()
    results = run_subjects(subjects(registry, selector, workdir=workdir, options=options), None)
    failed = [r for r in results if not r.passed]
    if failed:
        raise AssertionError(
            f"{len(failed)} conformance check(s) of {selector!r} failed:\n"
            + "\n".join(f"  {r}" for r in failed)
        )
    return results
