"""A task's splits as the runner sees them: examples, targets and (optionally) pre-collated tensors.

With ``preload`` (the default) each split is collated by the encoder once, so tokenisation, image
decoding and anything frozen (ViLT-BERT's BERT) run once per example instead of once per epoch;
batches are then index slices. Without it, each batch is collated on the fly (for data sets too
large to hold in memory). Either way a batch is addressed by example indices, which is what
replay memories store.

A task or encoder that raises while its data is loaded is named in a PluginError (its fault, not
the user's); missing data stays a RunError, and a ClimbError a plugin raised passes unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from climb_harness.api import Example, Task, TaskInfo
from climb_harness.errors import ClimbError, RunError
from climb_harness.heads import targets_tensor
from climb_harness.results import blame, clip, component_failure, component_source

class SplitData:
    """One split of one task."""

    def __init__(self, examples: Sequence[Example], task: TaskInfo, encoder: Any, preload: bool,
                 task_source: str | None = None) -> None:
        if len(examples) == 0:
            raise RunError(f"Task {task.name!r} has an empty split; check its data folder and options (e.g. max_*_examples).")
        self.examples = examples
        self.task = task
        self.encoder = encoder
        self.targets = blame("task", task.name, None, "the targets of its examples",
                             lambda: targets_tensor(examples, task), task_source)
        self.tensors: dict[str, torch.Tensor] | None = None
        if preload:
            self.tensors = self._collate(examples)

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


def load_split(task: Task, split: str, encoder: Any, preload: bool, source: str | None = None) -> SplitData:
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
    return SplitData(examples, task.info, encoder, preload, source)
