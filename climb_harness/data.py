"""A task's splits as the runner sees them: examples, targets and (optionally) pre-collated tensors.

``training.preload`` decides how a split becomes batches:

* ``true``: the encoder collates the whole split once, so tokenisation, image decoding and anything
  frozen (ViLT-BERT's BERT) run once per example instead of once per epoch; batches are index slices.
* ``false``: batches are collated when needed, in ``training.num_workers`` DataLoader worker
  processes (with prefetching, and pinned memory when training on CUDA); the whole split is never
  collated in the main process, so memory stays bounded as the data set grows.
* ``auto`` (the default): collate a sample of the split, extrapolate its tensors' size to the whole
  split, and preload when that fits ``training.memory_budget_mb`` (per split), else as ``false``.

Either way a batch is addressed by example indices (what replay memories store), and both paths
give the same tensors, so the numbers do not depend on the choice (tested).

A task or encoder that raises while its data is loaded is named in a PluginError (its fault, not
the user's); missing data stays a RunError, and a ClimbError a plugin raised passes unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import torch

from climb_harness.api import Example, Task, TaskInfo
from climb_harness.errors import ClimbError, RunError
from climb_harness.heads import targets_tensor
from climb_harness.results import blame, clip, component_failure, component_source

#: Examples collated to estimate a split's preloaded size (``preload: auto``).
SIZE_SAMPLE = 64


class SplitData:
    """One split of one task."""

    def __init__(self, examples: Sequence[Example], task: TaskInfo, encoder: Any, preload: bool | str,
                 task_source: str | None = None, memory_budget_mb: float = 4096.0) -> None:
        if len(examples) == 0:
            raise RunError(f"Task {task.name!r} has an empty split; check its data folder and options (e.g. max_*_examples).")
        self.examples = examples
        self.task = task
        self.encoder = encoder
        self.targets = blame("task", task.name, None, "the targets of its examples",
                             lambda: targets_tensor(examples, task), task_source)
        self.tensors: dict[str, torch.Tensor] | None = None
        self.estimated_mb: float | None = None
        if preload == "auto":
            preload = self._fits(memory_budget_mb)
        if preload:
            self.tensors = self._collate(examples)

    def _fits(self, budget_mb: float) -> bool:
        """Whether the whole split, collated, is estimated to take at most ``budget_mb``."""
        if len(self.examples) <= SIZE_SAMPLE:
            return True
        sample = self._collate([self.examples[i] for i in range(SIZE_SAMPLE)])
        per_example = sum(t.element_size() * t.nelement() for t in sample.values()) / SIZE_SAMPLE
        self.estimated_mb = per_example * len(self.examples) / 2**20
        return self.estimated_mb <= budget_mb

    @property
    def preloaded(self) -> bool:
        return self.tensors is not None

    def _collate(self, examples: Sequence[Example]) -> dict[str, torch.Tensor]:
        name = str(getattr(self.encoder, "manifest", {}).get("name", type(self.encoder).__name__))
        return blame("encoder", name, self.encoder, f"collate() of task {self.task.name!r}",
                     lambda: dict(self.encoder.collate(examples, self.task)))

    def __len__(self) -> int:
        return len(self.examples)

    def batch(self, indices: Sequence[int] | torch.Tensor) -> dict[str, torch.Tensor]:
        """The examples at ``indices`` as CPU tensors, targets under ``"targets"``."""
        index = torch.as_tensor(indices, dtype=torch.long)
        if self.tensors is not None:
            batch = {key: value[index] for key, value in self.tensors.items()}
        else:
            batch = self._collate([self.examples[int(i)] for i in index])
        batch["targets"] = self.targets[index]
        return batch


class _Failure:
    """What a worker sends back instead of raising: DataLoader would append the worker's traceback."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc if isinstance(exc, ClimbError) else RunError(f"Loading a batch failed: {type(exc).__name__}: {clip(exc, 600)}")


class _Batches(torch.utils.data.Dataset):
    """Item ``i`` is the ``i``-th ``(task, indices)`` batch, collated (in a worker process)."""

    def __init__(self, splits: dict[str, SplitData], plan: Sequence[tuple[str, list[int]]]) -> None:
        self.splits, self.plan = splits, list(plan)

    def __len__(self) -> int:
        return len(self.plan)

    def __getitem__(self, i: int) -> Any:
        task, indices = self.plan[i]
        try:
            return self.splits[task].batch(indices)
        except Exception as exc:  # noqa: BLE001 - sent to the main process, which raises it cleanly
            return _Failure(exc)


def iterate_batches(splits: dict[str, SplitData], plan: Iterable[tuple[str, Sequence[int]]], workers: int = 0,
                    pin_memory: bool = False, prefetch_factor: int = 2) -> Iterator[tuple[str, list[int], dict[str, torch.Tensor]]]:
    """``(task, indices, CPU batch)`` for each planned batch, in order.

    Preloaded splits are sliced in the main process (nothing to gain from workers); any other split is
    collated by ``workers`` DataLoader processes ahead of use. The DataLoader gets its own generator,
    so the training RNG streams are untouched and the numbers do not depend on the loading path.
    """
    plan = [(task, [int(i) for i in indices]) for task, indices in plan]
    if workers <= 0 or all(splits[task].preloaded for task, _ in plan):
        for task, indices in plan:
            yield task, indices, splits[task].batch(indices)
        return
    loader = torch.utils.data.DataLoader(
        _Batches(splits, plan), batch_size=None, shuffle=False, num_workers=workers, pin_memory=pin_memory,
        prefetch_factor=prefetch_factor, generator=torch.Generator().manual_seed(0), persistent_workers=False,
    )
    for (task, indices), batch in zip(plan, loader):
        if isinstance(batch, _Failure):
            raise batch.exc
        yield task, indices, batch


def load_split(task: Task, split: str, encoder: Any, preload: bool | str, source: str | None = None,
               memory_budget_mb: float = 4096.0) -> SplitData:
    """Load ``split`` of ``task``: missing data is a RunError, any other failure of the task a PluginError.

    ``source`` names the task's distribution (else it is looked up from the task's module)."""
    source = source or component_source(task)
    try:
        examples = task.examples(split)
    except FileNotFoundError as exc:
        raise RunError(f"Data for task {task.name!r} ({split} split) is missing: {clip(exc, 600)}") from None
    except ClimbError:
        raise
    except Exception as exc:
        raise component_failure("task", task.name, task, f"examples({split!r})", exc, source) from exc
    return SplitData(examples, task.info, encoder, preload, source, memory_budget_mb)
