"""Lifecycle observers (plugins' ``climb_*`` event hooks and loggers): told everything, able to change nothing.

Observers get read-only deep copies of ``run``, ``logs``, ``scores`` and ``results`` (mappings as
``MappingProxyType``, lists as tuples; :func:`plain` turns one back into plain dicts and lists), so they
cannot change what results.json records. With a pluggy relay (plugins), each implementation is called on
its own: one that raises, even ``SystemExit``, is warned about (once per plugin and hook, then counted)
and the run goes on. Only ``KeyboardInterrupt`` propagates: a user's Ctrl-C, or :class:`AbortRun` (a
subclass) that an observer raises to stop the run on purpose, as a crash would. A ``RunSpec.hooks`` that
is not a pluggy relay is the caller's own in-process object: it also gets read-only views, but its
exceptions propagate, as any caller code's do.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from climb_harness.core.messages import describe_exception

__all__ = ["AbortRun", "Observers", "plain", "read_only"]


class AbortRun(KeyboardInterrupt):
    """Raised by a lifecycle observer to stop the run on purpose, as a crash or Ctrl-C would.

    The one exception (with KeyboardInterrupt itself) the runner lets out of an observer; the tasks
    completed before it stay checkpointed and resumable."""


def read_only(value: Any) -> Any:
    """A deep read-only copy: mappings as ``MappingProxyType``, lists and tuples as tuples, sets frozen."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: read_only(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(read_only(item) for item in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(read_only(item) for item in value)
    return copy.deepcopy(value)


def plain(view: Any) -> Any:
    """What an observer may keep or serialise: a :func:`read_only` view as plain (mutable) dicts and lists."""
    if isinstance(view, Mapping):
        return {key: plain(item) for key, item in view.items()}
    if isinstance(view, (list, tuple)):
        return [plain(item) for item in view]
    return copy.deepcopy(view)


class Observers:
    """Calls the lifecycle hooks so that no observer can stop or change a run (see the module docstring)."""

    def __init__(self, hooks: Any, echo: Callable[[str], None],
                 plugins: Sequence[Mapping[str, Any]] = (), loggers: Sequence[Any] = ()) -> None:
        self.hooks = hooks
        self.loggers = list(loggers)
        self.echo = echo
        self.failures: dict[tuple[str, str], int] = {}
        self._sources = {str(p.get("plugin")): f"{p.get('distribution')} {p.get('version')}" for p in plugins}

    def emit(self, hook: str, **kwargs: Any) -> None:
        caller = getattr(self.hooks, hook, None) if self.hooks is not None else None
        if caller is None and not self.loggers:
            return
        views = {key: read_only(value) for key, value in kwargs.items()}
        for logger in self.loggers:  # climb_epoch_end -> logger.epoch_end(...)
            self._call_logger(hook, logger, hook.removeprefix("climb_"), views)
        if caller is None:
            return
        impls = getattr(caller, "get_hookimpls", None)
        if impls is None:  # the caller's own hooks object, not plugins: its exceptions are the caller's
            caller(**views)
            return
        for impl in reversed(impls()):  # pluggy's own call order
            self._call(hook, impl, views)

    def _call(self, hook: str, impl: Any, views: Mapping[str, Any]) -> None:
        try:
            result = impl.function(**{key: value for key, value in views.items() if key in impl.argnames})
            if inspect.isgenerator(result):  # a hook wrapper: there is no inner result to wrap
                _drive_wrapper(result, bool(getattr(impl, "hookwrapper", False)))
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - an observer must not end a run, not even by SystemExit
            self._failed(hook, str(impl.plugin_name), exc)

    def _call_logger(self, hook: str, logger: Any, method: str, views: Mapping[str, Any]) -> None:
        function = getattr(logger, method, None)
        if function is None:
            return
        name = f"logger {getattr(logger, 'manifest', {}).get('name', type(logger).__name__)}"
        try:
            accepted = inspect.signature(function).parameters
            function(**{key: value for key, value in views.items() if key in accepted})
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - a logger must not end a run
            self._failed(hook, name, exc)

    def close_loggers(self) -> None:
        """``close()`` every logger (a failure is warned about, like any other)."""
        for logger in self.loggers:
            self._call_logger("close", logger, "close", {})

    def _failed(self, hook: str, plugin: str, exc: BaseException) -> None:
        key = (plugin, hook)
        self.failures[key] = self.failures.get(key, 0) + 1
        if self.failures[key] == 1:
            source = self._sources.get(plugin)
            self.echo(
                f"warning: observer plugin {plugin!r}{f' ({source})' if source else ''} raised "
                f"{describe_exception(exc, 300)} in hook {hook}; it was ignored and the run goes on "
                f"(observers may not stop or change a run; later failures of this plugin in {hook} are only "
                f"counted). Fix or uninstall the plugin."
            )

    def report(self) -> None:
        """One line per plugin and hook that failed more than once."""
        for (plugin, hook), count in self.failures.items():
            if count > 1:
                self.echo(f"warning: observer plugin {plugin!r} failed {count} times in hook {hook}.")


def _drive_wrapper(generator: Any, old_style: bool) -> None:
    from pluggy import Result

    next(generator)
    try:
        generator.send(Result(None, None) if old_style else None)
    except StopIteration:
        return
    raise RuntimeError("the hook wrapper yielded more than once")
