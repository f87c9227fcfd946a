"""Bounded one-paragraph messages, and blame: which component a failure belongs to."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from typing import TypeVar

from climb_harness.api.errors import ClimbError, PluginError, RunError
from climb_harness.core.provenance import component_source

__all__ = ["blame", "clip", "component_failure", "describe_exception", "is_out_of_memory", "os_reason", "out_of_memory"]

T = TypeVar("T")


def clip(text: object, limit: int = 240) -> str:
    """``str(text)`` on one line, cut to ``limit`` characters: what an error echoes from files or plugins."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def describe_exception(exc: BaseException, limit: int = 240) -> str:
    """``TypeName: message``, bounded (an exception's text may quote a whole file or tensor)."""
    text = clip(exc, limit)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def os_reason(exc: OSError) -> str:
    """``[Errno 28] No space left on device`` for an OSError, bounded."""
    if exc.errno is None:
        return describe_exception(exc, 160)
    name = errno.errorcode.get(exc.errno, str(exc.errno))
    return f"[Errno {exc.errno} {name}] {clip(exc.strerror or os.strerror(exc.errno), 120)}"


def component_failure(kind: str, name: str, obj: object, hook: str, exc: BaseException,
                      source: str | None = None) -> PluginError:
    """A bounded PluginError naming the component, where its code comes from, the call and the exception."""
    origin = source or component_source(obj) or "distribution unknown"
    return PluginError(
        f"The {kind} {name!r} ({origin}) failed in {hook}: {describe_exception(exc, 300)}. This is a fault "
        f"of the {kind}'s plugin, not of the config; the run stopped, and the tasks it had completed are "
        f"checkpointed and resumable. Fix the plugin (or report it to its authors), then rerun with --resume."
    )


def blame(kind: str, name: str, obj: object, hook: str, call: Callable[[], T],
          source: str | None = None) -> T:
    """``call()``; an exception that is not already a ClimbError becomes :func:`component_failure`."""
    try:
        return call()
    except ClimbError:
        raise
    except Exception as exc:
        if is_out_of_memory(exc):
            raise out_of_memory(exc, f"{kind} {name!r} {hook}") from exc
        raise component_failure(kind, name, obj, hook, exc, source) from exc


def out_of_memory(exc: BaseException, where: str) -> RunError:
    """Running out of memory is the size of the run, not a plugin's fault: say what to shrink."""
    return RunError(
        f"Out of memory in {where} ({describe_exception(exc, 200)}). The tasks completed so far are "
        f"checkpointed. Fix: lower training.batch_size or training.eval_batch_size (or use a device with "
        f"more memory), then rerun with --resume."
    )


def is_out_of_memory(exc: BaseException) -> bool:
    # torch's OutOfMemoryError, recognised without importing torch (climb report must stay light)
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError"
