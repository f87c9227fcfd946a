"""The checks every component gets, whatever its kind: manifest, options, factory, build.

The built component is left in ``subject.shared["built"]`` for the kind's own checks, which reach
it through :func:`built`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from climb_harness.testing.conformance._report import fail, skip
from climb_harness.testing.conformance._subject import Check, Subject

BUILDS = "builds"


def find_entry(registry: Any, kind: str, name: str) -> Any:
    """The registry entry of component ``kind:name``, valid or not (an invalid one is checked too).

    Args:
        registry: A :class:`climb_harness.core.registry.Registry`.
        kind: ``"task"``, ``"encoder"`` or ``"algorithm"``.
        name: The component's name.

    Returns:
        The first ``Entry`` registered under that name.

    Raises:
        UnknownComponentError: If no such component is registered (the message names those that are).
    """
    entries = registry.entries[kind].get(name)
    if not entries:
        registry.get(kind, name)  # raises UnknownComponentError naming the installed ones
    return entries[0]


def common_checks(options: Mapping[str, Any] | None) -> list[Check]:
    """The four checks of every kind, in order.

    Args:
        options: The options the component is built with (None or empty: its defaults).

    Returns:
        ``manifest-valid``, ``options-defaults-validate``, ``factory-importable`` and ``builds``.
    """
    name = "builds with the given options" if options else "builds with default options"
    return [
        Check("manifest-valid", "manifest valid", _manifest_valid),
        Check("options-defaults-validate", "options defaults validate", _defaults_validate),
        Check("factory-importable", "factory importable", _factory_importable),
        Check(BUILDS, name, _builds),
    ]


def built(subject: Subject) -> Any:
    """The component built by the ``builds`` check.

    Args:
        subject: The component under test.

    Returns:
        The built task, encoder or algorithm.

    Raises:
        Skipped: If it could not be built (the calling check is skipped, naming why).
    """
    subject.require(BUILDS)
    return subject.shared["built"]


def is_int(value: Any) -> bool:
    """Whether a value is an integer label: Python and numpy integers, not bools (a bool is no class index).

    Args:
        value: Anything.

    Returns:
        True for an integer.
    """
    import numpy as np

    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _manifest_valid(subject: Subject) -> None:
    if subject.entry.problems:
        fail(
            "; ".join(str(p) for p in subject.entry.problems)
            + f". Fix the manifest (schemas/{subject.entry.kind}.schema.json)."
        )


def _defaults_validate(subject: Subject) -> None:
    from climb_harness.core.schemas import options_with_defaults

    _, problems = options_with_defaults(subject.entry.manifest.get("options"), {})
    if problems:
        fail(
            "the defaults do not satisfy the options schema: " + "; ".join(str(p) for p in problems)
            + ". Give every option a default that its own schema accepts."
        )


def _factory_importable(subject: Subject) -> str:
    from climb_harness.core.components import import_factory

    factory = import_factory(subject.entry)
    if not callable(factory):
        fail(f"factory {subject.entry.component.factory!r} is a {type(factory).__name__}, not a callable")
    declared = subject.entry.component.factory
    return str(declared if isinstance(declared, str) else factory)


def _builds(subject: Subject) -> str:
    for check_id in ("manifest-valid", "options-defaults-validate", "factory-importable"):
        if subject.result(check_id).status != "passed":
            skip("not run because an earlier check failed")
    entry = subject.entry
    try:
        obj = subject.registry.build(entry.kind, entry.name, subject.options or {})
    except FileNotFoundError as exc:
        skip(f"data not available: {exc}")
    base = base_class(entry.kind)
    if not isinstance(obj, base):
        fail(
            f"the factory returned a {type(obj).__module__}.{type(obj).__name__}, not a "
            f"{base.__module__}.{base.__name__}; subclass {base.__name__}"
        )
    subject.shared["built"] = obj
    return type(obj).__name__


def base_class(kind: str) -> type:
    """The class every component of ``kind`` must be an instance of (``api.Task``, ``api.Encoder``, ...).

    Args:
        kind: ``"task"``, ``"encoder"`` or ``"algorithm"``.

    Returns:
        The base class.
    """
    from climb_harness import api

    if kind == "encoder":
        from climb_harness.api import Encoder

        return Encoder
    return {"task": api.Task, "algorithm": api.Algorithm, "logger": api.Logger}[kind]
