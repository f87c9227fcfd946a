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
