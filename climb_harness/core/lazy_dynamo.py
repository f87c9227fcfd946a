"""Keep ``torch._dynamo`` (about 2 s of imports) out of processes that never compile.

torch's optimizers import ``torch._dynamo`` on their first ``add_param_group``/``step`` only to call
``graph_break()`` and ``disable()``, which do nothing outside a compiled frame. :func:`install` puts a
stand-in module under that name whose ``graph_break`` is that no-op and whose ``disable(fn)`` is
``fn``; the first use of anything else (``torch.compile``, ``torch._dynamo.config``, importing a
submodule, ``from torch._dynamo import ...``) imports the real module in its place and undoes the
stand-in's ``disable`` caches, so compiling code behaves exactly as without it. The harness installs it
in the processes it owns (``climb`` commands and Ray cells); ``CLIMB_EAGER_DYNAMO=1`` turns it off.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

NAME = "torch._dynamo"
_lock = threading.RLock()


class _StandIn(types.ModuleType):
    """What ``torch._dynamo`` is until something needs more than its two eager no-ops."""

    def __init__(self, spec: Any) -> None:
        super().__init__(NAME)
        self.__spec__ = spec
        self.__file__ = getattr(spec, "origin", None)
        self.__path__ = list(spec.submodule_search_locations or [])  # a package: submodules are imported
        self._disabled: list[Callable[..., Any]] = []

    def graph_break(self, msg: str = "") -> None:
        """Outside a compiled frame (the only place the stand-in exists), a graph break is nothing."""

    def disable(self, fn: Any = None, recursive: bool = True, *, wrapping: bool = True, reason: str | None = None) -> Any:
        """Outside compilation a disabled function is the function; remembered so the real module can redo it."""
        if fn is None:
            return lambda f: self.disable(f, recursive, wrapping=wrapping, reason=reason)
        self._disabled.append(fn)
        return fn

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return getattr(_load_real(), name)


class _Finder(importlib.abc.MetaPathFinder):
    """Importing a submodule (``torch._dynamo.eval_frame``) loads the real package, then the submodule
    under it, and hands the import system that module (the stand-in's import is already under way)."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if not (fullname.startswith(NAME + ".") and isinstance(sys.modules.get(NAME), _StandIn)):
            return None
        _load_real()
        module = importlib.import_module(fullname)
        return importlib.machinery.ModuleSpec(fullname, _Loaded(module))


class _Loaded(importlib.abc.Loader):
    """The loader of a module that is already imported: it is the module, with its own spec kept."""

    def __init__(self, module: types.ModuleType) -> None:
        self.module = module
        self.spec, self.loader = module.__spec__, getattr(module, "__loader__", None)

    def create_module(self, spec: Any) -> types.ModuleType:
        return self.module

    def exec_module(self, module: types.ModuleType) -> None:
        module.__spec__, module.__loader__ = self.spec, self.loader  # undo what module_from_spec set


_finder = _Finder()


def _load_real() -> types.ModuleType:
    with _lock:
        current = sys.modules.get(NAME)
        if not isinstance(current, _StandIn):
            return current  # type: ignore[return-value]
        import torch

        del sys.modules[NAME]
        torch.__dict__.pop("_dynamo", None)
        if _finder in sys.meta_path:
            sys.meta_path.remove(_finder)
        for fn in current._disabled:  # torch._disable_dynamo caches the disabled function on fn
            if getattr(fn, "__dynamo_disable", None) is fn:
                delattr(fn, "__dynamo_disable")
        real = importlib.import_module(NAME)
        return real


def install() -> bool:
    """Put the stand-in in place unless ``torch._dynamo`` is already imported (or opted out of).

    Returns:
        Whether the stand-in is in place now.
    """
    if os.environ.get("CLIMB_EAGER_DYNAMO", "").strip() not in ("", "0"):
        return False
    with _lock:
        if NAME in sys.modules:
            return isinstance(sys.modules[NAME], _StandIn)
        import torch

        spec = importlib.machinery.PathFinder.find_spec(NAME, list(torch.__path__))
        if spec is None:  # a torch without dynamo: nothing to keep out
            return False
        stand_in = _StandIn(spec)
        sys.modules[NAME] = stand_in
        torch._dynamo = stand_in  # type: ignore[attr-defined]
        sys.meta_path.insert(0, _finder)
        return True


def active() -> bool:
    """Whether ``torch._dynamo`` is still the stand-in (nothing has needed the real module)."""
    return isinstance(sys.modules.get(NAME), _StandIn)
