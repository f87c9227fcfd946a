"""A run folder: results.json started or resumed, checkpoints written and restored, the finished metrics.

``--resume`` continues after the last completed task and ends with the same numbers as an uninterrupted run:
the checkpoint of that task restores the model and the algorithm's state, the per-example scores of the rows
measured so far are kept, and everything past the checkpoint is dropped.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from climb_harness.api.errors import RunError
from climb_harness.core.checkpoints import (
    algorithm_path,
    check_metadata,
    checkpoint_path,
    load_checkpoint,
    retrain_fix,
    save_checkpoint,
)
from climb_harness.core.confidence import INTERVAL_METHOD
from climb_harness.core.engine.costs import memory_source
from climb_harness.core.engine.observers import plain
from climb_harness.core.engine.state import RunState
from climb_harness.core.example_scores import SCORES_FILE, read_run_scores
from climb_harness.core.io import remove_orphan_temps
from climb_harness.core.messages import clip, describe_exception
from climb_harness.core.provenance import component_source, now, provenance
from climb_harness.core.results import RESULTS_FILE, read_results, schema_version_of, write_results
from climb_harness.core.uncertainty import run_intervals

__all__ = ["RESULTS_SCHEMA", "RUN_FILES", "RunFiles"]

#: results.json's schema version: 1.2 added per-example scores (scores.safetensors), metrics_ci and experiment.
RESULTS_SCHEMA = "1.2"
#: The files a run folder's atomic writes target: the only temporary files ``--resume`` removes.
RUN_FILES = (RESULTS_FILE, "config.json", "task-*.safetensors", SCORES_FILE)


class RunFiles(RunState):
    """How :class:`climb_harness.core.engine.runner.Runner` keeps its folder."""

    def _start_or_resume(self, resume: bool) -> dict[str, Any]:
        """results.json of a new run (after the scores before training), or of the run to resume."""
        self._algorithm("setup", self.ctx)
        if resume and self.results_path.exists():
            return self._resume_results()
        if self.results_path.exists() and not resume:
            existing = read_results(self.results_path)
            if existing.get("status") != "complete" or existing.get("config") != self.spec.config:
                raise RunError(
                    f"{self.results_path} already holds a{'n unfinished' if existing.get('status') != 'complete' else ' different'} run. "
                    f"Nothing was overwritten; pass --resume to continue it, or choose another --output folder."
                )
        return self._new_results()

    def _resume_results(self) -> dict[str, Any]:
        """The results of the run in the folder, checked against this one and cut back to its last checkpoint."""
        spec = self.spec
        version = schema_version_of(self.results_path)  # before validation: an old file fails today's schema
        if version is not None and version != RESULTS_SCHEMA:
            raise RunError(
                f"{self.results_path} was written by an earlier climb-harness (results schema {clip(version, 20)}, "
                "which kept no per-example scores to give its metrics intervals, or selected and reported on one "
                "split); it cannot be resumed under the current protocol. Nothing was changed; start the run again "
                "in a new --output folder."
            )
        results = read_results(self.results_path)
        if results.get("config") != spec.config:
            raise RunError(
                f"{self.results_path} was written by a different configuration, so --resume would mix two experiments. "
                f"Nothing was changed; resume with the same config, or use a new --output folder."
            )
        if results.get("tasks") != self.task_order:
            raise RunError(
                f"{self.results_path} holds a run over the tasks {clip(results.get('tasks'), 200)}, not "
                f"{clip(self.task_order, 200)}. Nothing was changed; resume with the same tasks, or use "
                f"a new --output folder."
            )
        done = len(results["accuracy_matrix"])
        self._resume_scores(done)
        if done:
            self._restore(done)
        for key in ("accuracy_matrix_ci", "best_epochs", "training_log"):  # no rows past the checkpoint
            if key in results:
                results[key] = results[key][:done]
        self.echo(f"{self._label()}: resuming after task {done} of {len(self.task_order)}"
                  + (f" ({self.task_order[done - 1]})" if done else "") + f" from {spec.output_dir}.")
        return results

    def _new_results(self) -> dict[str, Any]:
        """A new run's results.json: the scores before training, the protocol, references and provenance."""
        spec, algorithm = self.spec, self.spec.algorithm
        self.ctx.task_index = 0
        self._start_scores()
        initial, initial_ci = self.report_row(-1)
        self._write_scores()
        results: dict[str, Any] = {
            "schema_version": RESULTS_SCHEMA,
            "status": "running",
            "tasks": self.task_order,
            "algorithm": spec.label or algorithm.name,
            "algorithm_options": json.loads(json.dumps(plain(getattr(algorithm, "options", {}) or {}), default=str)),
            "seed": spec.seed,
            "protocol": {
                "selection_split": spec.selection_split,
                "report_split": spec.report_split,
                "confidence_interval": {"method": INTERVAL_METHOD,
                                        "level": float(spec.confidence["level"]), "resamples": int(spec.confidence["resamples"])},
            },
            "initial_scores": initial,
            "initial_scores_ci": initial_ci,
            "accuracy_matrix": [],
            "accuracy_matrix_ci": [],
            "best_epochs": [],
            "training_log": [],
            "metrics": {},
            "references": spec.references,
            "provenance": {**provenance(spec.plugins, spec.seed, str(self.device)), "threads": self.training.threads,
                           "processes": self.execution.world},
            "timing": {"per_task_seconds": {}, "total_seconds": 0.0, "peak_memory_mb": None, "peak_memory_source": memory_source(self.device)},
            "config": spec.config,
        }
        if spec.experiment is not None:
            results["experiment"] = copy.deepcopy(dict(spec.experiment))
        write_results(self.results_path, results)
        return results

    def _restore(self, done: int) -> None:
        """Load the checkpoint of task ``done - 1`` into the algorithm and the model, or name the file that
        does not fit (the model file, or the algorithm-state file)."""
        spec, index = self.spec, done - 1
        path = checkpoint_path(spec.output_dir, index, self.task_order[index])
        state, metadata, algorithm_state = load_checkpoint(path)
        expected = {k: v for k, v in self._metadata(index).items() if k != "global_step"}
        self.ctx.global_step = check_metadata(path, metadata, expected)
        self._load_algorithm_state(algorithm_path(path), algorithm_state)
        try:
            missing, unexpected = self.model.load_state_dict(state, strict=False)
        except RuntimeError as exc:  # e.g. size mismatch
            reason = describe_exception(exc, 300)
            raise RunError(f"The model checkpoint {path} does not match the model ({reason}); the encoder, "
                           f"its options or a task's head changed. {retrain_fix(path)}") from None
        if missing or unexpected:
            raise RunError(
                f"The model checkpoint {path} does not match the model (missing {clip(missing[:3], 150)}, "
                f"unexpected {clip(unexpected[:3], 150)}); the encoder or its options changed. "
                f"{retrain_fix(path)}"
            )

    def _load_algorithm_state(self, path: Path, state: dict[str, Any]) -> None:
        algorithm = self.spec.algorithm
        try:
            algorithm.load_state_dict(state, self.ctx)
        except (KeyboardInterrupt, RunError):
            raise
        except Exception as exc:
            source = self.spec.sources.get("algorithm") or component_source(algorithm) or "origin unknown"
            raise RunError(
                f"The algorithm {algorithm.name!r} ({source}) could not restore its state from {path} "
                f"({describe_exception(exc, 300)}): the checkpoint does not match the algorithm (its options "
                f"or version changed), or its load_state_dict() is faulty. {retrain_fix(path)}"
            ) from None

    def _checkpoint(self, index: int) -> None:
        if not self.spec.save_checkpoints:
            return
        name = self.task_order[index]
        path = checkpoint_path(self.spec.output_dir, index, name)
        save_checkpoint(path, self.model.state_dict(), self._metadata(index), self._algorithm("state_dict"))

    def _metadata(self, index: int) -> dict[str, Any]:
        """What a checkpoint says about the run it belongs to (checked again on resume)."""
        return {"task_index": index, "task": self.task_order[index], "tasks": self.task_order,
                "algorithm": self.spec.algorithm.name, "seed": self.spec.seed,
                "global_step": self.ctx.global_step, **self.adaptation}

    def _finish(self, results: dict[str, Any]) -> None:
        from climb_harness.core.metrics import compute_all

        refs = results["references"]
        results["metrics"] = compute_all(
            results["accuracy_matrix"], results["initial_scores"],
            [refs["random"][t] for t in self.task_order],
            [refs["direct"].get(t) for t in self.task_order],
            tasks=self.task_order,
            ci=results["accuracy_matrix_ci"],
            direct_ci=[refs.get("direct_ci", {}).get(t) for t in self.task_order],
            level=float(self.spec.confidence["level"]),
        )
        if self.execution.is_main:  # the file the main process wrote is the run's
            run = read_run_scores(self.spec.output_dir / SCORES_FILE, len(self.task_order) + 1)
            results["metrics_ci"] = run_intervals(
                run, results["metrics"], [refs["random"][t] for t in self.task_order],
                [refs["direct"].get(t) for t in self.task_order], int(self.spec.confidence["resamples"]),
                float(self.spec.confidence["level"]))
        results["status"] = "complete"
        results["provenance"]["finished_at"] = now()

    def _skipped(self, before: Mapping[str, Any]) -> dict[str, Any]:
        """results.json's ``skipped_examples``: per task and split, the examples left out because an image
        could not be read (merged with what an earlier, resumed process recorded)."""
        record: dict[str, Any] = {}
        for role, split in (("train", "train"), ("selection", self.spec.selection_split), ("report", self.spec.report_split)):
            for task, data in self.splits[role].items():
                old = before.get(task, {}).get(split, {})
                files = {int(i): f for i, f in zip(old.get("indices", []), old.get("files", []))}
                files.update(data.skipped)
                if files:
                    indices = sorted(files)
                    record.setdefault(task, {})[split] = {"count": len(indices), "indices": indices,
                                                          "files": [files[i] for i in indices]}
        for task, data in record.items():
            for split, entry in data.items():
                if entry["count"] and not before.get(task, {}).get(split):
                    self.echo(f"{self._label()}: {entry['count']} {split} example(s) of task {task!r} left out: their image "
                              f"cannot be read (e.g. {entry['files'][0]}); see skipped_examples in results.json.")
        return record

    def _remove_orphans(self) -> None:
        """Delete the temporary files of atomic writes a killed run left in the run folder (and say so)."""
        out = self.spec.output_dir
        count, size = remove_orphan_temps([out, out / "checkpoints"], RUN_FILES)
        if count:
            self.echo(f"{self._label()}: --resume removed {count} orphan temporary file(s) ({size} bytes, "
                      f"{size / 2**20:.1f} MiB) left in {out} by an interrupted write.")
