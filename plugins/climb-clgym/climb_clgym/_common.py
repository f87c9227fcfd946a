"""Small helpers shared by the CL-Gym methods: seeded generators, flat parameter vectors, index memories."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch


#: (task, batch on the device, number of examples) for each task present in a sampled batch.
Sampled = list[tuple[str, dict[str, torch.Tensor], int]]


def generator(*stream: int) -> torch.Generator:
    """A CPU generator seeded from ``stream`` (e.g. seed, task index, step): resume-safe randomness."""
    seed = int(np.random.SeedSequence([int(s) for s in stream]).generate_state(1)[0])
    return torch.Generator().manual_seed(seed)


def budget_share(total: int, tasks: int, index: int) -> int:
    """Task ``index``'s share of a memory budget of ``total`` examples over a sequence of ``tasks`` tasks.

    ``memory_size``, the option every replay method offers (here and in climb-replay and climb-bcl),
    means this: split evenly, the first ``total % tasks`` tasks get one example more, so the shares
    add up to ``total`` exactly.
    """
    if tasks < 1 or not 0 <= index < tasks:
        raise ValueError(f"budget_share: task index {index} is outside a sequence of {tasks} tasks")
    return total // tasks + (1 if index < total % tasks else 0)


def per_task_memory(options: Mapping[str, Any], per_task_key: str, ctx: Any) -> int:
    """How many examples the current task keeps: its share of ``memory_size`` when set, else ``options[per_task_key]``."""
    total = options.get("memory_size")
    if total is None:
        return int(options[per_task_key])
    return budget_share(int(total), len(ctx.task_order), int(ctx.task_index))


def flatten(tensors: Sequence[torch.Tensor | None], like: Sequence[torch.Tensor]) -> torch.Tensor:
    """One vector from ``tensors`` (``None`` counts as zeros shaped like the matching ``like``)."""
    return torch.cat(
        [(t if t is not None else torch.zeros_like(p)).reshape(-1) for t, p in zip(tensors, like)]
    )


def unflatten(vector: torch.Tensor, like: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Split ``vector`` into views shaped like ``like``."""
    return [part.view_as(p) for part, p in zip(torch.split(vector, [p.numel() for p in like]), like)]


class IndexMemory:
    """Training-example indices per task (CPU tensors), bounded by the caller's per-task size."""

    def __init__(self) -> None:
        self.indices: dict[str, torch.Tensor] = {}

    @property
    def tasks(self) -> list[str]:
        return list(self.indices)

    def add(self, task: str, indices: Sequence[int]) -> None:
        self.indices[task] = torch.as_tensor(list(indices), dtype=torch.long)

    def size(self, tasks: Sequence[str] | None = None) -> int:
        return sum(len(self.indices[t]) for t in (self.indices if tasks is None else tasks))

    def sample(self, tasks: Sequence[str], size: int, gen: torch.Generator) -> list[tuple[str, torch.Tensor]]:
        """Up to ``size`` indices drawn uniformly without replacement from the union of ``tasks``' memories."""
        owners = [(t, self.indices[t]) for t in tasks if t in self.indices and len(self.indices[t])]
        total = sum(len(v) for _, v in owners)
        if not total:
            return []
        picked = torch.randperm(total, generator=gen)[: min(size, total)]
        out, start = [], 0
        for task, stored in owners:
            mask = (picked >= start) & (picked < start + len(stored))
            if mask.any():
                out.append((task, stored[torch.sort(picked[mask] - start).values]))
            start += len(stored)
        return out

    def state_dict(self, prefix: str) -> dict[str, Any]:
        state: dict[str, Any] = {f"{prefix}tasks": self.tasks}
        state.update({f"{prefix}{i}": v.clone() for i, v in enumerate(self.indices.values())})
        return state

    def load_state_dict(self, state: Mapping[str, Any], prefix: str) -> None:
        self.indices = {
            t: torch.as_tensor(state[f"{prefix}{i}"], dtype=torch.long).cpu()
            for i, t in enumerate(state.get(f"{prefix}tasks", []))
        }


def load(ctx: Any, drawn: list[tuple[str, torch.Tensor]]) -> Sampled:
    return [(task, ctx.batch(task, idx.tolist()), len(idx)) for task, idx in drawn]


def mixture_loss(model: Any, sampled: Sampled) -> torch.Tensor:
    """Mean loss over a batch drawn from several tasks (each task's mean loss weighted by its count), from one
    encoder pass over the whole batch (:meth:`climb_harness.api.ContinualModelProtocol.forward_tasks`)."""
    total = sum(n for _, _, n in sampled)
    logits = model.forward_tasks([(task, data) for task, data, _ in sampled])
    return sum(model.head_loss(task, out, data["targets"]) * (n / total)  # type: ignore[return-value]
               for (task, data, n), out in zip(sampled, logits))
