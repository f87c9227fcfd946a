"""pluggy hook specifications: what a plugin module may implement.

Registration hooks return lists of :class:`climb_harness.api.Component`; they must be cheap and
must not import torch (``climb list`` calls them). Lifecycle hooks are events for loggers and
callbacks; they observe a run and cannot change it (use an algorithm for that): every argument is a
deep read-only copy (``climb_harness.core.engine.plain()`` turns one back into dicts and lists for a
logger that serialises it). An observer that raises, ``SystemExit`` included, is reported once as a
warning naming its plugin and the hook, and the run goes on; only ``KeyboardInterrupt`` and its
subclass ``climb_harness.core.engine.AbortRun`` (raise it to stop a run on purpose) propagate.

A plugin implements any subset, with ``@climb_harness.api.hookimpl``. A function whose name starts
with ``climb_`` but matches no hook here, or whose arguments are not a subset of the spec's, makes
the plugin invalid (pluggy's ``PluginValidationError`` / ``check_pending``).
"""

from __future__ import annotations

from typing import Any, TypedDict

import pluggy

from climb_harness.api._components import Component

hookspec = pluggy.HookspecMarker("climb")


# --------------------------------------------------------------------------- registration
@hookspec
def climb_tasks() -> list[Component]:
    """Return the tasks this plugin offers (``climb_harness.api.task(...)``)."""
    raise NotImplementedError  # a specification: pluggy calls the plugins\' implementations, never this


@hookspec
def climb_encoders() -> list[Component]:
    """Return the encoders this plugin offers (``climb_harness.api.encoder(...)``)."""
    raise NotImplementedError  # a specification: pluggy calls the plugins\' implementations, never this


@hookspec
def climb_algorithms() -> list[Component]:
    """Return the continual-learning algorithms this plugin offers (``climb_harness.api.algorithm(...)``)."""
    raise NotImplementedError  # a specification: pluggy calls the plugins\' implementations, never this


@hookspec
def climb_loggers() -> list[Component]:
    """Return the loggers this plugin offers (``climb_harness.api.logger(...)``); a config enables them (``loggers:``)."""
    raise NotImplementedError  # a specification: pluggy calls the plugins\' implementations, never this


# --------------------------------------------------------------------------- run lifecycle
class RunInfo(TypedDict):
    """What every lifecycle hook's ``run`` holds (as a read-only mapping)."""

    output_dir: str
    algorithm: str
    seed: int
    tasks: list[str]
    config: dict[str, Any]


class EpochLogs(TypedDict):
    """What ``climb_epoch_end`` receives as ``logs``."""

    train_loss: float
    selection_score: float  # the mean selection-split score of the tasks the epoch is chosen on
    steps: int
    examples: int
    train_seconds: float
    eval_seconds: float
    train_examples_per_second: float
    seconds: float


#: The run events, in the order a run emits them: hook ``climb_<event>``, and the :class:`climb_harness.api.Logger`
#: method ``<event>`` with the same parameters (``tests/features/test_loggers.py`` checks they stay one definition).
RUN_EVENTS: tuple[str, ...] = ("run_start", "task_start", "epoch_end", "task_end", "run_end")


@hookspec
def climb_run_start(run: RunInfo) -> None:
    """A run (or a resumed run) begins."""


@hookspec
def climb_task_start(run: RunInfo, task_index: int, task: str) -> None:
    """Training on ``task`` (position ``task_index`` in the order) begins."""


@hookspec
def climb_epoch_end(run: RunInfo, task_index: int, task: str, epoch: int, logs: EpochLogs) -> None:
    """An epoch ended (:class:`EpochLogs`)."""


@hookspec
def climb_task_end(run: RunInfo, task_index: int, task: str, scores: dict[str, float]) -> None:
    """Learning ``task`` ended; ``scores`` is the accuracy-matrix row (every task's score)."""


@hookspec
def climb_run_end(run: RunInfo, results: dict[str, Any]) -> None:
    """A run finished; ``results`` is what was written to results.json."""
