"""BCL-Dual's two memories: per past task, a replay memory and a disjoint evaluation set.

Both hold training-split example INDICES (``ctx.batch(task, indices)`` turns them into tensors), on
the CPU, plus the teacher logits recorded on the replay examples when their task ended. Everything is
bounded by ``n_memories`` (or the task's share of ``memory_size``) per task, and a task enters only when it has ended, so during training on
task t both memories hold tasks 0..t-1 only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch


def budget_share(total: int, tasks: int, index: int) -> int:
    """Task ``index``'s share of a memory budget of ``total`` examples over a sequence of ``tasks`` tasks.

    ``memory_size``, the option every replay method offers (here, in climb-replay and in climb-clgym),
    means this: split evenly, the first ``total % tasks`` tasks get one example more, so the shares
    add up to ``total`` exactly.
    """
    if tasks < 1 or not 0 <= index < tasks:
        raise ValueError(f"budget_share: task index {index} is outside a sequence of {tasks} tasks")
    return total // tasks + (1 if index < total % tasks else 0)


def split_memory(indices: Sequence[int], n_val: float) -> tuple[list[int], list[int]]:
    """(replay, evaluation): the first ``round(n_val * n)`` of ``indices`` are the evaluation set.

    With ``n_val > 0`` and at least two examples, each side keeps at least one example.
    """
    indices = [int(i) for i in indices]
    n = len(indices)
    n_eval = round(n_val * n)
    if n_val > 0 and n >= 2:
        n_eval = min(max(n_eval, 1), n - 1)
    elif n < 2:
        n_eval = 0
    return indices[n_eval:], indices[:n_eval]


class DualMemory:
    """Replay memory, evaluation set and teacher logits of the tasks learned so far."""

    def __init__(self) -> None:
        self.tasks: list[str] = []
        self.replay: dict[str, torch.Tensor] = {}
        self.evaluation: dict[str, torch.Tensor] = {}
        self.teacher: dict[str, torch.Tensor] = {}

    # ------------------------------------------------------------------ filling
    def add_task(self, task: str, indices: Sequence[int], n_val: float) -> None:
        replay, evaluation = split_memory(indices, n_val)
        if task not in self.tasks:
            self.tasks.append(task)
        self.replay[task] = torch.tensor(replay, dtype=torch.long)
        self.evaluation[task] = torch.tensor(evaluation, dtype=torch.long)

    def set_teacher(self, task: str, logits: torch.Tensor) -> None:
        if len(logits) != len(self.replay[task]):
            raise ValueError(
                f"teacher logits of task {task!r}: {len(logits)} rows for {len(self.replay[task])} replay examples"
            )
        self.teacher[task] = logits.detach().to("cpu", torch.float32)

    # ------------------------------------------------------------------ reading
    def size(self, kind: str) -> int:
        store = self.replay if kind == "replay" else self.evaluation
        return sum(len(v) for v in store.values())

    def sample(
        self, kind: str, size: int, generator: torch.Generator
    ) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
        """Up to ``size`` entries drawn uniformly without replacement from the union over tasks.

        Returns ``(task, indices, positions)`` per task present, where ``indices`` are training-split
        indices and ``positions`` their rows in the memory (to look up teacher logits).
        """
        store = self.replay if kind == "replay" else self.evaluation
        owners = [(task, store[task]) for task in self.tasks if len(store[task])]
        total = sum(len(v) for _, v in owners)
        if total == 0 or size <= 0:
            return []
        picked = torch.randperm(total, generator=generator)[: min(size, total)]
        out = []
        start = 0
        for task, stored in owners:
            mask = (picked >= start) & (picked < start + len(stored))
            positions = torch.sort(picked[mask] - start).values
            if len(positions):
                out.append((task, stored[positions], positions))
            start += len(stored)
        return out

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self, prefix: str = "memory.") -> dict[str, Any]:
        state: dict[str, Any] = {f"{prefix}tasks": list(self.tasks)}
        for i, task in enumerate(self.tasks):
            state[f"{prefix}replay.{i}"] = self.replay[task].clone()
            state[f"{prefix}eval.{i}"] = self.evaluation[task].clone()
            if task in self.teacher:
                state[f"{prefix}teacher.{i}"] = self.teacher[task].clone()
        return state

    def load_state_dict(self, state: Mapping[str, Any], prefix: str = "memory.") -> None:
        self.__init__()  # type: ignore[misc]
        for i, task in enumerate(state.get(f"{prefix}tasks", [])):
            self.tasks.append(task)
            self.replay[task] = torch.as_tensor(state[f"{prefix}replay.{i}"], dtype=torch.long).cpu()
            self.evaluation[task] = torch.as_tensor(state[f"{prefix}eval.{i}"], dtype=torch.long).cpu()
            if f"{prefix}teacher.{i}" in state:
                self.teacher[task] = torch.as_tensor(state[f"{prefix}teacher.{i}"], dtype=torch.float32).cpu()
