"""One run, resolved from a config: what the runner is given."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from climb_harness.api import Algorithm, Task, TaskInfo
from climb_harness.core.confidence import DEFAULT_LEVEL, DEFAULT_RESAMPLES
from climb_harness.core.data import SplitData
from climb_harness.core.engine.options import TrainingOptions

__all__ = ["RunSpec"]


@dataclasses.dataclass
class RunSpec:
    """One run: an algorithm, a seed, a task order and an encoder, already resolved from a config."""

    tasks: list[Task]
    encoder_factory: Any  # () -> Encoder, builds a fresh encoder
    algorithm: Algorithm
    seed: int
    training: TrainingOptions
    output_dir: Path
    config: dict[str, Any]
    references: dict[str, dict[str, float | None]]
    plugins: list[dict[str, str]]
    hooks: Any = None  # pluggy hook relay for lifecycle events
    selection_split: str = "val"  # picks the best epoch
    report_split: str = "test"  # every reported score
    confidence: Mapping[str, Any] = dataclasses.field(
        default_factory=lambda: {"resamples": DEFAULT_RESAMPLES, "level": DEFAULT_LEVEL})
    label: str | None = None  # how results name the run (an algorithm may run under several labels)
    echo: Callable[[str], None] | None = None  # progress and warning lines (default: stderr)
    #: where each component's code comes from, for error messages: "algorithm", "encoder" and
    #: "task:<name>" -> "<distribution> <version>" (else looked up from the component's module)
    sources: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: Phase II: tasks an upstream checkpoint's encoder was adapted to (passed to adapt_to_tasks before
    #: the run's own), and that checkpoint's encoder weights, loaded before the heads are built.
    adapt_to: Sequence[TaskInfo] = ()
    encoder_state: Mapping[str, torch.Tensor] | None = None
    save_checkpoints: bool = True
    #: Loaded splits shared between runners (Phase II cells over the same data), keyed by the task's
    #: ``split_identity(split)`` (else the task object) and the loading options. Collated tensors do not
    #: depend on the weights, so sharing them is exact.
    split_cache: dict[Any, SplitData] | None = None
    #: Logger objects (climb_harness.api.Logger) the experiment enabled for this run.
    loggers: Sequence[Any] = ()
    #: Per task: the direct fine-tuning reference's ``(example indices, statistics)`` on the report split,
    #: kept in scores.safetensors so that knowledge transfer's interval resamples both sides together.
    direct_statistics: Mapping[str, tuple[np.ndarray, np.ndarray]] = dataclasses.field(default_factory=dict)
    #: results.json's ``experiment``: the fingerprints that say which runs may be aggregated as seeds.
    experiment: Mapping[str, Any] | None = None
