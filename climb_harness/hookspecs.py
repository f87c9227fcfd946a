"""pluggy hook specifications: what a plugin module may implement.

Registration hooks return lists of :class:`climb_harness.api.Component`; they must be cheap and
must not import torch (``climb list`` calls them). Lifecycle hooks are events for loggers and
callbacks; they observe a run and cannot change it (use an algorithm for that): every argument is a
deep read-only copy (``climb_harness.runner.plain()`` turns one back into dicts and lists for a
logger that serialises it). An observer that raises, ``SystemExit`` included, is reported once as a
warning naming its plugin and the hook, and the run goes on; only ``KeyboardInterrupt`` and its
subclass ``climb_harness.runner.AbortRun`` (raise it to stop a run on purpose) propagate.

A plugin implements any subset, with ``@climb_harness.api.hookimpl``. A function whose name starts
with ``climb_`` but matches no hook here, or whose arguments are not a subset of the spec's, makes
the plugin invalid (pluggy's ``PluginValidationError`` / ``check_pending``).
"""

from __future__ import annotations

from typing import Any

import pluggy

from climb_harness.api import Component

hookspec = pluggy.HookspecMarker("climb")


# --------------------------------------------------------------------------- registration
@hookspec
def climb_tasks() -> list[Component]:
    """Return the tasks this plugin offers (``climb_harness.api.task(...)``)."""


@hookspec
def climb_encoders() -> list[Component]:
    """Return the encoders this plugin offers (``climb_harness.api.encoder(...)``)."""


@hookspec
def climb_algorithms() -> list[Component]:
    """Return the continual-learning algorithms this plugin offers (``climb_harness.api.algorithm(...)``)."""


@hookspec
def climb_loggers() -> list[Component]:
    """Return the loggers this plugin offers (``climb_harness.api.logger(...)``); a config enables them (``loggers:``)."""


# --------------------------------------------------------------------------- run lifecycle
@hookspec
def climb_run_start(run: dict[str, Any]) -> None:
    """A run begins. ``run`` holds ``output_dir``, ``algorithm``, ``seed``, ``tasks`` and ``config``."""


@hookspec
def climb_task_start(run: dict[str, Any], task_index: int, task: str) -> None:
    """Training on ``task`` (position ``task_index`` in the order) begins."""


@hookspec
def climb_epoch_end(run: dict[str, Any], task_index: int, task: str, epoch: int, logs: dict[str, float]) -> None:
    """An epoch ended; ``logs`` holds ``train_loss``, ``selection_score`` (the mean selection-split score of the tasks the epoch is chosen on), ``steps``, ``examples``, ``train_seconds``, ``eval_seconds``, ``train_examples_per_second`` and ``seconds``."""


@hookspec
def climb_task_end(run: dict[str, Any], task_index: int, task: str, scores: dict[str, float]) -> None:
    """Learning ``task`` ended; ``scores`` is the accuracy-matrix row (every task's score)."""


@hookspec
def climb_run_end(run: dict[str, Any], results: dict[str, Any]) -> None:
    """A run finished; ``results`` is what was written to results.json."""
