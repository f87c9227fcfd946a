"""pytest fixtures for plugin authors (registered under the ``pytest11`` entry point ``climb_harness``).

In a plugin's tests::

    def test_my_plugin_conforms(climb_check):
        climb_check("climb-my-plugin")          # every conformance check of every component

    def test_my_algorithm_learns(tiny_tasks, climb_registry):
        algorithm = climb_registry.build("algorithm", "my-algorithm")
        ...

Nothing is imported or run when pytest loads this module: the harness (and torch) are imported
by the fixtures that need them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def climb_registry() -> Any:
    """The registry of every installed plugin (``climb_harness.registry.Registry()``)."""
    from climb_harness.registry import Registry

    return Registry()


@pytest.fixture
def climb_check(climb_registry: Any, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., list[Any]]:
    """``climb_check(plugin_or_component, registry=None, options=None)``: run the conformance kit on
    a plugin (entry-point or distribution name) or one component (``"algorithm:my-method"``, built
    with ``options`` if given) and fail the test with every failed check listed. Returns the
    results (skipped checks included)."""
    from climb_harness.testing.conformance import assert_conforms

    def run(selector: str, registry: Any = None, options: Mapping[str, Any] | None = None) -> list[Any]:
        workdir: Path = tmp_path_factory.mktemp("climb-check")
        return assert_conforms(
            selector, workdir, registry if registry is not None else climb_registry, options=options
        )

    return run


@pytest.fixture
def tiny_tasks() -> list[Any]:
    """Two small learnable synthetic tasks (4-way colour, yes/no; 24 examples per split)."""
    from climb_harness.testing.conformance import tiny_tasks as make

    return make()
