"""Phase I: the engineering loop of upstream continual learning.

Learns the tasks in order, calls the algorithm's hooks (research code lives only there), keeps the best
epoch on the selection split, evaluates *every* task after each task (future ones too, so the accuracy
matrix is full), and writes a checkpoint, the per-example scores and results.json after each task so that
``--resume`` continues after the last completed task with the same final numbers.

This module holds only that loop; what it uses lives beside it: building the model and splits
(:mod:`~climb_harness.core.engine.building`), training one task (:mod:`~climb_harness.core.engine.training`),
evaluation (:mod:`~climb_harness.core.engine.evaluation`), the run folder
(:mod:`~climb_harness.core.engine.runfiles`), observers (:mod:`~climb_harness.core.engine.observers`) and the
processes a run is spread over (:mod:`~climb_harness.core.engine.execution`).

**Best or last weights?** The next task starts from the *best-epoch* weights of the previous task, the
same weights that are checkpointed, evaluated and used for forgetting. (The original CLiMB continued from
the last epoch but reported the best one; here every number describes the model that is carried forward.)

**Selection and report splits.** The epoch is chosen on the selection split (``val``); every reported
number (the accuracy matrix, its intervals and every metric) comes from the report split (``test``), so no
reported score is the maximum over epochs of the examples it is read on.

**Randomness.** Python, NumPy and torch are seeded from ``(seed, task index)`` at every task start.
Evaluation runs on forked RNG states, seeded inside (ViLT samples image-patch order from the global RNG
even in eval mode): how often a run evaluates never changes the random numbers its training draws, and a
resumed run replays exactly what an uninterrupted one does.

**Failures.** An exception from an algorithm hook, the encoder or a task's data is a PluginError naming the
component, its distribution and the call; a full disk or a checkpoint that does not fit is a RunError.
Either way the tasks completed so far stay checkpointed and resumable.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from climb_harness.api import Task
from climb_harness.api.errors import ClimbError, RunError
from climb_harness.core.engine.building import Building
from climb_harness.core.engine.costs import Clock, peak_accelerator_mb, peak_memory_mb, peak_rss_mb
from climb_harness.core.engine.evaluation import Evaluation
from climb_harness.core.engine.execution import current as current_execution
from climb_harness.core.engine.observers import Observers
from climb_harness.core.engine.options import resolve_device
from climb_harness.core.engine.runfiles import RunFiles
from climb_harness.core.engine.spec import RunSpec
from climb_harness.core.engine.training import Training
from climb_harness.core.events import EventLog
from climb_harness.core.messages import blame, clip, is_out_of_memory, out_of_memory
from climb_harness.core.provenance import component_source
from climb_harness.core.results import RESULTS_FILE, write_results

__all__ = ["Runner"]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


class Runner(Building, Training, Evaluation, RunFiles):
    """Runs one :class:`RunSpec`; ``run(resume=...)`` returns the final results dict.

    What propagates out of :meth:`run`: ClimbErrors (RunError, PluginError, ConfigError: one-paragraph
    messages), ``KeyboardInterrupt`` (including an observer's :class:`AbortRun`), and any exception of
    a non-pluggy ``RunSpec.hooks`` object. Exceptions of plugin observers never do."""

    def __init__(self, spec: RunSpec) -> None:
        self.spec = spec
        self.training = spec.training
        self.execution = current_execution()  # one process, unless a data-parallel launcher installed another
        own_device = self.execution.device
        self.device = own_device if own_device is not None and self.training.device == "auto" \
            else resolve_device(self.training.device)
        self.task_order = [t.name for t in spec.tasks]
        self.infos = {t.name: t.info for t in spec.tasks}
        self.results_path = spec.output_dir / RESULTS_FILE
        self.echo = spec.echo or _stderr
        quiet = not self.execution.is_main  # the main process prints, logs and tells observers
        if quiet:
            self.echo = lambda line: None
        self.observers = Observers(None if quiet else spec.hooks, self.echo, spec.plugins, () if quiet else spec.loggers)
        if self.execution.world > 1:
            self._check_data_parallel()
        self.clock = Clock()  # the task being learned (the initial evaluation counts towards the first)

    def _check_data_parallel(self) -> None:
        """Refuse an algorithm whose manifest does not declare ``data_parallel: true``."""
        algorithm = self.spec.algorithm
        manifest = getattr(algorithm, "manifest", None) or {}
        if manifest and not manifest.get("data_parallel", False):
            source = self.spec.sources.get("algorithm") or component_source(algorithm) or "its plugin"
            raise RunError(
                f"The algorithm {algorithm.name!r} ({source}) does not declare data-parallel support (data_parallel: "
                f"true in its manifest), and this run has {self.execution.world} processes (accelerate launch). Its "
                "state (memories, gradients it edits, extra steps) may differ between processes. Run it in one process "
                "(plain `climb run`), or, as its author, make it correct under data parallelism and declare it.")
        if self.training.skip_unreadable_images:
            raise RunError("training.skip_unreadable_images is not supported under data parallelism (a batch one process "
                           "skips would leave the others waiting); run in one process, or fix the unreadable images.")

    # ------------------------------------------------------------------ plugin calls
    def _algorithm(self, hook: str, *args: Any) -> Any:
        """``algorithm.<hook>(*args)``; an exception that is not a ClimbError becomes a PluginError."""
        return self._blame_algorithm(f"{hook}()", lambda: getattr(self.spec.algorithm, hook)(*args))

    def _blame_algorithm(self, what: str, call: Callable[[], Any]) -> Any:
        algorithm = self.spec.algorithm
        return blame("algorithm", algorithm.name, algorithm, what, call, self.spec.sources.get("algorithm"))

    def _encoder_call(self, encoder: Any, hook: str, call: Callable[[], Any]) -> Any:
        name = str(getattr(encoder, "manifest", {}).get("name", type(encoder).__name__))
        return blame("encoder", name, encoder, hook, call, self.spec.sources.get("encoder"))

    def _emit(self, hook: str, **kwargs: Any) -> None:
        """Tell the observers (read-only views; see :mod:`climb_harness.core.engine.observers`)."""
        self.observers.emit(hook, run=self.run_info, **kwargs)

    def _task_setting(self, task: Task, key: str, fallback: Any) -> Any:
        value = getattr(self.training, key)
        return value if value is not None else task.manifest.get("defaults", {}).get(key, fallback)

    def _label(self) -> str:
        return f"{self.spec.label or self.spec.algorithm.name} seed {self.spec.seed}"

    # ------------------------------------------------------------------ the run
    def run(self, resume: bool = False) -> dict[str, Any]:
        try:
            return self._run(resume)
        except Exception as exc:  # running out of memory is the run's size, wherever it happens
            if is_out_of_memory(exc) and not isinstance(exc, ClimbError):
                raise out_of_memory(exc, f"run {self._label()}") from exc
            if not isinstance(exc, ClimbError) and self.execution.is_peer_failure(exc):
                raise RunError(f"Run {self._label()}: another data-parallel process stopped ({clip(exc, 160)}); this one "
                               "stops too. Its own message (above) names the cause; fix that and rerun with --resume "
                               "(the tasks completed so far are checkpointed).") from exc
            raise
        finally:
            loader = getattr(self, "loader", None)
            if loader is not None:
                loader.close()
            self.observers.close_loggers()
            self.observers.report()

    def _run(self, resume: bool) -> dict[str, Any]:
        if resume:
            self._remove_orphans()
        self._build()
        results = self._start_or_resume(resume)
        self.execution.barrier()  # no process reads the run's files after the main one writes them again
        self.events = EventLog(self.spec.output_dir, self.echo)
        self.events.write("run_start", algorithm=self.run_info["algorithm"], seed=self.spec.seed, tasks=self.task_order,
                          resumed_after=len(results["accuracy_matrix"]) if resume else None)
        self._emit("climb_run_start")
        started = time.perf_counter() - float(results["timing"].get("total_seconds", 0.0))
        for index in range(len(results["accuracy_matrix"]), len(self.task_order)):
            name = self.task_order[index]
            self.events.write("task_start", task_index=index, task=name)
            self._emit("climb_task_start", task_index=index, task=name)
            task_started = time.perf_counter()
            self.clock = Clock()
            log = self.train_task(index)
            row, intervals = self.report_row(index)
            self._record_task(results, index, log, row, intervals, task_started, started)
            self._checkpoint(index)
            self._write_scores()
            if index == len(self.task_order) - 1:
                self._finish(results)
            write_results(self.results_path, results)
            self.events.write("task_end", task_index=index, task=name, scores=dict(zip(self.task_order, row)),
                              timing=results["timing"]["per_task"][name])
            self._emit("climb_task_end", task_index=index, task=name, scores=dict(zip(self.task_order, row)))
        self.events.write("run_end", status=results.get("status"),
                          metrics={k: v for k, v in (results.get("metrics") or {}).items() if not isinstance(v, (dict, list))})
        self._emit("climb_run_end", results=results)
        return results

    def _record_task(self, results: dict[str, Any], index: int, log: dict[str, Any], row: list[float],
                     intervals: list[list[float]], task_started: float, started: float) -> None:
        """Task ``index``'s row, intervals, epochs and costs into the results."""
        name = self.task_order[index]
        results["accuracy_matrix"].append(row)
        results["accuracy_matrix_ci"].append(intervals)
        results["best_epochs"].append(log["best_epoch"])
        results["training_log"].append({"task": name, "epochs": log["epochs"]})
        timing = results["timing"]
        timing["per_task_seconds"][name] = round(time.perf_counter() - task_started, 3)
        timing["total_seconds"] = round(time.perf_counter() - started, 3)
        timing["peak_memory_mb"] = round(peak_memory_mb(self.device), 1)
        timing.setdefault("per_task", {})[name] = {"seconds": timing["per_task_seconds"][name], **self.clock.rates()}
        timing["peak_rss_mb"] = round(peak_rss_mb(), 1)
        accelerator = peak_accelerator_mb(self.device)
        timing["peak_accelerator_mb"] = None if accelerator is None else round(accelerator, 1)
        if self.training.skip_unreadable_images:
            results["skipped_examples"] = self._skipped(results.get("skipped_examples", {}))
