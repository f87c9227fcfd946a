"""The testing kit plugin authors use locally and in their CI (``climb check`` and pytest).

A plugin's tests import :mod:`climb_harness.api` and this package only. Its parts:

* :mod:`.conformance`: the checks every component gets; ``test_conformance =
  conformance_test("climb-my-plugin")`` in a test module makes each one its own test item;
* :mod:`.runs`: short real runs of an algorithm (tiny tasks, a real Context, crash and resume);
* :mod:`.components`: TinyEncoder and synthetic tasks (torch); :mod:`.manifests` their manifests;
* :mod:`.plugin`: those components as a ``--plugin`` for trying the harness in seconds;
* :mod:`.harness`: the core's objects plugin tests may use (Registry, Runner, schemas, ...);
* :mod:`.pytest_plugin`: the fixtures ``climb_registry``, ``climb_check`` and ``tiny_tasks``.

The names below are importable from here too, each loaded on first use, so importing this
package (as pytest does for the fixtures) imports no torch.

>>> from climb_harness.testing import conformance_test, Registry
>>> Registry.__module__
'climb_harness.core.registry'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from climb_harness.testing.harness import EXPORTS as _CORE

if TYPE_CHECKING:
    from climb_harness.testing.components import SyntheticTask, TinyEncoder, synthetic_task
    from climb_harness.testing.conformance import (
        CheckResult,
        ConformanceCase,
        assert_conforms,
        check_algorithm,
        check_component,
        conformance_params,
        conformance_test,
    )
    from climb_harness.testing.harness import (
        RESULTS_FILE,
        ClimbError,
        Context,
        ContinualModel,
        PluginError,
        Registry,
        RunError,
        Runner,
        RunSpec,
        TrainingOptions,
        UsageError,
        apply_override,
        build_optimizer,
        check_options_schema,
        cli_main,
        options_with_defaults,
        read_results,
        validate_manifest,
        validate_results,
    )
    from climb_harness.testing.runs import (
        StopRun,
        assert_resume_reproduces,
        assert_same_final_state,
        build_component,
        final_checkpoint,
        make_context,
        resume_after_crash,
        run_algorithm,
        run_spec,
        run_with_runner,
        single_thread,
    )

_KIT = {
    "climb_harness.testing.conformance": (
        "CheckResult", "ConformanceCase", "assert_conforms", "check_algorithm", "check_component",
        "conformance_params", "conformance_test",
    ),
    "climb_harness.testing.runs": (
        "StopRun", "assert_resume_reproduces", "assert_same_final_state", "build_component",
        "final_checkpoint", "make_context", "resume_after_crash", "run_algorithm", "run_spec",
        "run_with_runner", "single_thread",
    ),
    "climb_harness.testing.components": ("SyntheticTask", "TinyEncoder", "synthetic_task"),
}
#: name -> the module it comes from
EXPORTS: dict[str, str] = {
    **{name: module for module, names in _KIT.items() for name in names},
    **{name: "climb_harness.testing.harness" for name in _CORE},
}

__all__ = sorted(EXPORTS)


def __getattr__(name: str) -> Any:
    """Import an exported name on first use.

    Args:
        name: One of :data:`EXPORTS`.

    Returns:
        The object.

    Raises:
        AttributeError: For any other name.
    """
    if name not in EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *EXPORTS])
