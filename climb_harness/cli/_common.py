"""What every ``climb`` verb shares: the ``--plugin`` option, one-paragraph errors with their exit codes, the
registry, and the set-up of a process that trains."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from climb_harness.api.errors import ClimbError, shorten

__all__ = ["KIND_CHOICES", "MAX_MESSAGE", "handles_errors", "load_registry", "plugin_option", "training_process"]

#: The longest error message printed: a value echoed from a 1 MB file must not flood the terminal.
MAX_MESSAGE = 2_000

KIND_CHOICES = {"tasks": "task", "encoders": "encoder", "algorithms": "algorithm", "loggers": "logger"}

plugin_option = click.option(
    "--plugin",
    "plugins",
    multiple=True,
    metavar="MODULE_OR_PATH",
    help="Load a plugin that is not installed: a module name, or the path of its hook .py file, package folder or distribution folder (repeatable).",
)

def _fail(message: str, exit_code: int) -> None:
    click.echo(f"Error: {shorten(' '.join(message.split()), MAX_MESSAGE)}", err=True)
    sys.exit(exit_code)

def handles_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a ClimbError into its one-paragraph message and exit code instead of a traceback.

    Anything else that escapes is a bug of the harness: it is reported in one paragraph too (exit 1),
    with the traceback only when ``CLIMB_DEBUG=1``.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ClimbError as exc:
            _fail(str(exc), exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            if os.environ.get("CLIMB_DEBUG"):
                raise
            _fail(
                f"climb-harness hit an unexpected {type(exc).__name__}: {shorten(exc, 500)}. This is a bug in the harness "
                f"(or in a plugin it called), not in your input: please report it with the command you ran; rerun with "
                f"CLIMB_DEBUG=1 to see the traceback. Anything already written is kept (use --resume for a run).",
                1,
            )

    return wrapper

def load_registry(plugins: tuple[str, ...]) -> Any:
    from climb_harness.core.registry import Registry

    return Registry(plugins)


def training_process() -> None:
    """What a process that trains gets: no downloads, no torch._dynamo import unless something compiles, and,
    under a data-parallel launcher, an end when the ``climb`` process that launched it ends."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the harness never downloads; plugins load local files
    from climb_harness.scale.parallel import install, launched_processes, watch_launcher

    if launched_processes() > 1:
        watch_launcher()
        install()
    from climb_harness.core import lazy_dynamo as _lazy_dynamo

    _lazy_dynamo.install()


def _csv(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]
