"""The training context an algorithm's hooks receive (:class:`climb_harness.api.TrainingContext`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch

from climb_harness.api import ContinualModelProtocol, TaskInfo, TrainingContext
from climb_harness.core.data import SplitData
from climb_harness.core.engine.execution import current as current_execution
from climb_harness.core.engine.options import TrainingOptions
from climb_harness.core.heads import ContinualModel

__all__ = ["Context"]


class Context:
    """The :class:`climb_harness.api.TrainingContext` the runner hands to algorithm hooks (mypy checks that it is one)."""

    model: ContinualModelProtocol
    tasks: Mapping[str, TaskInfo]
    initial_state: Mapping[str, Any]
    optimizer: Any  # torch.optim.Optimizer while a task trains

    def __init__(self, model: ContinualModel, device: torch.device, seed: int, task_order: list[str],
                 tasks: Mapping[str, TaskInfo], train: Mapping[str, SplitData], training: TrainingOptions,
                 batch_sizes: Mapping[str, int]) -> None:
        self.model = model
        self.device = device
        self.seed = seed
        self.task_order = task_order
        self.tasks = dict(tasks)
        self.task_index = 0
        self.global_step = 0
        self.batch_indices: list[int] = []  # the training examples of the step in flight
        self.optimizer: torch.optim.Optimizer | None = None
        self.initial_state = {k: v.detach().to("cpu").clone() for k, v in model.state_dict().items()}
        self._train = train
        self._training = training
        self._batch_sizes = dict(batch_sizes)
        self._execution = current_execution()
        #: Data parallelism: this process's index and the number of processes (0 and 1 without it).
        self.rank, self.world_size = self._execution.rank, self._execution.world

    @property
    def current_task(self) -> str:
        return self.task_order[self.task_index]

    def num_train_examples(self, task: str) -> int:
        return len(self._train[task])

    def batch_size(self, task: str) -> int:
        return self._batch_sizes[task]

    def batch(self, task: str, indices: Sequence[int] | torch.Tensor) -> dict[str, torch.Tensor]:
        return {k: v.to(self.device, non_blocking=True) for k, v in self._train[task].batch(indices).items()}

    def train_batches(self, task: str, batch_size: int | None = None, epoch: int = 0) -> Iterator[list[int]]:
        """Shuffled index batches of ``task``'s training split (deterministic per seed, task, epoch)."""
        size = batch_size or self._batch_sizes[task]
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.task_order.index(task) * 1_009 + epoch)
        order = torch.randperm(len(self._train[task]), generator=generator).tolist()
        limit = self._training.max_steps_per_epoch
        for step, start in enumerate(range(0, len(order), size)):
            if limit is not None and step >= limit:
                return
            yield order[start : start + size]

    def optimizer_step(self, loss: torch.Tensor) -> None:
        assert self.optimizer is not None, "optimizer_step() is only available while training a task"
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self._sync_gradients(mean=True)  # every process computed this loss on the same examples
        self._clip()
        self.optimizer.step()

    def _sync_gradients(self, mean: bool = False) -> None:
        """Data parallel: sum (or average) the gradients over the processes; nothing in one process."""
        if self.optimizer is not None:
            self._execution.reduce_gradients((p for group in self.optimizer.param_groups for p in group["params"]), mean)

    def _clip(self) -> None:
        if self._training.max_grad_norm:
            params = [p for group in self.optimizer.param_groups for p in group["params"]]  # type: ignore[union-attr]
            torch.nn.utils.clip_grad_norm_(params, self._training.max_grad_norm)


if TYPE_CHECKING:  # pragma: no cover - mypy checks that the runner's context satisfies the contract
    _context_is_a_training_context: type[TrainingContext] = Context
