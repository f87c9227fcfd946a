"""The harness's exceptions (part of the contract: tasks raise DataError). Each carries the exit code the CLI
uses (0 ok, 1 failed, 2 usage)."""

from __future__ import annotations

from typing import Any


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


# --------------------------------------------------------------------------- data errors (raised by tasks)
class DataError(RunError, ValueError):
    """A task's data is there but wrong (a corrupt record, an unknown label): name the file, the line
    and the field, and how to get a good copy. The harness reports it as one paragraph (exit 1); it is
    a ``ValueError`` too, for code that catches that."""


class MissingDataError(DataError, FileNotFoundError):
    """A file or folder a task needs is absent: name it, the expected layout and how to get the data.

    A ``FileNotFoundError`` too, so the conformance kit skips (not fails) a task whose data is not
    downloaded yet, and the runner reports it as missing data in one paragraph.

    Example:
        >>> error = MissingDataError("VQAv2 data not found: /data/vqav2/train2014.")
        >>> isinstance(error, FileNotFoundError), isinstance(error, DataError), str(error)
        (True, True, 'VQAv2 data not found: /data/vqav2/train2014.')
    """

    def __init__(self, message: str) -> None:
        DataError.__init__(self, message)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnreadableImageError(DataError):
    """An image file of a task is missing or cannot be decoded (:func:`load_image` raises it).

    The runner stops with it (one paragraph naming the file), or, when the experiment opts in with
    ``training.skip_unreadable_images: true``, leaves the examples using the file out and counts them
    in results.json's ``skipped_examples``. Never a silent wrong label.

    Attributes:
        path: The file that could not be read.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        super().__init__(
            f"The image file {path} cannot be read ({reason}). Replace it with a good copy from the data "
            "set's release, or set training.skip_unreadable_images: true in the experiment config to leave "
            "out the examples that use it (they are counted in results.json under skipped_examples)."
        )

    def __reduce__(self) -> tuple[Any, ...]:  # DataLoader workers pickle it back to the main process
        return (_unreadable, (self.path, str(self)))


def _unreadable(path: str, message: str) -> UnreadableImageError:
    error = UnreadableImageError.__new__(UnreadableImageError)
    Exception.__init__(error, message)
    error.path = path
    return error


# Public under climb_harness.api (tracebacks and pickles name the module users import).
DataError.__module__ = MissingDataError.__module__ = UnreadableImageError.__module__ = "climb_harness.api"
