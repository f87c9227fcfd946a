"""A task's splits as the runner sees them: examples, targets and (optionally) pre-collated tensors.

With ``preload`` (the default) each split is collated by the encoder once, so tokenisation, image
decoding and anything frozen (ViLT-BERT's BERT) run once per example instead of once per epoch;
batches are then index slices. Without it, each batch is collated on the fly (for data sets too
large to hold in memory). Either way a batch is addressed by example indices, which is what
replay memories store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from climb_harness.api import Example, Task, TaskInfo
from climb_harness.errors import RunError
from climb_harness.heads import targets_tensor


class SplitData:
    """One split of one task."""

    def __init__(self, examples: Sequence[Example], task: TaskInfo, encoder: Any, preload: bool) -> None:
        if len(examples) == 0:
            raise RunError(f"Task {task.name!r} has an empty split; check its data folder and options (e.g. max_*_examples).")
        self.examples = examples
        self.task = task
        self.encoder = encoder
        self.targets = targets_tensor(examples, task)
        self.tensors: dict[str, torch.Tensor] | None = None
        if preload:
            self.tensors = dict(encoder.collate(examples, task))

    def __len__(self) -> int:
        return len(self.examples)

    def batch(self, indices: Sequence[int] | torch.Tensor) -> dict[str, torch.Tensor]:
        """The examples at ``indices`` as CPU tensors, targets under ``"targets"``."""
        index = torch.as_tensor(indices, dtype=torch.long)
        if self.tensors is not None:
            batch = {key: value[index] for key, value in self.tensors.items()}
        else:
            batch = dict(self.encoder.collate([self.examples[int(i)] for i in index], self.task))
        batch["targets"] = self.targets[index]
        return batch


def load_split(task: Task, split: str, encoder: Any, preload: bool) -> SplitData:
    """Load ``split`` of ``task``, turning a missing data file into a clear error."""
    try:
        examples = task.examples(split)
    except FileNotFoundError as exc:
        raise RunError(f"Data for task {task.name!r} ({split} split) is missing: {exc}") from exc
    return SplitData(examples, task.info, encoder, preload)
