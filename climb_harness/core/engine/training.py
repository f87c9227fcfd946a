"""Training one task: the algorithm's hooks around each step, an epoch chosen on the selection split, and the
best epoch's weights carried forward (they are what is checkpointed, evaluated and used for forgetting)."""

from __future__ import annotations

import copy
import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import torch
from tqdm.auto import tqdm

from climb_harness.api import OptimizerConfig
from climb_harness.api.errors import RunError
from climb_harness.core.engine.optim import build_optimizer, linear_schedule, parameter_groups
from climb_harness.core.engine.rng import seed_everything
from climb_harness.core.engine.state import RunState
from climb_harness.core.messages import clip

__all__ = ["Training"]


def _not_a_tensor(loss: Any) -> Callable[[], None]:
    def fail() -> None:
        raise TypeError(f"it returned {type(loss).__name__} {clip(repr(loss), 60)}, not a torch.Tensor")

    return fail


class _Epoch:
    """What one epoch's steps add up to."""

    def __init__(self, device: torch.device) -> None:
        self.loss = torch.zeros((), device=device)  # summed on the device: no sync per step
        self.steps = 0
        self.examples = 0


class Training(RunState):
    """How :class:`climb_harness.core.engine.runner.Runner` learns one task."""

    def train_task(self, index: int) -> dict[str, Any]:
        """Learn task ``index``; returns ``{"best_epoch", "epochs": [per-epoch logs]}``."""
        task = self.spec.tasks[index]
        ctx, model = self.ctx, self.model
        ctx.task_index = index
        seed_everything(self.spec.seed, index + 1)
        if self.execution.world > 1:  # dropout masks of every process's own (ContinualModel.rank_stream)
            model.own_stream(self.spec.seed, self.execution.rank, index)
        self._algorithm("on_task_start", ctx)
        epochs = int(self._task_setting(task, "epochs", 1))
        lr = float(self._task_setting(task, "lr", 1e-4))
        ctx.optimizer, schedule = self._optimizer(lr)
        # The schedule spans the batches actually trained on: an algorithm's own batches (joint training
        # over several tasks) may outnumber the task's.
        batches = self._epoch_batches(task.name, 0)
        scheduler = (linear_schedule(ctx.optimizer, epochs * len(batches), self.training.warmup_ratio, schedule)
                     if ctx.optimizer else None)
        selection = self._selection_tasks()
        scaler = torch.amp.GradScaler(self.device.type) if self.training.precision == "fp16" and ctx.optimizer else None
        best_score, best_epoch, best_state = -math.inf, -1, None
        epoch_log = []
        for epoch in range(epochs):
            started = time.perf_counter()
            model.train()
            if epoch:
                batches = self._epoch_batches(task.name, epoch)
            done = self._train_epoch(task.name, epoch, epochs, batches, scheduler, scaler)
            logs = self._epoch_logs(index, task.name, epoch, done, selection, started)
            epoch_log.append(logs)
            if logs["selection_score"] > best_score:
                best_score, best_epoch = logs["selection_score"], epoch
                best_state = copy.deepcopy({k: v.detach() for k, v in model.state_dict().items()}) if epoch < epochs - 1 else None
        if best_state is not None:  # None: the last epoch was the best, nothing to restore
            model.load_state_dict(best_state)
        self._algorithm("on_task_end", ctx)
        return {"best_epoch": best_epoch, "epochs": epoch_log}

    def _train_epoch(self, task: str, epoch: int, epochs: int, batches: list[tuple[str, list[int]]],
                     scheduler: Any, scaler: Any) -> _Epoch:
        """One epoch's steps: this process's share of each batch (its loss weighted by the share), the
        algorithm's loss and hooks, and the optimizer step."""
        ctx, done = self.ctx, _Epoch(self.device)
        shards = [(name, *self.execution.shard(indices)) for name, indices in batches]
        weights: Iterator[float | None] = iter([weight for _, _, weight in shards])
        steps: Iterable[tuple[str, list[int], dict[str, torch.Tensor]]] = self._loaded(
            "train", [(name, mine) for name, mine, _ in shards])
        if self.training.progress:  # no wrapper at all when progress bars are off
            steps = tqdm(steps, total=len(batches), desc=f"{self.spec.algorithm.name} {task} epoch {epoch + 1}/{epochs}",
                         leave=False, disable=None, file=sys.stderr)
        for batch_task, indices, cpu in steps:
            ctx.batch_indices = list(indices)
            batch = {k: v.to(self.device, non_blocking=True) for k, v in cpu.items()}
            with self._autocast():
                loss = self._algorithm("training_loss", ctx, batch_task, batch)
            weight = next(weights)
            if weight is not None and isinstance(loss, torch.Tensor):
                loss = loss * weight  # summed over the processes: the whole batch's mean loss
            if ctx.optimizer is not None:
                self._step(loss, batch_task, batch, scaler)
                scheduler.step()
            self._algorithm("after_optimizer_step", ctx, batch_task, batch)
            ctx.global_step += 1
            done.loss += loss.detach()
            done.steps += 1
            done.examples += len(indices) if weight is None or weight else 0  # a weight-0 stand-in is not trained on
        self._algorithm("on_epoch_end", ctx, epoch)
        if self.execution.world > 1:  # the weighted shares sum to each batch's loss; examples over every process
            done.loss = self.execution.sum_scalar(done.loss)
            done.examples = int(self.execution.sum_scalar(torch.tensor(float(done.examples), device=self.device)))
        return done

    def _step(self, loss: Any, task: str, batch: dict[str, torch.Tensor], scaler: Any) -> None:
        """Backward, gradients combined over the processes, ``before_optimizer_step``, clipping, the step; with
        fp16 the backward is scaled and the hooks and clipping see the unscaled gradients."""
        ctx = self.ctx
        ctx.optimizer.zero_grad(set_to_none=True)  # type: ignore[union-attr]
        if scaler is None:
            self._backward(loss)
            ctx._sync_gradients()
            self._algorithm("before_optimizer_step", ctx, task, batch)
            ctx._clip()
            ctx.optimizer.step()  # type: ignore[union-attr]
            return
        self._backward(scaler.scale(loss))
        ctx._sync_gradients()
        scaler.unscale_(ctx.optimizer)
        self._algorithm("before_optimizer_step", ctx, task, batch)
        ctx._clip()
        scaler.step(ctx.optimizer)  # skipped when a gradient is inf/nan
        scaler.update()

    def _epoch_logs(self, index: int, task: str, epoch: int, done: _Epoch, selection: Sequence[str],
                    started: float) -> dict[str, Any]:
        """The epoch's selection score and costs, written to events.jsonl and told to the observers."""
        train_loss = float(done.loss) / max(1, done.steps)  # the one device sync of the epoch
        train_seconds = time.perf_counter() - started
        self.clock.train_seconds += train_seconds
        self.clock.train_examples += done.examples
        evaluated = time.perf_counter()
        val = sum(self.evaluate(name, "selection").value() for name in selection) / len(selection)
        logs = {"train_loss": train_loss, "selection_score": val, "steps": done.steps, "examples": done.examples,
                "train_seconds": train_seconds, "eval_seconds": time.perf_counter() - evaluated,
                "train_examples_per_second": done.examples / train_seconds if train_seconds > 0 else 0.0,
                "seconds": time.perf_counter() - started}
        self.events.write("epoch_end", task_index=index, task=task, epoch=epoch, **logs)
        self._emit("climb_epoch_end", task_index=index, task=task, epoch=epoch, logs=logs)
        return logs

    def _backward(self, loss: Any) -> None:
        """``loss.backward()``; a loss that is no differentiable scalar tensor is the algorithm's fault."""
        backward = loss.backward if isinstance(loss, torch.Tensor) else _not_a_tensor(loss)
        self._blame_algorithm("training_loss() (the backward pass of its loss)", backward)

    # ------------------------------------------------------------------ training
    def _epoch_batches(self, task: str, epoch: int) -> list[tuple[str, list[int]]]:
        """The algorithm's batches for this epoch (e.g. joint training), else the task's own shuffled ones."""
        custom = self._algorithm("training_batches", self.ctx, epoch)
        if custom is None:
            return [(task, indices) for indices in self.ctx.train_batches(task, epoch=epoch)]
        limit = self.training.max_steps_per_epoch
        listed = self._blame_algorithm("training_batches() (iterating them)", lambda: list(custom))
        return listed[:limit] if limit else listed

    def _optimizer(self, lr: float) -> tuple[torch.optim.Optimizer | None, str]:
        """The algorithm's own optimizer and schedule, else the harness's AdamW with linear warm-up."""
        groups = parameter_groups(self.model, self.training.weight_decay)
        if not groups:
            return None, "constant"
        own = self._algorithm("configure_optimizer", self.ctx, groups, lr)
        if own is None:
            return build_optimizer(self.model, lr, self.training, groups), "linear-warmup"
        name = self.spec.algorithm.name
        if not isinstance(own, OptimizerConfig) or not isinstance(own.optimizer, torch.optim.Optimizer):
            got = type(own).__name__ if not isinstance(own, OptimizerConfig) else f"OptimizerConfig({type(own.optimizer).__name__})"
            raise RunError(f"Algorithm {name!r}: configure_optimizer returned {got}; return None (the harness's AdamW) or "
                           "climb_harness.api.OptimizerConfig(optimizer=<a torch.optim.Optimizer>, schedule=...).")
        if own.schedule not in ("linear-warmup", "constant"):
            raise RunError(f"Algorithm {name!r} asked for the learning-rate schedule {own.schedule!r}; "
                           "configure_optimizer must return OptimizerConfig(schedule='linear-warmup' or 'constant').")
        return own.optimizer, own.schedule

    def _selection_tasks(self) -> list[str]:
        """The tasks whose mean selection score picks the epoch (the algorithm may name seen tasks)."""
        current = self.ctx.current_task
        named = self._algorithm("selection_tasks", self.ctx)
        if named is None:
            return [current]
        if isinstance(named, str) or not isinstance(named, Iterable):
            raise RunError(f"Algorithm {self.spec.algorithm.name!r}: selection_tasks returned "
                           f"{clip(repr(named), 120)}; return None (the "
                           "current task) or a list of task names, e.g. [ctx.current_task].")
        chosen = list(dict.fromkeys(named))
        seen = self.task_order[: self.ctx.task_index + 1]
        unseen = [t for t in chosen if t not in seen]
        if not chosen or unseen:
            raise RunError(
                f"Algorithm {self.spec.algorithm.name!r} chose the epoch of task {current!r} on {chosen or 'no tasks'}; "
                f"selection_tasks() must name at least one task seen so far ({', '.join(seen)}), never a later one."
            )
        return chosen
