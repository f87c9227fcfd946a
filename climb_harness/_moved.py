"""The module paths of climb-harness 0.5 (one flat package), kept importable for one minor version.

0.6 arranged the package in rings (``api``, ``core``, the features, ``cli``). Code outside the package that
imported an old path (``climb_harness.runner``, ``climb_harness.report``, ...) still works: the old name is
the new module itself (one object, so monkeypatching it patches the real one), with a DeprecationWarning that
names the new path. Plugins never needed these: they import only :mod:`climb_harness.api` and
:mod:`climb_harness.testing`, whose names did not change.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType
from typing import Any

#: old module -> new module (removed in climb-harness 0.7).
MOVED: dict[str, str] = {
    "climb_harness.errors": "climb_harness.api.errors",
    "climb_harness.hookspecs": "climb_harness.api.hookspecs",
    "climb_harness.registry": "climb_harness.core.registry",
    "climb_harness.plugin_paths": "climb_harness.core.plugin_paths",
    "climb_harness.schemas": "climb_harness.core.schemas",
    "climb_harness.safe_yaml": "climb_harness.core.safe_yaml",
    "climb_harness.config": "climb_harness.core.config",
    "climb_harness.experiment": "climb_harness.core.experiment",
    "climb_harness.references": "climb_harness.core.references",
    "climb_harness.events": "climb_harness.core.events",
    "climb_harness.results": "climb_harness.core.results",
    "climb_harness.checkpoints": "climb_harness.core.checkpoints",
    "climb_harness.heads": "climb_harness.core.heads",
    "climb_harness.data": "climb_harness.core.data",
    "climb_harness.metrics": "climb_harness.core.metrics",
    "climb_harness.confidence": "climb_harness.core.confidence",
    "climb_harness.uncertainty": "climb_harness.core.uncertainty",
    "climb_harness.comparison": "climb_harness.core.comparison",
    "climb_harness.example_scores": "climb_harness.core.example_scores",
    "climb_harness.fingerprint": "climb_harness.core.fingerprint",
    "climb_harness.lock": "climb_harness.core.lock",
    "climb_harness.grouping": "climb_harness.report.grouping",
    "climb_harness.runner": "climb_harness.core.engine",
    "climb_harness.report": "climb_harness.report.tables",
    "climb_harness.leaderboard": "climb_harness.report.leaderboard",
    "climb_harness.figures": "climb_harness.report.figures",
    "climb_harness.html_report": "climb_harness.report.html",
    "climb_harness.transfer": "climb_harness.transfer.cells",
    "climb_harness.lowshot": "climb_harness.transfer.lowshot",
    "climb_harness.tune": "climb_harness.tune.study",
    "climb_harness.ray_backend": "climb_harness.scale.ray",
    "climb_harness.parallel": "climb_harness.scale.parallel",
    "climb_harness.launch": "climb_harness.scale.launch",
    "climb_harness.scaffold": "climb_harness.scaffold.files",
    "climb_harness.show": "climb_harness.cli.show",
    "climb_harness.data_check": "climb_harness.cli.data_check",
}


class _Alias(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        warnings.warn(f"{spec.name} moved to {self.target} in climb-harness 0.6; import that (the old path goes "
                      "in 0.7)", DeprecationWarning, stacklevel=6)
        module = importlib.import_module(self.target)
        sys.modules[spec.name] = module
        return module

    def exec_module(self, module: ModuleType) -> None:
        return None


class _MovedFinder(importlib.abc.MetaPathFinder):
    """Finds the old paths of :data:`MOVED` only; every other import is left to the normal finders."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        new = MOVED.get(fullname)
        # an old name that is also a package of the new layout (climb_harness.report, .transfer, .tune,
        # .scaffold) is that package, which re-exports the old module's names
        if new is None or importlib.machinery.PathFinder.find_spec(fullname, path) is not None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _Alias(new))


def install() -> None:
    if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
