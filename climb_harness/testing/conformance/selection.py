"""From names to subjects: which components and plugins a selector means, and running their checks.

A selector is a plugin's entry-point name (``ewc``), its distribution (``climb-ewc``), the stem of a
``--plugin`` file, or one component, ``kind:name`` (``algorithm:ewc``).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from climb_harness.api.errors import UsageError
from climb_harness.testing.conformance import algorithm, encoder, logger, plugins, task
from climb_harness.testing.conformance._report import CheckResult
from climb_harness.testing.conformance._subject import Subject
from climb_harness.testing.conformance.common import find_entry

_CHECKS_OF_KIND = {"task": task.checks, "encoder": encoder.checks, "algorithm": algorithm.checks,
                   "logger": logger.checks}


def plugin_infos(registry: Any, selector: str) -> list[Any]:
    """The loaded plugins whose entry-point name or distribution name is ``selector``.

    Args:
        registry: The registry to look in.
        selector: A plugin or distribution name.

    Returns:
        Their ``PluginInfo`` objects (empty when none matches).
    """
    return [p for p in registry.plugins if selector in (p.name, p.distribution)]


def component_subject(
    registry: Any,
    entry: Any,
    *,
    workdir: str | Path | None = None,
    options: Mapping[str, Any] | None = None,
    settings: Any = None,
) -> Subject:
    """The subject for one component: its kind's checks, none run yet.

    Args:
        registry: The registry it comes from.
        entry: Its registry entry.
        workdir: Where its runs write (None: a temporary folder made when needed).
        options: Options to build it with (None: its defaults).
        settings: Kind-specific settings (an algorithm's
            :class:`~climb_harness.testing.conformance.algorithm.RunSettings`).

    Returns:
        A :class:`~climb_harness.testing.conformance._subject.Subject` labelled ``kind:name``.
    """
    return Subject(
        f"{entry.kind}:{entry.name}",
        _CHECKS_OF_KIND[entry.kind](entry, options),
        registry=registry, entry=entry, plugin=entry.plugin, options=options, workdir=workdir,
        settings=settings, one_thread=entry.kind != "task",
    )


def plugin_subject(registry: Any, info: Any) -> Subject:
    """The subject for one plugin's own checks (loading, entry point, light import, components).

    Args:
        registry: The registry that loaded it.
        info: Its ``PluginInfo``.

    Returns:
        A subject labelled ``plugin:name``.
    """
    return Subject(f"plugin:{info.name}", plugins.checks(info), registry=registry, plugin=info)


def subjects(
    registry: Any,
    selector: str,
    *,
    workdir: str | Path | None = None,
    options: Mapping[str, Any] | None = None,
    kind: str | None = None,
) -> list[Subject]:
    """Every subject a selector means: a plugin's own, then each of its components'; or one component's.

    Args:
        registry: The registry to look in.
        selector: A plugin, distribution or ``--plugin`` stem, or ``kind:name``.
        workdir: Where runs write (None: temporary folders made when needed).
        options: Options for a single component (``kind:name`` only).
        kind: Only components of this kind (a plugin's own checks are kept).

    Returns:
        The subjects, none of their checks run yet.

    Raises:
        UsageError: If nothing has that name, or ``options`` are given for more than one component.
        UnknownComponentError: If ``kind:name`` names no registered component.
    """
    component_kind, _, name = selector.partition(":")
    if name and component_kind in registry.entries:
        entry = find_entry(registry, component_kind, name)
        return [component_subject(registry, entry, workdir=workdir, options=options)]
    if options is not None:
        raise UsageError(f"options apply to one component: give 'kind:name', not {selector!r}")
    infos = plugin_infos(registry, selector)
    if not infos:
        known = ", ".join(sorted(f"{p.name} ({p.distribution})" for p in registry.plugins)) or "(none)"
        raise UsageError(
            f"No plugin or distribution named {selector!r}. Installed plugins: {known}. "
            f"Install it, or load it with --plugin MODULE_OR_PATH."
        )
    found = []
    for info in infos:
        found.append(plugin_subject(registry, info))
        found += [
            component_subject(registry, entry, workdir=workdir)
            for entry in registry.all_entries(kind)
            if entry.plugin is info
        ]
    return found


def run_subjects(
    found: Sequence[Subject], on_component: Callable[[list[CheckResult]], None] | None
) -> list[CheckResult]:
    """Run every check of every subject, in order.

    Args:
        found: The subjects.
        on_component: Called with each subject's results as soon as they are known.

    Returns:
        All results.
    """
    results: list[CheckResult] = []
    for subject in found:
        done = subject.results()
        results += done
        if on_component:
            on_component(done)
    return results


def check_component(
    registry: Any,
    kind: str,
    name: str,
    workdir: str | Path | None = None,
    options: Mapping[str, Any] | None = None,
) -> list[CheckResult]:
    """Run every check of one component.

    Args:
        registry: The registry holding it.
        kind: ``"task"``, ``"encoder"`` or ``"algorithm"``.
        name: Its name.
        workdir: Where an algorithm's runs write (None: a temporary folder, removed after).
        options: Options to build it with (None: its defaults).

    Returns:
        One result per check.

    Raises:
        UnknownComponentError: If no such component is registered.
    """
    entry = find_entry(registry, kind, name)
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="climb-check-"))
        return component_subject(registry, entry, workdir=workdir, options=options).results()


def check_plugin(
    registry: Any,
    plugin: str,
    workdir: str | Path,
    on_component: Callable[[list[CheckResult]], None] | None = None,
) -> list[CheckResult]:
    """Run every check of a plugin and of every component it registers: ``climb check PLUGIN``.

    A plugin that failed to load is a failed ``plugin loads`` result (its other checks skipped).

    Args:
        registry: The registry that loaded it.
        plugin: Its entry-point or distribution name, or the stem of a ``--plugin`` file.
        workdir: Where algorithm runs write.
        on_component: Called with each component's results as soon as they are known.

    Returns:
        The plugin's results, then each component's.

    Raises:
        UsageError: If no plugin has that name.
    """
    return run_subjects(subjects(registry, plugin, workdir=workdir), on_component)


def check_selected(
    registry: Any,
    selectors: Sequence[str],
    workdir: str | Path,
    on_component: Callable[[list[CheckResult]], None] | None = None,
) -> list[CheckResult]:
    """Run the checks of plugins and single components; of every loaded plugin if ``selectors`` is empty.

    Args:
        registry: The registry to look in.
        selectors: Plugin or distribution names, ``--plugin`` stems, or ``kind:name``.
        workdir: Where algorithm runs write.
        on_component: Called with each component's results as soon as they are known.

    Returns:
        All results, in the selectors' order.

    Raises:
        UsageError: For an unknown name, before any check runs.
        UnknownComponentError: For an unknown ``kind:name``, before any check runs.
    """
    chosen = list(selectors) or sorted(
        {p.distribution if p.source == "entry point" else p.name for p in registry.plugins}
    )
    found = [subjects(registry, selector, workdir=workdir) for selector in chosen]  # fails fast on a typo
    return run_subjects([subject for group in found for subject in group], on_component)


def check_algorithm(
    registry: Any,
    name: str,
    workdir: str | Path,
    options: Mapping[str, Any] | None = None,
    *,
    encoder_factory: Callable[[], Any] | None = None,
    device: str = "cpu",
    size: int = 24,
    epochs: int = 2,
) -> list[Any]:
    """Run every check of algorithm ``name``.

    Args:
        registry: The registry holding it (and the encoders its ``requires`` may pick from).
        name: The algorithm's name.
        workdir: Where the runs write.
        options: Options to build it with (None: its defaults).
        encoder_factory: The encoder to run on (overrides the choice by capability).
        device: Torch device of the runs.
        size: Examples per split of each task.
        epochs: Epochs per task.

    Returns:
        One :class:`~climb_harness.testing.conformance.CheckResult` per check.

    Raises:
        UnknownComponentError: If no algorithm of that name is registered.
    """
    settings = algorithm.RunSettings(encoder_factory, device, size, epochs)
    entry = find_entry(registry, "algorithm", name)
    return component_subject(registry, entry, workdir=workdir, options=options, settings=settings).results()


def check_encoder(registry: Any, name: str, options: Mapping[str, Any] | None = None) -> list[Any]:
    """Run every check of encoder ``name``.

    Args:
        registry: The registry holding it.
        name: The encoder's name.
        options: Options to build it with (None: its defaults).

    Returns:
        One :class:`~climb_harness.testing.conformance.CheckResult` per check.

    Raises:
        UnknownComponentError: If no encoder of that name is registered.
    """
    return component_subject(registry, find_entry(registry, "encoder", name), options=options).results()


def check_task(registry: Any, name: str, options: Mapping[str, Any] | None = None) -> list[Any]:
    """Run every check of task ``name``.

    Args:
        registry: The registry holding it.
        name: The task's name.
        options: Options to build it with (None: its defaults).

    Returns:
        One :class:`~climb_harness.testing.conformance.CheckResult` per check.

    Raises:
        UnknownComponentError: If no task of that name is registered.
    """
    return component_subject(registry, find_entry(registry, "task", name), options=options).results()
