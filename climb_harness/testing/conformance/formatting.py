"""Results as text: one line per check, and the count line ``climb check`` ends with."""

from __future__ import annotations

from collections.abc import Sequence

from climb_harness.testing.conformance._report import CheckResult


def format_results(results: Sequence[CheckResult], *, verbose: bool = True) -> str:
    """One line per check and a count line.

    Args:
        results: The results to show.
        verbose: Show passed checks too (else only failed and skipped ones).

    Returns:
        The lines, joined.

    >>> print(format_results([CheckResult("task:x", "fingerprint", "passed")], verbose=False))
    1 check(s) of 1 component(s): 1 passed, 0 failed, 0 skipped
    """
    lines = [str(r) for r in results if verbose or r.status != "passed"]
    return "\n".join([*lines, summary_line(results)])


def summary_line(results: Sequence[CheckResult]) -> str:
    """``N check(s) of M component(s): P passed, F failed, S skipped``.

    Args:
        results: The results to count.

    Returns:
        The line.
    """
    counts = {s: sum(r.status == s for r in results) for s in ("passed", "failed", "skipped")}
    components = len({r.component for r in results if not r.component.startswith("plugin:")})
    plugins = len({r.component for r in results if r.component.startswith("plugin:")})
    return (
        f"{len(results)} check(s) of {components} component(s)"
        + (f" and {plugins} plugin(s)" if plugins else "")
        + f": {counts['passed']} passed, "
        f"{counts['failed']} failed, {counts['skipped']} skipped"
    )
