"""``scores.safetensors``: every per-example statistic a run's accuracy matrix was computed from.

A run folder keeps, beside ``results.json``, the statistics of every report-split example in every row
of the matrix (before training and after each task), the group (image) of every example, and the
direct fine-tuning reference's statistics on the same examples. From them
:mod:`climb_harness.core.uncertainty` resamples the examples jointly for every metric, and ``climb report``
pairs methods on the same resamples. The file is safetensors (no pickle; numpy reads it without
torch) and is rewritten atomically with ``results.json`` after every task.

Layout (``j``: a task's position, ``r``: a row, 0 = before training, ``i + 1`` = after task ``i``):
``groups.j`` int64 ``(N_j,)``; ``row.r.j.index`` int64 ``(n,)`` increasing example indices and
``row.r.j.stats`` float64 ``(n, k)``; ``direct.j.index`` / ``direct.j.stats`` likewise. The metadata
hold ``format``, ``tasks`` and ``kinds`` (JSON lists). Reading validates every one of these (types,
shapes, finite values in range, indices inside the split) and names the file and the key at fault.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from climb_harness.core.uncertainty import RunScores, TaskScores

__all__ = ["SCORES_FILE", "ScoresError", "ScoresRecorder", "read_run_scores"]

SCORES_FILE = "scores.safetensors"
FORMAT = "climb-example-scores/1"
#: A scores file larger than this is refused unread (about 10 million entries per task is 80 MB).
MAX_BYTES = 8 * 2**30
_COLUMNS = {"mean": 1, "micro-f1": 3}


class ScoresError(ValueError):
    """A scores file that cannot be trusted: names the file, the key and what is wrong."""


class ScoresRecorder:
    """Collects a run's per-example statistics as it goes, and serialises them."""

    def __init__(self, tasks: Sequence[str], kinds: Sequence[str]) -> None:
        self.tasks = list(tasks)
        self.kinds = list(kinds)
        self.tensors: dict[str, np.ndarray] = {}

    def set_groups(self, task: str, codes: np.ndarray) -> None:
        self.tensors[f"groups.{self.tasks.index(task)}"] = np.ascontiguousarray(codes, dtype=np.int64)

    def add(self, kind: str, row: int, task: str, index: np.ndarray, stats: np.ndarray) -> None:
        """``kind``: ``"row"`` (``row`` 0 = before training) or ``"direct"`` (``row`` ignored)."""
        j = self.tasks.index(task)
        prefix = f"row.{row}.{j}" if kind == "row" else f"direct.{j}"
        self.tensors[f"{prefix}.index"] = np.ascontiguousarray(index, dtype=np.int64)
        self.tensors[f"{prefix}.stats"] = np.ascontiguousarray(stats, dtype=np.float64).reshape(len(index), -1)

    def row(self, row: int, task: str) -> tuple[np.ndarray, np.ndarray]:
        """``(example indices, statistics)`` of one entry (``row`` 0 = before training)."""
        prefix = f"row.{row}.{self.tasks.index(task)}"
        return self.tensors[f"{prefix}.index"], self.tensors[f"{prefix}.stats"]

    def keep_rows(self, count: int) -> None:
        """Drop the rows from ``count`` on (what a resumed run has not re-measured yet)."""
        for key in [k for k in self.tensors if k.startswith("row.") and int(k.split(".")[1]) >= count]:
            del self.tensors[key]

    def to_bytes(self) -> bytes:
        from safetensors.numpy import save

        metadata = {"format": FORMAT, "tasks": json.dumps(self.tasks), "kinds": json.dumps(self.kinds)}
        return save(dict(sorted(self.tensors.items())), metadata=metadata)

    @classmethod
    def read(cls, path: Path) -> ScoresRecorder:
        """A recorder holding what ``path`` holds (validated), to continue a resumed run."""
        tasks, kinds, tensors = _load(path)
        recorder = cls(tasks, kinds)
        recorder.tensors = tensors
        return recorder


def _bad(path: Path, key: str, problem: str) -> ScoresError:
    return ScoresError(f"{path}: {key} {problem}. The per-example scores file is damaged or was not written by "
                       f"climb-harness; delete it to report without per-example intervals, or rerun the run.")


def _load(path: Path) -> tuple[list[str], list[str], dict[str, np.ndarray]]:
    from safetensors import SafetensorError, safe_open

    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise ScoresError(f"{path}: cannot be read ({exc.strerror}).") from None
    if size > MAX_BYTES:
        raise _bad(path, "the file", f"is {size} bytes, over the {MAX_BYTES}-byte limit")
    try:
        with safe_open(str(path), framework="numpy") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except (SafetensorError, OSError, ValueError, TypeError) as exc:
        raise _bad(path, "the file", f"is not a readable safetensors file ({type(exc).__name__})") from None
    if metadata.get("format") != FORMAT:
        raise _bad(path, "metadata 'format'", f"is {str(metadata.get('format'))[:40]!r}, not {FORMAT!r}")
    tasks = _names(path, metadata, "tasks")
    kinds = _names(path, metadata, "kinds")
    if len(kinds) != len(tasks) or any(k not in _COLUMNS for k in kinds):
        raise _bad(path, "metadata 'kinds'", f"must give 'mean' or 'micro-f1' for each of {len(tasks)} tasks")
    return tasks, kinds, tensors


def _names(path: Path, metadata: Mapping[str, str], key: str) -> list[str]:
    try:
        value = json.loads(metadata.get(key, "null"))
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and len(v) <= 200 for v in value):
        raise _bad(path, f"metadata {key!r}", "must be a JSON list of names")
    return value


def _check(path: Path, tensors: Mapping[str, np.ndarray], prefix: str, kind: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    index, stats = tensors.get(f"{prefix}.index"), tensors.get(f"{prefix}.stats")
    if index is None or stats is None:
        raise _bad(path, prefix, "lacks its .index or .stats tensor")
    if index.dtype != np.int64 or index.ndim != 1 or len(index) == 0:
        raise _bad(path, f"{prefix}.index", "must be a non-empty 1-D int64 tensor")
    if index[0] < 0 or index[-1] >= size or np.any(np.diff(index) <= 0):
        raise _bad(path, f"{prefix}.index", f"must hold increasing example indices in [0, {size})")
    if stats.dtype != np.float64 or stats.shape != (len(index), _COLUMNS[kind]):
        raise _bad(path, f"{prefix}.stats", f"must be float64 of shape ({len(index)}, {_COLUMNS[kind]})")
    if not np.all(np.isfinite(stats)) or np.any(stats < 0) or (kind == "mean" and np.any(stats > 1)):
        raise _bad(path, f"{prefix}.stats", "holds values outside " + ("[0, 1]" if kind == "mean" else "[0, inf)"))
    return index, stats


def read_run_scores(path: Path, rows: int) -> RunScores:
    """The first ``rows`` rows of a run's scores (validated), aligned on the examples every row scored.

    Raises:
        ScoresError: The file is missing a row or task, or any tensor fails its check; names the key.
    """
    tasks, kinds, tensors = _load(path)
    scores: dict[str, TaskScores] = {}
    for j, (task, kind) in enumerate(zip(tasks, kinds)):
        groups = tensors.get(f"groups.{j}")
        if groups is None or groups.dtype != np.int64 or groups.ndim != 1 or len(groups) == 0:
            raise _bad(path, f"groups.{j}", "must be a non-empty 1-D int64 tensor")
        if groups.min() < 0 or groups.max() >= len(groups):
            raise _bad(path, f"groups.{j}", f"must hold group codes in [0, {len(groups)})")
        parts = [_check(path, tensors, f"row.{r}.{j}", kind, len(groups)) for r in range(rows)]
        direct = (_check(path, tensors, f"direct.{j}", kind, len(groups))
                  if f"direct.{j}.index" in tensors else None)
        common = parts[0][0]
        for index, _ in parts[1:] + ([direct] if direct else []):
            common = np.intersect1d(common, index, assume_unique=True)
        stack = np.stack([stats[np.searchsorted(index, common)] for index, stats in parts])
        aligned = None if direct is None else direct[1][np.searchsorted(direct[0], common)]
        scores[task] = TaskScores(kind, groups, common, stack, aligned)
    return RunScores(tasks, scores)

