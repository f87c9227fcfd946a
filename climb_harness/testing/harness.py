"""The parts of the core a plugin's tests may use, in one supported place.

A plugin's tests import :mod:`climb_harness.api` and :mod:`climb_harness.testing` only, so the
core can reorganise its modules without breaking every plugin. Each name here is the core's own
object, imported when first used (importing this module imports neither torch nor the runner):

======================  ==================================================================
``Registry``            every installed plugin and component (``climb_harness.registry``)
``Runner``, ``RunSpec``, ``Context``, ``TrainingOptions``, ``build_optimizer``
                        the training loop and its pieces (``climb_harness.runner``)
``ContinualModel``      an encoder with one head per task (``climb_harness.heads``)
``validate_results``, ``read_results``, ``RESULTS_FILE``
                        a run's results.json (``climb_harness.results``)
``validate_manifest``, ``check_options_schema``, ``options_with_defaults``
                        manifest and options schemas (``climb_harness.schemas``)
``apply_override``      a ``key=value`` override of an experiment config (``climb_harness.config``)
``ClimbError``, ``UsageError``, ``PluginError``, ``RunError``
                        the errors the harness raises (``climb_harness.errors``)
``cli_main``            the ``climb`` command, for ``click.testing.CliRunner`` (``climb_harness.cli.main``)
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
    from climb_harness.config import apply_override
    from climb_harness.errors import ClimbError, PluginError, RunError, UsageError
    from climb_harness.heads import ContinualModel
    from climb_harness.registry import Registry
    from climb_harness.results import RESULTS_FILE, read_results, validate_results
    from climb_harness.runner import Context, Runner, RunSpec, TrainingOptions, build_optimizer
    from climb_harness.schemas import check_options_schema, options_with_defaults
    from climb_harness.schemas import validate as validate_manifest

#: name here -> (core module, name there)
EXPORTS: dict[str, tuple[str, str]] = {
    "Registry": ("climb_harness.registry", "Registry"),
    "Runner": ("climb_harness.runner", "Runner"),
    "RunSpec": ("climb_harness.runner", "RunSpec"),
    "Context": ("climb_harness.runner", "Context"),
    "TrainingOptions": ("climb_harness.runner", "TrainingOptions"),
    "build_optimizer": ("climb_harness.runner", "build_optimizer"),
    "ContinualModel": ("climb_harness.heads", "ContinualModel"),
    "validate_results": ("climb_harness.results", "validate_results"),
    "read_results": ("climb_harness.results", "read_results"),
    "RESULTS_FILE": ("climb_harness.results", "RESULTS_FILE"),
    "validate_manifest": ("climb_harness.schemas", "validate"),
    "check_options_schema": ("climb_harness.schemas", "check_options_schema"),
    "options_with_defaults": ("climb_harness.schemas", "options_with_defaults"),
    "apply_override": ("climb_harness.config", "apply_override"),
    "ClimbError": ("climb_harness.errors", "ClimbError"),
    "UsageError": ("climb_harness.errors", "UsageError"),
    "PluginError": ("climb_harness.errors", "PluginError"),
    "RunError": ("climb_harness.errors", "RunError"),
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
