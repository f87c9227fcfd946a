"""The harness's exceptions. Each carries the exit code the CLI uses (0 ok, 1 failed, 2 usage)."""

from __future__ import annotations


class ClimbError(Exception):
    """Base class: a one-paragraph message that names the thing at fault and the fix."""

    exit_code = 1


class UsageError(ClimbError):
    """The user asked for something that does not exist or is spelled wrong (exit code 2)."""

    exit_code = 2


class ConfigError(UsageError):
    """An experiment config or ``--set`` override is invalid (exit code 2)."""


class UnknownComponentError(UsageError):
    """A task, encoder or algorithm name that no installed plugin registers (exit code 2)."""


class PluginError(ClimbError):
    """A plugin failed to load, has an invalid manifest, or its component failed to build."""


class RunError(ClimbError):
    """A run could not go on: missing data, a corrupt checkpoint, a results folder in the way."""


def shorten(text: object, limit: int = 300, tail: int = 0) -> str:
    """``text`` (``str()`` of it) cut to ``limit`` characters, saying how much was left out.

    Error messages echo values from configs, manifests and files: a 1 MB value must not become a
    1 MB message. ``tail`` keeps that many characters of the end too (where jsonschema says what is
    wrong with the value it echoed first).

    >>> shorten("x" * 10, 8)
    'xxxxx… (5 more characters)'
    """
    text = str(text)
    if len(text) <= limit:
        return text
    keep = max(limit - 3 - tail, 1)
    end = text[len(text) - tail :] if tail else ""
    return f"{text[:keep]}… ({len(text) - keep - tail} more characters){' ' + end if end else ''}"


class MissingDataError(RunError, FileNotFoundError):
    """A component cannot find its data (a ``FileNotFoundError`` too, for callers that catch that)."""

    def __init__(self, message: str) -> None:
        RunError.__init__(self, message)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""
