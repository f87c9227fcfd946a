"""What the runner's parts share: the state a run builds, and the calls one part makes on another.

:class:`climb_harness.core.engine.runner.Runner` is assembled from parts, one module each (building,
training, evaluation, the run folder). Each part is a subclass of :class:`RunState`, which declares the
attributes the runner sets and the methods the other parts define, so that each module reads on its own
and a type checker follows every call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from climb_harness.api import Task, TaskInfo
    from climb_harness.core.data import BatchLoader, SplitData
    from climb_harness.core.engine.context import Context
    from climb_harness.core.engine.costs import Clock
    from climb_harness.core.engine.execution import Execution
    from climb_harness.core.engine.observers import Observers
    from climb_harness.core.engine.options import TrainingOptions
    from climb_harness.core.engine.spec import RunSpec
    from climb_harness.core.events import EventLog
    from climb_harness.core.example_scores import ScoresRecorder
    from climb_harness.core.heads import ContinualModel, ScoreAccumulator

__all__ = ["RunState"]


class RunState:
    """The attributes and cross-part methods of a runner (see the module docstring)."""

    # set by Runner.__init__
    spec: RunSpec
    training: TrainingOptions
    execution: Execution
    device: torch.device
    task_order: list[str]
    infos: dict[str, TaskInfo]
    results_path: Path
    echo: Callable[[str], None]
    observers: Observers
    clock: Clock
    # set by Building._build
    encoder: Any
    model: ContinualModel
    adaptation: dict[str, Any]
    ignored_encoder_tensors: list[str]
    splits: dict[str, dict[str, SplitData]]
    train_data: dict[str, SplitData]
    groups: dict[str, Any]
    loader: BatchLoader
    batch_sizes: dict[str, int]
    ctx: Context
    run_info: dict[str, Any]
    # set while running
    scores: ScoresRecorder
    events: EventLog

    # ------------------------------------------------------------------ defined by the runner
    def _algorithm(self, hook: str, *args: Any) -> Any:
        raise NotImplementedError

    def _blame_algorithm(self, what: str, call: Callable[[], Any]) -> Any:
        raise NotImplementedError

    def _encoder_call(self, encoder: Any, hook: str, call: Callable[[], Any]) -> Any:
        raise NotImplementedError

    def _emit(self, hook: str, **kwargs: Any) -> None:
        raise NotImplementedError

    def _task_setting(self, task: Task, key: str, fallback: Any) -> Any:
        raise NotImplementedError

    def _label(self) -> str:
        raise NotImplementedError

    # ------------------------------------------------------------------ defined by the evaluation part
    def evaluate(self, task: str, role: str) -> ScoreAccumulator:
        raise NotImplementedError

    def report_row(self, row: int) -> tuple[list[float], list[list[float]]]:
        raise NotImplementedError

    def _start_scores(self) -> None:
        raise NotImplementedError

    def _resume_scores(self, done: int) -> None:
        raise NotImplementedError

    def _write_scores(self) -> None:
        raise NotImplementedError

    def _loaded(self, role: str, plan: Sequence[tuple[str, Sequence[int]]]
                ) -> Iterator[tuple[str, list[int], dict[str, torch.Tensor]]]:
        raise NotImplementedError

    def _autocast(self) -> Any:
        raise NotImplementedError

    # ------------------------------------------------------------------ defined by the run-folder part
    def _restore(self, done: int) -> None:
        raise NotImplementedError

    def _skipped(self, before: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError
