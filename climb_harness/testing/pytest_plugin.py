"""pytest fixtures for plugin authors (registered under the ``pytest11`` entry point ``climb_harness``).

Every check of the conformance kit as its own test item comes from
:func:`climb_harness.testing.conformance_test`; these fixtures serve the plugin's own tests::

    from climb_harness.testing import conformance_test

    test_conformance = conformance_test("climb-my-plugin")   # one item per (component, check)

    def test_my_algorithm_learns(tiny_tasks, climb_registry):
        algorithm = climb_registry.build("algorithm", "my-algorithm")
        ...

    def test_my_task_reads_this_folder(climb_check, tmp_path):
        ...                                           # write a data folder, then
        climb_check("task:my-task", options={"data_dir": str(tmp_path)})   # every check, in one test

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
    """The registry of every installed plugin, shared with the conformance items of the session.

    Returns:
        A :class:`climb_harness.core.registry.Registry`.
    """
    from climb_harness.testing.conformance import installed_registry

    return installed_registry()


@pytest.fixture
def climb_check(climb_registry: Any, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., list[Any]]:
    """Run the whole kit on a plugin or one component inside one test.

    Args:
        climb_registry: The session's registry (the default one to look in).
        tmp_path_factory: Makes each call's work folder.

    Returns:
        ``climb_check(selector, registry=None, options=None)``: runs every check of a plugin
        (entry-point or distribution name) or of one component (``"algorithm:my-method"``, built
        with ``options`` if given), fails the test listing every failed check, and returns the
        results (skipped ones included).
    """
    from climb_harness.testing.conformance import assert_conforms

    def run(selector: str, registry: Any = None, options: Mapping[str, Any] | None = None) -> list[Any]:
        workdir: Path = tmp_path_factory.mktemp("climb-check")
        chosen = registry if registry is not None else climb_registry
        return assert_conforms(selector, workdir, chosen, options=options)

    return run


@pytest.fixture
def tiny_tasks() -> list[Any]:
    """The conformance kit's two small learnable synthetic tasks.

    Returns:
        ``conformance-colour`` (4-way) and ``conformance-yesno``, 24 examples per split.
    """
    from climb_harness.testing.conformance import tiny_tasks as make

    return make()
