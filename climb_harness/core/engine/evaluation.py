"""Evaluation: a split's per-example statistics, a row of the accuracy matrix with its intervals, and the
per-example scores file those intervals are recomputed from (:mod:`climb_harness.core.example_scores`)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from climb_harness.api.errors import RunError
from climb_harness.core.confidence import score_interval, task_stream
from climb_harness.core.engine.rng import EVAL_STREAM, isolated_rng, seed_everything
from climb_harness.core.engine.state import RunState
from climb_harness.core.example_scores import SCORES_FILE, ScoresError, ScoresRecorder, read_run_scores
from climb_harness.core.heads import ScoreAccumulator, statistic_kind
from climb_harness.core.io import atomic_write_bytes
from climb_harness.core.messages import clip

__all__ = ["Evaluation"]


class Evaluation(RunState):
    """How :class:`climb_harness.core.engine.runner.Runner` scores the model (every RNG stream left untouched)."""

    # ------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def evaluate(self, task: str, role: str) -> ScoreAccumulator:
        """The model's statistics on the ``role`` split (``"selection"`` or ``"report"``) of ``task``;
        leaves every training RNG stream untouched."""
        started = time.perf_counter()
        with isolated_rng(self.device):
            self._algorithm("before_evaluate", self.ctx, task)
            seed_everything(self.spec.seed, EVAL_STREAM)  # ViLT draws patch order from the global RNG in eval too
            was_training = self.model.training
            self.model.eval()
            split = self.splits[role][task]
            score = ScoreAccumulator(self.infos[task])
            size = self.training.eval_batch_size
            mine = self.execution.eval_shard(len(split))
            plan = [(task, list(mine[start : start + size])) for start in range(0, len(mine), size)]
            examples = 0
            for _, kept, cpu in self._loaded(role, plan):
                batch = {k: v.to(self.device, non_blocking=True) for k, v in cpu.items()}
                with self._autocast():
                    logits = self.model(task, batch)
                score.update(logits.float(), batch["targets"], kept)
                examples += len(kept)
            self.model.train(was_training)
            if self.execution.world > 1:  # every process's contiguous share, in order: each example once
                shares = self.execution.gather((score.statistics(), score.indices()))
                score.merge([stats for stats, _ in shares], [index for _, index in shares])
                examples = len(score.statistics())  # the clock counts the whole split, as in one process
        self.clock.eval_seconds += time.perf_counter() - started
        self.clock.eval_examples += examples
        return score

    def report_row(self, row: int) -> tuple[list[float], list[list[float]]]:
        """Scores and intervals of every task on the report split (``row`` -1: before training); the
        per-example statistics go to scores.safetensors (:mod:`climb_harness.core.example_scores`)."""
        scores, intervals = [], []
        for name in self.task_order:
            stats = self.evaluate(name, "report")
            values, index = stats.statistics(), stats.indices()
            if len(values) == 0:
                raise RunError(f"Task {name!r} has no examples in its {self.spec.report_split!r} split, which every score is "
                               "reported on (protocol.report_split); give the task labelled examples there, or choose "
                               "another report split.")
            scores.append(round(stats.value(), 6))
            low, high = score_interval(
                statistic_kind(self.infos[name]), values, self.groups[name][index], float(self.spec.confidence["level"]),
                int(self.spec.confidence["resamples"]), task_stream(name),
            )
            intervals.append([round(low, 6), round(high, 6)])
            self.scores.add("row", row + 1, name, index, values)
        return scores, intervals

    def _start_scores(self) -> None:
        """A fresh scores record: every report example's group, and the direct references' statistics."""
        self.scores = ScoresRecorder(self.task_order, [statistic_kind(self.infos[t]) for t in self.task_order])
        for name in self.task_order:
            self.scores.set_groups(name, self.groups[name])
            if name in self.spec.direct_statistics:
                index, stats = self.spec.direct_statistics[name]
                self.scores.add("direct", 0, name, index, stats)

    def _resume_scores(self, done: int) -> None:
        """The scores of the rows already measured (before training and the ``done`` completed tasks)."""
        path = self.spec.output_dir / SCORES_FILE
        try:
            self.scores = ScoresRecorder.read(path)
            read_run_scores(path, done + 1)  # every row up to the checkpoint is there and valid
        except ScoresError as exc:
            raise RunError(f"Cannot resume {self.spec.output_dir}: {exc} Start the run again in a new --output folder.") from None
        if self.scores.tasks != self.task_order:
            raise RunError(f"Cannot resume {self.spec.output_dir}: {path} holds the tasks {clip(self.scores.tasks, 200)}, "
                           f"not {clip(self.task_order, 200)}. Start the run again in a new --output folder.")
        self.scores.keep_rows(done + 1)

    def _write_scores(self) -> None:
        atomic_write_bytes(self.spec.output_dir / SCORES_FILE, self.scores.to_bytes())

    def _loaded(self, role: str, plan: Sequence[tuple[str, Sequence[int]]]) -> Iterator[tuple[str, list[int], dict[str, torch.Tensor]]]:
        """``(task, kept indices, CPU batch)`` of the planned batches of the ``role`` splits, collated ahead in
        the run's persistent DataLoader workers when their split is not preloaded."""
        prefix = f"{role}/"
        for key, kept, batch in self.loader.batches([(prefix + task, indices) for task, indices in plan]):
            yield key[len(prefix):], kept, batch

    def _autocast(self) -> Any:
        """Mixed precision for the harness's forward passes (``training.precision``); fp32: nothing."""
        precision = self.training.precision
        if precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16 if precision == "bf16" else torch.float16)
