"""The parts of the core a plugin's tests may use, in one supported place.

A plugin's tests import :mod:`climb_harness.api` and :mod:`climb_harness.testing` only, so the
core can reorganise its modules without breaking every plugin. Each name here is the core's own
object, imported when first used (importing this module imports neither torch nor the runner):

======================  ==================================================================
``Registry``            every installed plugin and component (``climb_harness.core.registry``)
``Runner``, ``RunSpec``, ``Context``, ``TrainingOptions``, ``build_optimizer``
                        the training loop and its pieces (``climb_harness.core.engine``)
``ContinualModel``      an encoder with one head per task (``climb_harness.core.heads``)
``validate_results``, ``read_results``, ``RESULTS_FILE``
                        a run's results.json (``climb_harness.core.results``)
``validate_manifest``, ``check_options_schema``, ``options_with_defaults``
                        manifest and options schemas (``climb_harness.core.schemas``)
``apply_override``      a ``key=value`` override of an experiment config (``climb_harness.core.config``)
``ClimbError``, ``UsageError``, ``PluginError``, ``RunError``
                        the errors the harness raises (``climb_harness.api.errors``)
``cli_main``            the ``climb`` command, for ``click.testing.CliRunner`` (``climb_harness.cli.main``, the click group)
======================  ==================================================================

>>> from climb_harness.testing.harness import validate_manifest
>>> validate_manifest("algorithm", {"name": "x"})[0].path
'$'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from climb_harness.cli import main as cli_main
    from climb_harness.core.config import apply_override
    from climb_harness.api.errors import ClimbError, PluginError, RunError, UsageError
    from climb_harness.core.heads import ContinualModel
    from climb_harness.core.registry import Registry
    from climb_harness.core.results import RESULTS_FILE, read_results, validate_results
    from climb_harness.core.engine import Context, Runner, RunSpec, TrainingOptions, build_optimizer
    from climb_harness.core.schemas import check_options_schema, options_with_defaults
    from climb_harness.core.schemas import validate as validate_manifest

#: name here -> (core module, name there)
EXPORTS: dict[str, tuple[str, str]] = {
    "Registry": ("climb_harness.core.registry", "Registry"),
    "Runner": ("climb_harness.core.engine", "Runner"),
    "RunSpec": ("climb_harness.core.engine", "RunSpec"),
    "Context": ("climb_harness.core.engine", "Context"),
    "TrainingOptions": ("climb_harness.core.engine", "TrainingOptions"),
    "build_optimizer": ("climb_harness.core.engine", "build_optimizer"),
    "ContinualModel": ("climb_harness.core.heads", "ContinualModel"),
    "validate_results": ("climb_harness.core.results", "validate_results"),
    "read_results": ("climb_harness.core.results", "read_results"),
    "RESULTS_FILE": ("climb_harness.core.results", "RESULTS_FILE"),
    "validate_manifest": ("climb_harness.core.schemas", "validate"),
    "check_options_schema": ("climb_harness.core.schemas", "check_options_schema"),
    "options_with_defaults": ("climb_harness.core.schemas", "options_with_defaults"),
    "apply_override": ("climb_harness.core.config", "apply_override"),
    "ClimbError": ("climb_harness.api.errors", "ClimbError"),
    "UsageError": ("climb_harness.api.errors", "UsageError"),
    "PluginError": ("climb_harness.api.errors", "PluginError"),
    "RunError": ("climb_harness.api.errors", "RunError"),
    "cli_main": ("climb_harness.cli", "main"),
}

__all__ = sorted(EXPORTS)


def __getattr__(name: str) -> Any:
    """Import a re-exported name on first use.

    Args:
        name: One of :data:`EXPORTS`.

    Returns:
        The core's object.

    Raises:
        AttributeError: For any other name.
    """
    if name not in EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attr = EXPORTS[name]
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *EXPORTS])
