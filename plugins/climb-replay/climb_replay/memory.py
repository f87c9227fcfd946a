"""Episodic memories that hold training-example INDICES, never tensors.

A replayed example is fetched again with ``ctx.batch(task, indices)``, so a memory costs a few bytes
per example whatever the encoder's input size. Two layouts:

* :class:`TaskMemory`: a list of indices per task, optionally a FIFO ring of bounded length
  (experience replay, A-GEM, ER-ring).
* :class:`ReservoirMemory`: one bounded list of ``(task, index)`` pairs filled by reservoir sampling
  (Vitter's Algorithm R) over the stream of examples seen (ER-reservoir).

Both save to a flat dict of JSON values and int64 tensors, under a key prefix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

Entry = tuple[str, int]  # (task name, index into the task's training split)


class TaskMemory:
    """Indices per task. ``capacity`` bounds each task's list; ``push`` then keeps the newest (a ring)."""

    def __init__(self, capacity: int | None = None) -> None:
        if capacity is not None and capacity < 1:
            raise ValueError(f"a memory's capacity must be at least 1, not {capacity}")
        self.capacity = capacity
        self._slots: dict[str, list[int]] = {}

    def set(self, task: str, indices: Iterable[int], capacity: int | None = None) -> None:
        """Replace ``task``'s memory (keeps the first ``capacity`` indices; default: the memory's own)."""
        limit = self.capacity if capacity is None else capacity
        values = [int(i) for i in indices]
        self._slots[task] = values[:limit] if limit is not None else values

    def push(self, task: str, indices: Iterable[int], capacity: int | None = None) -> None:
        """Append indices not already held; beyond ``capacity`` (default: the memory's own) the oldest
        are dropped (FIFO ring). A capacity of 0 keeps nothing."""
        limit = self.capacity if capacity is None else capacity
        slot = self._slots.setdefault(task, [])
        held = set(slot)
        for index in indices:
            index = int(index)
            if index in held:
                continue
            slot.append(index)
            held.add(index)
            if limit is not None and len(slot) > limit:
                held.discard(slot.pop(0))

    def tasks(self) -> list[str]:
        return list(self._slots)

    def indices(self, task: str) -> list[int]:
        return list(self._slots.get(task, []))

    def entries(self, tasks: Iterable[str]) -> list[Entry]:
        """Every ``(task, index)`` held for ``tasks``, in a fixed order."""
        return [(task, index) for task in tasks for index in self._slots.get(task, [])]

    def __len__(self) -> int:
        return sum(len(slot) for slot in self._slots.values())

    def state_dict(self, prefix: str) -> dict[str, Any]:
        state: dict[str, Any] = {f"{prefix}.tasks": list(self._slots)}
        for task, slot in self._slots.items():
            state[f"{prefix}.indices.{task}"] = torch.tensor(slot, dtype=torch.int64)
        return state

    def load_state_dict(self, state: Mapping[str, Any], prefix: str) -> None:
        self._slots = {}
        for task in state.get(f"{prefix}.tasks", []):
            key = f"{prefix}.indices.{task}"
            if key not in state:
                raise KeyError(f"replay memory state lacks {key!r}; the checkpoint is incomplete. Start again in a new --output folder.")
            self._slots[task] = [int(i) for i in torch.as_tensor(state[key]).tolist()]


class ReservoirMemory:
    """At most ``capacity`` ``(task, index)`` entries, a uniform sample of every example offered so far.

    Algorithm R: the n-th example offered (1-based) is stored while there is room; after that it
    replaces a random slot with probability ``capacity / n``.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"a reservoir's memory_size must be at least 1, not {capacity}")
        self.capacity = capacity
        self.entries: list[Entry] = []
        self.seen = 0

    def offer(self, task: str, index: int, rng: np.random.Generator) -> None:
        self.seen += 1
        if len(self.entries) < self.capacity:
            self.entries.append((task, int(index)))
            return
        slot = int(rng.integers(self.seen))  # uniform in [0, seen)
        if slot < self.capacity:
            self.entries[slot] = (task, int(index))

    def select(self, tasks: Iterable[str]) -> list[Entry]:
        wanted = set(tasks)
        return [entry for entry in self.entries if entry[0] in wanted]

    def __len__(self) -> int:
        return len(self.entries)

    def state_dict(self, prefix: str) -> dict[str, Any]:
        names = sorted({task for task, _ in self.entries})
        return {
            f"{prefix}.seen": self.seen,
            f"{prefix}.task_names": names,
            f"{prefix}.task_ids": torch.tensor([names.index(t) for t, _ in self.entries], dtype=torch.int64),
            f"{prefix}.indices": torch.tensor([i for _, i in self.entries], dtype=torch.int64),
        }

    def load_state_dict(self, state: Mapping[str, Any], prefix: str) -> None:
        names = list(state.get(f"{prefix}.task_names", []))
        ids = torch.as_tensor(state.get(f"{prefix}.task_ids", torch.zeros(0, dtype=torch.int64))).tolist()
        indices = torch.as_tensor(state.get(f"{prefix}.indices", torch.zeros(0, dtype=torch.int64))).tolist()
        if len(ids) != len(indices) or len(ids) > self.capacity:
            raise ValueError(
                f"replay reservoir state holds {len(ids)} task ids, {len(indices)} indices for memory_size "
                f"{self.capacity}: resume with the options the run started with, in the same --output folder."
            )
        self.entries = [(names[t], int(i)) for t, i in zip(ids, indices)]
        self.seen = int(state.get(f"{prefix}.seen", len(self.entries)))


def sample(entries: Sequence[Entry], size: int, rng: np.random.Generator) -> list[Entry]:
    """``min(size, len(entries))`` entries drawn uniformly without replacement."""
    if not entries or size < 1:
        return []
    picks = rng.choice(len(entries), size=min(size, len(entries)), replace=False)
    return [entries[int(i)] for i in picks]
