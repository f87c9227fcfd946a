"""Data-parallel training of one run over the processes ``accelerate launch`` starts.

Every process runs the whole experiment on the same seeds, so the models start equal and stay equal:
each global batch is cut into contiguous per-process shards, each process's loss is weighted by its
share of the batch (``n_rank / n_batch``) and the gradients are summed over the processes before any
``before_optimizer_step`` hook, clipping or step, so every step equals the one-process step on the
whole batch (for losses that are a mean over the batch plus terms of the parameters alone, e.g. EWC's
penalty). A shard left empty by a short last batch trains on one example with weight 0, so that every
process joins every collective. Extra optimizer steps an algorithm takes itself
(``ctx.optimizer_step``, e.g. replay's) compute the same loss on every process and average gradients.
Evaluation shards each split contiguously and gathers the per-example statistics in order, so scores
and bootstrap intervals see each example exactly once. Only the main process writes files and prints.

Process group, devices and gathering come from Hugging Face accelerate (``PartialState``); the
gradient sum is one ``torch.distributed.all_reduce`` per dtype of flattened gradients.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from climb_harness.api.errors import RunError

if TYPE_CHECKING:
    import torch

_current: DataParallel | None = None


class DataParallel:
    """This process's place among the data-parallel processes of a run."""

    def __init__(self) -> None:
        import torch

        try:
            from accelerate import PartialState
        except ImportError:
            raise RunError(f"This process is one of {launched_processes()} data-parallel processes (WORLD_SIZE), which "
                           "climb-harness trains with Hugging Face accelerate, but accelerate is not installed: pip install "
                           "'climb-harness[accelerate]', or run without a launcher.") from None

        # cpu=True on a machine without GPUs: otherwise accelerate sees one process (gloo is initialised
        # but not used as a group), and every process would think it is the only one.
        self.state = PartialState(cpu=not torch.cuda.is_available())
        if int(self.state.num_processes) != launched_processes():
            raise RunError(f"accelerate sees {self.state.num_processes} process(es) but the launcher started "
                           f"{launched_processes()} (WORLD_SIZE); the processes would not train as one. Launch with "
                           "`climb run --launcher accelerate` or `accelerate launch --multi_gpu -m climb_harness run`.")
        self.rank = int(self.state.process_index)
        self.world = int(self.state.num_processes)
        self.device = torch.device(self.state.device)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, indices: Sequence[int]) -> tuple[list[int], float]:
        """This process's contiguous share of a global batch and the weight of its loss (its fraction of
        the batch); an empty share becomes the batch's first example with weight 0."""
        size = -(-len(indices) // self.world)
        mine = list(indices[self.rank * size : (self.rank + 1) * size])
        if not mine:
            return list(indices[:1]), 0.0
        return mine, len(mine) / len(indices)

    def eval_shard(self, count: int) -> range:
        """This process's contiguous share of ``range(count)`` (possibly empty)."""
        size = -(-count // self.world)
        return range(min(count, self.rank * size), min(count, (self.rank + 1) * size))

    def reduce_gradients(self, params: Iterable[torch.nn.Parameter], mean: bool = False) -> None:
        """Sum (or average) the gradients of ``params`` over the processes, in place. A parameter no process
        gave a gradient keeps ``grad = None`` (as it would in one process: the optimizer skips it)."""
        import torch
        import torch.distributed as dist

        params = [p for p in params if p.requires_grad]
        if not params:
            return
        has = torch.tensor([p.grad is not None for p in params], dtype=torch.float32, device=params[0].device)
        dist.all_reduce(has)
        by_dtype: dict[torch.dtype, list[torch.nn.Parameter]] = {}
        for p, count in zip(params, has.tolist()):
            if count > 0:
                if p.grad is None:
                    p.grad = torch.zeros_like(p)
                by_dtype.setdefault(p.grad.dtype, []).append(p)
        for group in by_dtype.values():
            flat = torch.cat([p.grad.reshape(-1) for p in group])  # type: ignore[union-attr]
            dist.all_reduce(flat)
            if mean:
                flat /= self.world
            offset = 0
            for p in group:
                n = p.numel()
                p.grad.copy_(flat[offset : offset + n].view_as(p.grad))  # type: ignore[union-attr]
                offset += n

    def sum_scalar(self, value: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist

        value = value.detach().clone()
        dist.all_reduce(value)
        return value

    def gather(self, obj: Any) -> list[Any]:
        """Every process's ``obj``, in process order (the same list on every process)."""
        from accelerate.utils import gather_object

        return list(gather_object([obj]))

    def barrier(self) -> None:
        self.state.wait_for_everyone()

    def is_peer_failure(self, exc: BaseException) -> bool:
        return is_peer_failure(exc)


def is_peer_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is a collective failing because another process died (gloo / NCCL / c10d)."""
    text = f"{type(exc).__name__} {exc}"
    return type(exc).__name__ in ("DistBackendError", "DistNetworkError", "DistError") or any(
        marker in text for marker in ("Connection closed by peer", "Connection reset by peer", "gloo", "NCCL"))


def watch_launcher(interval: float = 0.5) -> None:
    """In a training process that ``climb run --launcher accelerate`` started: exit as soon as that ``climb``
    process is gone (a daemon thread polls it), so that no training process outlives it and goes on writing
    the folder beside a later ``--resume``. Nothing happens without the launcher's pid in the environment."""
    import threading
    import time

    from climb_harness.scale.launch import LAUNCHER_PID_ENV

    try:
        pid = int(os.environ.get(LAUNCHER_PID_ENV, ""))
    except ValueError:
        return

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def watch() -> None:
        while not gone():
            time.sleep(interval)
        print(f"the climb process {pid} that launched this data-parallel run is gone: stopping (rerun with "
              "--resume to continue from the last completed task)", file=sys.stderr, flush=True)
        os._exit(1)

    threading.Thread(target=watch, name="climb-launcher-watch", daemon=True).start()


def launched_processes() -> int:
    """How many processes the launcher started (``WORLD_SIZE``; 1 without a launcher)."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def current() -> DataParallel | None:
    """The data-parallel group of this process when a launcher started several, else None."""
    global _current
    if _current is None and launched_processes() > 1:
        _current = DataParallel()
    return _current


def install() -> DataParallel | None:
    """Train this process's runs data-parallel when a launcher started several processes: the engine's
    execution (:func:`climb_harness.core.engine.execution.use`) becomes this process's group, and every
    process but the main one stops writing files (:func:`climb_harness.core.io.discard_writes`)."""
    from climb_harness.core.engine.execution import use
    from climb_harness.core.io import discard_writes

    group = current()
    if group is not None:
        use(group)
        if not group.is_main:
            discard_writes()
    return group


def is_main_process() -> bool:
    """Whether this process writes files and prints (always, without data parallelism)."""
    group = current() if launched_processes() > 1 else None
    return group is None or group.is_main
