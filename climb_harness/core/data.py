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

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import torch

from climb_harness.api import Example, Task, TaskInfo, UnreadableImageError
from climb_harness.api.errors import ClimbError, RunError
from climb_harness.core.heads import targets_tensor
from climb_harness.core.messages import blame, clip, component_failure
from climb_harness.core.provenance import component_source

#: Examples collated to estimate a split's preloaded size (``preload: auto``).
SIZE_SAMPLE = 64


class SplitData:
    """One split of one task.

    With ``skip_unreadable`` an example whose image cannot be read (:class:`UnreadableImageError`) is
    left out of every batch and recorded in :attr:`skipped` (example index -> file); without it the
    error stops the run, naming the file."""

    def __init__(self, examples: Sequence[Example], task: TaskInfo, encoder: Any, preload: bool | str,
                 task_source: str | None = None, memory_budget_mb: float = 4096.0,
                 skip_unreadable: bool = False) -> None:
        if len(examples) == 0:
            raise RunError(f"Task {task.name!r} has an empty split; check its data folder and options (e.g. max_*_examples).")
        self.examples = examples
        self.task = task
        self.encoder = encoder
        self.skip_unreadable = skip_unreadable
        self.skipped: dict[int, str] = {}
        self.targets = blame("task", task.name, None, "the targets of its examples",
                             lambda: targets_tensor(examples, task), task_source)
        self.tensors: dict[str, torch.Tensor] | None = None
        self._rows: torch.Tensor | None = None  # preloaded: example index -> row of tensors (-1: skipped)
        self._complete = False  # preloaded with nothing skipped: rows need no filtering
        self.estimated_mb: float | None = None
        if preload == "auto":
            preload = self._fits(memory_budget_mb)
        if preload:
            tensors, kept, _ = self._collate_indices(range(len(examples)))
            if tensors is None:
                raise self._nothing_readable(len(examples))
            self.tensors = tensors
            self._rows = torch.full((len(examples),), -1, dtype=torch.long)
            self._rows[torch.as_tensor(kept, dtype=torch.long)] = torch.arange(len(kept))
            self._complete = len(kept) == len(examples)


    def _fits(self, budget_mb: float) -> bool:
        """Whether the whole split, collated, is estimated to take at most ``budget_mb``."""
        if len(self.examples) <= SIZE_SAMPLE:
            return True
        sample, kept, _ = self._collate_indices(range(SIZE_SAMPLE))
        if sample is None:
            return False
        per_example = sum(t.element_size() * t.nelement() for t in sample.values()) / len(kept)
        self.estimated_mb = per_example * len(self.examples) / 2**20
        return self.estimated_mb <= budget_mb

    @property
    def preloaded(self) -> bool:
        return self.tensors is not None

    def _collate(self, examples: Sequence[Example]) -> dict[str, torch.Tensor]:
        name = str(getattr(self.encoder, "manifest", {}).get("name", type(self.encoder).__name__))
        return blame("encoder", name, self.encoder, f"collate() of task {self.task.name!r}",
                     lambda: dict(self.encoder.collate(examples, self.task)))

    def _collate_indices(self, indices: Iterable[int]) -> tuple[dict[str, torch.Tensor] | None, list[int], dict[int, str]]:
        """``(tensors, kept indices, newly skipped)`` for the examples at ``indices``; tensors is None when
        none is readable. Unreadable examples are found by collating the batch's examples one by one
        (only a batch that failed pays for it)."""
        wanted = [i for i in indices if i not in self.skipped]
        if not wanted:
            return None, [], {}
        try:
            return self._collate([self.examples[i] for i in wanted]), wanted, {}
        except UnreadableImageError:
            if not self.skip_unreadable:
                raise
        found: dict[int, str] = {}
        for i in wanted:
            try:
                self._collate([self.examples[i]])
            except UnreadableImageError as exc:
                found[i] = exc.path
        self.skipped.update(found)
        kept = [i for i in wanted if i not in found]
        return (self._collate([self.examples[i] for i in kept]) if kept else None), kept, found

    def __len__(self) -> int:
        return len(self.examples)

    def load(self, indices: Sequence[int] | torch.Tensor) -> Loaded:
        """The readable examples at ``indices`` as CPU tensors (targets under ``"targets"``), which ones those
        are, and the examples found unreadable on the way."""
        index = torch.as_tensor(indices, dtype=torch.long).reshape(-1)
        if self.tensors is not None:  # the training loop's path: a few tensor ops, no per-example Python
            assert self._rows is not None
            if self._complete:  # nothing skipped: example i is row i
                rows = index
            else:
                rows = self._rows[index]
                readable = rows >= 0
                rows, index = rows[readable], index[readable]
            kept = index.tolist()
            batch = {key: value[rows] for key, value in self.tensors.items()} if kept else None
            found: dict[int, str] = {}
        else:
            batch, kept, found = self._collate_indices(index.tolist())
            index = torch.as_tensor(kept, dtype=torch.long)
        if batch is not None:
            batch["targets"] = self.targets[index]
        return Loaded(batch, kept, found)

    def batch(self, indices: Sequence[int] | torch.Tensor) -> dict[str, torch.Tensor]:
        """The examples at ``indices`` as CPU tensors, targets under ``"targets"`` (leaving out unreadable
        examples when skipping is on; a RunError when none of them is readable)."""
        loaded = self.load(indices)
        if loaded.batch is None:
            raise self._nothing_readable(int(torch.as_tensor(indices).numel()))
        return loaded.batch

    def _nothing_readable(self, count: int) -> RunError:
        return RunError(f"None of the {count} requested examples of task {self.task.name!r} has a readable image "
                        f"({len(self.skipped)} skipped so far, e.g. {next(iter(self.skipped.values()), '?')}); check "
                        "the task's image folder (its data_dir / images_dir option).")


class Loaded(NamedTuple):
    """One collated batch: ``batch`` is None when every example in it was unreadable (and skipped)."""

    batch: dict[str, torch.Tensor] | None
    kept: list[int]
    skipped: dict[int, str]


class _Failure:
    """What a worker sends back instead of raising: DataLoader would append the worker's traceback."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc if isinstance(exc, ClimbError) else RunError(f"Loading a batch failed: {type(exc).__name__}: {clip(exc, 600)}")


class _Batches(torch.utils.data.Dataset):
    """Item ``(key, indices)``: those examples of split ``key`` (``"<split>/<task>"``), collated in a worker."""

    def __init__(self, splits: Mapping[str, SplitData]) -> None:
        self.splits = dict(splits)

    def __len__(self) -> int:  # not used: items come from the plan
        return 0

    def __getitem__(self, item: tuple[str, list[int]]) -> Any:
        key, indices = item
        try:
            return self.splits[key].load(indices)
        except Exception as exc:  # noqa: BLE001 - sent to the main process, which raises it cleanly
            return _Failure(exc)


class _Plan(torch.utils.data.Sampler):
    """The items of the next pass; set before each ``iter(loader)`` (the workers stay alive)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, list[int]]] = []

    def __iter__(self) -> Iterator[tuple[str, list[int]]]:
        return iter(list(self.items))

    def __len__(self) -> int:
        return len(self.items)


class BatchLoader:
    """Batches of every split of a run, collated ahead in persistent DataLoader workers.

    One set of ``workers`` processes serves every pass (each epoch, each evaluation) of a run, so the
    encoder's per-process caches (decoded images, frozen text states) stay warm across epochs.
    Preloaded splits are sliced in the main process (nothing to gain from workers). The DataLoader gets
    its own generator, so the training RNG streams are untouched and the numbers do not depend on the
    loading path. Workers see the splits and the encoder as they were when the first pass started: a
    ``collate()`` must depend on nothing that training changes (the same holds for preloading).
    Call :meth:`close` (or use it as a context manager) to stop the workers.
    """

    def __init__(self, splits: Mapping[str, SplitData], workers: int = 0, pin_memory: bool = False,
                 prefetch_factor: int = 2) -> None:
        self.splits = dict(splits)
        self.workers, self.pin_memory, self.prefetch_factor = workers, pin_memory, prefetch_factor
        self._plan = _Plan()
        self._loader: torch.utils.data.DataLoader | None = None

    def _dataloader(self) -> torch.utils.data.DataLoader:
        if self._loader is None:
            self._loader = torch.utils.data.DataLoader(
                _Batches(self.splits), sampler=self._plan, batch_size=None, num_workers=self.workers,
                pin_memory=self.pin_memory, prefetch_factor=self.prefetch_factor,
                generator=torch.Generator().manual_seed(0), persistent_workers=True,
            )
        return self._loader

    def batches(self, plan: Iterable[tuple[str, Sequence[int]]]) -> Iterator[tuple[str, list[int], dict[str, torch.Tensor]]]:
        """``(key, kept indices, CPU batch)`` for each planned batch of split ``key``, in order; a batch
        whose examples were all unreadable (and skipped) is left out."""
        items = [(key, [int(i) for i in indices]) for key, indices in plan]
        if self.workers <= 0 or all(self.splits[key].preloaded for key, _ in items):
            loaded: Iterable[Any] = (self.splits[key].load(indices) for key, indices in items)
        else:
            self._plan.items = items
            loaded = self._dataloader()
        for (key, _), result in zip(items, loaded):
            if isinstance(result, _Failure):
                raise result.exc
            if result.skipped:  # found in a worker: the main process's record is the one reported
                self.splits[key].skipped.update(result.skipped)
            if result.batch is not None:
                yield key, result.kept, result.batch

    def close(self) -> None:
        """Stop the worker processes (a later pass starts new ones)."""
        loader, self._loader = self._loader, None
        iterator = getattr(loader, "_iterator", None)
        if iterator is not None and hasattr(iterator, "_shutdown_workers"):
            iterator._shutdown_workers()

    def __enter__(self) -> BatchLoader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iterate_batches(splits: Mapping[str, SplitData], plan: Iterable[tuple[str, Sequence[int]]], workers: int = 0,
                    pin_memory: bool = False, prefetch_factor: int = 2) -> Iterator[tuple[str, list[int], dict[str, torch.Tensor]]]:
    """One pass of :class:`BatchLoader` (workers started for it and stopped after it)."""
    with BatchLoader(splits, workers, pin_memory, prefetch_factor) as loader:
        yield from loader.batches(plan)


def load_split(task: Task, split: str, encoder: Any, preload: bool | str, source: str | None = None,
               memory_budget_mb: float = 4096.0, skip_unreadable: bool = False) -> SplitData:
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
    return SplitData(examples, task.info, encoder, preload, source, memory_budget_mb, skip_unreadable)
