"""How a run is spread over processes: the one small interface through which data parallelism enters the engine.

The runner asks the current :class:`Execution` for this process's share of each batch and of each split, to
combine gradients, sums and gathered statistics, and whether it is the main process. The default,
:class:`OneProcess`, does everything in this process and changes no number. The data-parallel feature
(:mod:`climb_harness.scale.parallel`) installs its own with :func:`use` when a launcher started several
processes; the kernel never imports it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["Execution", "OneProcess", "current", "use"]


@runtime_checkable
class Execution(Protocol):
    """What the runner needs to know about the processes a run trains on.

    Attributes:
        rank: This process's index (0: the main process, which writes and prints).
        world: How many processes train the run.
        device: The device this process trains on, or None for ``training.device``'s choice.
    """

    rank: int
    world: int
    device: torch.device | None

    @property
    def is_main(self) -> bool:
        """Whether this process writes the run's files, prints and tells observers."""

    def shard(self, indices: Sequence[int]) -> tuple[list[int], float | None]:
        """This process's share of a global batch and the weight of its loss (None: the whole batch's mean)."""

    def eval_shard(self, count: int) -> range:
        """This process's contiguous share of the ``count`` examples of a split."""

    def reduce_gradients(self, params: Iterable[torch.nn.Parameter], mean: bool = False) -> None:
        """Combine (sum, or average) the gradients of ``params`` over the processes, in place."""

    def sum_scalar(self, value: torch.Tensor) -> torch.Tensor:
        """``value`` summed over the processes."""

    def gather(self, obj: Any) -> list[Any]:
        """Every process's ``obj``, in process order."""

    def barrier(self) -> None:
        """Wait until every process gets here."""

    def is_peer_failure(self, exc: BaseException) -> bool:
        """Whether ``exc`` is another process having died (not this process's own fault)."""


class OneProcess:
    """The default: the whole run in this process. Every method is the identity, so no number changes."""

    rank: int = 0
    world: int = 1
    device: torch.device | None = None

    @property
    def is_main(self) -> bool:
        return True

    def shard(self, indices: Sequence[int]) -> tuple[list[int], float | None]:
        return list(indices), None

    def eval_shard(self, count: int) -> range:
        return range(count)

    def reduce_gradients(self, params: Iterable[torch.nn.Parameter], mean: bool = False) -> None:
        return None

    def sum_scalar(self, value: torch.Tensor) -> torch.Tensor:
        return value

    def gather(self, obj: Any) -> list[Any]:
        return [obj]

    def barrier(self) -> None:
        return None

    def is_peer_failure(self, exc: BaseException) -> bool:
        return False


_current: Execution = OneProcess()


def current() -> Execution:
    """The execution this process trains under (:class:`OneProcess` unless a feature installed another)."""
    return _current


def use(execution: Execution) -> None:
    """Train every later run of this process under ``execution`` (the data-parallel feature calls it once)."""
    global _current
    if not isinstance(execution, Execution):
        raise TypeError(f"{type(execution).__name__} does not implement climb_harness.core.engine.execution.Execution")
    _current = execution
