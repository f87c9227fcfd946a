"""The Logger base class: a component that observes runs (TensorBoard, W&B, ...)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from climb_harness.api.hookspecs import EpochLogs, RunInfo


class Logger:
    """Base class of loggers: one object per run of an experiment whose config enables it.

    Its methods are the run events of :data:`climb_harness.api.hookspecs.RUN_EVENTS`, with the parameters of
    the ``climb_<event>`` hooks. The runner calls them with deep read-only copies of what it has (``run`` holds
    ``output_dir``, ``algorithm``, ``seed``, ``tasks`` and ``config``); a logger writes under
    ``run["output_dir"]`` or wherever its options say. It cannot change the run: an exception it
    raises is reported once as a warning naming it, and the run goes on. Every method is optional.
    """

    manifest: Mapping[str, Any] = {}

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.options: dict[str, Any] = dict(options or {})

    def run_start(self, run: RunInfo) -> None:
        """A run (or a resumed run) begins."""

    def task_start(self, run: RunInfo, task_index: int, task: str) -> None:
        """Training on ``task`` begins."""

    def epoch_end(self, run: RunInfo, task_index: int, task: str, epoch: int, logs: EpochLogs) -> None:
        """An epoch ended: ``logs`` as the ``climb_epoch_end`` hook receives it."""

    def task_end(self, run: RunInfo, task_index: int, task: str, scores: dict[str, float]) -> None:
        """Learning ``task`` ended; ``scores`` is the accuracy-matrix row."""

    def run_end(self, run: RunInfo, results: dict[str, Any]) -> None:
        """The run finished; ``results`` is what results.json holds."""

    def close(self) -> None:
        """The run is over (finished, failed or interrupted): flush and close files."""
