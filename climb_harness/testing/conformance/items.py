"""Each conformance check as its own pytest item, for every component a plugin registers.

In a plugin's tests::

    from climb_harness.testing import conformance_test

    test_conformance = conformance_test("climb-my-plugin")

collects one item per (component, check), with ids such as ``plugin:my-plugin::light-import``,
``algorithm:my-method::run-completes`` and ``algorithm:my-method::resume-is-exact``. Items of one
component share its build and its runs (the first item that needs them pays), so a single item
can be run alone (``-k resume-is-exact``) and the whole set costs what ``climb check`` costs.
A selector that matches nothing installed is one failing item that says how to install it.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import Any

from climb_harness.api.errors import UnknownComponentError, UsageError
from climb_harness.testing.conformance._report import CheckResult
from climb_harness.testing.conformance._subject import Subject
from climb_harness.testing.conformance.selection import subjects


@functools.cache
def installed_registry() -> Any:
    """The registry of every installed plugin, built once per process (the ``climb_registry`` fixture's).

    Returns:
        A :class:`climb_harness.core.registry.Registry`.
    """
    from climb_harness.core.registry import Registry

    return Registry()


@dataclasses.dataclass(frozen=True)
class ConformanceCase:
    """One check of one component, as a pytest parameter.

    Attributes:
        label: ``kind:name`` or ``plugin:name`` (the selector, for a selection that found nothing).
        check_id: The check's id (``"resume-is-exact"``).
        subject: The component under test, shared by its cases (None: nothing was found).
        problem: Why the selection found nothing (the case fails with it).
    """

    label: str
    check_id: str
    subject: Subject | None = None
    problem: str = ""

    @property
    def id(self) -> str:
        """The pytest id: ``"algorithm:ewc::resume-is-exact"``."""
        return f"{self.label}::{self.check_id}"

    def run(self) -> CheckResult:
        """Run the check (and what it requires, once per component).

        Returns:
            Its result.
        """
        if self.subject is None:
            return CheckResult(self.label, self.check_id, "failed", self.problem)
        return self.subject.result(self.check_id)

    def assert_passes(self) -> CheckResult:
        """Run the check inside a test: fail the test with its message, or skip it with its reason.

        Returns:
            The result, when it passed.

        Raises:
            pytest.fail.Exception: If the check failed.
            pytest.skip.Exception: If it was skipped.
        """
        import pytest

        result = self.run()
        if result.status == "failed":
            pytest.fail(str(result), pytrace=False)
        if result.status == "skipped":
            pytest.skip(result.message)
        return result


def conformance_cases(
    selector: str,
    *,
    kind: str | None = None,
    options: Mapping[str, Any] | None = None,
    registry: Any = None,
) -> list[ConformanceCase]:
    """One case per check of every component (and plugin) a selector means.

    Args:
        selector: A distribution (``"climb-ewc"``), plugin name, or ``kind:name``.
        kind: Only components of this kind (the plugin's own checks are kept).
        options: Options to build the component with (``kind:name`` only).
        registry: The registry to look in (None: every installed plugin).

    Returns:
        The cases, in ``climb check``'s order; a single failing case when nothing matches.
    """
    registry = registry if registry is not None else installed_registry()
    try:
        found = subjects(registry, selector, options=options, kind=kind)
    except (UsageError, UnknownComponentError) as exc:
        return [ConformanceCase(selector, "installed", problem=_not_installed(selector, exc))]
    cases = [ConformanceCase(s.label, check_id, s) for s in found for check_id in s.checks]
    if kind is not None and not any(s.entry is not None for s in found):
        cases.append(ConformanceCase(selector, f"has-{kind}", problem=(
            f"{selector} registers no {kind}; these tests expect at least one (is its hook climb_{kind}s "
            "returning an empty list, or did the plugin fail to load?)")))
    return cases


def conformance_params(
    selector: str,
    *,
    kind: str | None = None,
    options: Mapping[str, Any] | None = None,
    registry: Any = None,
) -> list[Any]:
    """The cases of :func:`conformance_cases` as ``pytest.param`` objects, with their ids.

    Use with ``@pytest.mark.parametrize("case", conformance_params("climb-my-plugin"))`` and a test
    body ``case.assert_passes()``, or let :func:`conformance_test` write that test.

    Args:
        selector: A distribution, plugin name, or ``kind:name``.
        kind: Only components of this kind.
        options: Options to build the component with (``kind:name`` only).
        registry: The registry to look in (None: every installed plugin).

    Returns:
        ``pytest.param(case, id=case.id)`` for each case.
    """
    import pytest

    return [pytest.param(case, id=case.id) for case in conformance_cases(
        selector, kind=kind, options=options, registry=registry)]


def conformance_test(
    selector: str,
    *,
    kind: str | None = None,
    options: Mapping[str, Any] | None = None,
    registry: Any = None,
) -> Callable[[ConformanceCase], None]:
    """A test function, parametrized over every check of what ``selector`` means.

    Assign it to a ``test_*`` name in a test module: ``test_conformance = conformance_test("climb-x")``.

    Args:
        selector: A distribution, plugin name, or ``kind:name``.
        kind: Only components of this kind.
        options: Options to build the component with (``kind:name`` only).
        registry: The registry to look in (None: every installed plugin).

    Returns:
        The parametrized test function.
    """
    import pytest

    params = conformance_params(selector, kind=kind, options=options, registry=registry)

    @pytest.mark.parametrize("case", params)
    def test_conformance(case: ConformanceCase) -> None:
        case.assert_passes()

    test_conformance.__doc__ = f"The conformance kit's checks of {selector}, one item each."
    return test_conformance


def _not_installed(selector: str, exc: Exception) -> str:
    what = "the distribution that provides it" if ":" in selector else selector
    return (
        f"nothing named {selector!r} is installed, so there is nothing to check ({exc}). If these are the "
        f"tests of {what}, install it first: `pip install -e .` in its folder, so that its climb.plugins "
        f"entry point registers it"
    )
