"""Task heads, their losses and their scores, one per head type of the task manifest.

The heads follow CLiMB: classification / soft-score / multi-label heads are
``Linear(hidden*views -> 2*hidden) -> LayerNorm -> GELU -> Linear(2*hidden -> labels)`` over the
concatenated view vectors (two images -> 2*hidden); the multiple-choice head is
``Dropout(0.1) -> Linear(hidden -> 1)`` per choice, giving ``(batch, choices)`` logits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from climb_harness.api import Encoder, Example, TaskInfo
from climb_harness.core.confidence import score_from_stats
from climb_harness.core.messages import blame


class ClassificationHead(nn.Module):
    def __init__(self, hidden: int, views: int, num_labels: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(hidden * views, hidden * 2), nn.LayerNorm(hidden * 2), nn.GELU(), nn.Linear(hidden * 2, num_labels)
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:  # (B, V, H) -> (B, labels)
        return self.net(features.flatten(1))


class MultipleChoiceHead(nn.Module):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Dropout(0.1), nn.Linear(hidden, 1))

    def forward(self, features: torch.Tensor) -> torch.Tensor:  # (B, C, H) -> (B, C)
        return self.net(features).squeeze(-1)


def build_head(task: TaskInfo, hidden: int) -> nn.Module:
    if task.head.type == "multiple-choice":
        return MultipleChoiceHead(hidden)
    return ClassificationHead(hidden, task.num_views, task.head.num_labels)


def targets_tensor(examples: Sequence[Example], task: TaskInfo) -> torch.Tensor:
    """Targets of a list of examples: class indices, or a (N, labels) score / multi-hot matrix."""
    kind, labels = task.head.type, task.head.num_labels
    if kind in ("classification", "multiple-choice"):
        return torch.tensor([int(e.target) for e in examples], dtype=torch.long)  # type: ignore[arg-type]
    out = torch.zeros(len(examples), labels)
    for row, example in enumerate(examples):
        target: Any = example.target
        if kind == "soft-score":
            for label, score in dict(target).items():
                out[row, int(label)] = float(score)
        else:
            out[row, [int(t) for t in target]] = 1.0
    return out


def head_loss(task: TaskInfo, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """CE for classification and multiple choice; BCE (x labels for soft scores, as in VQA) otherwise."""
    kind = task.head.type
    if kind in ("classification", "multiple-choice"):
        return F.cross_entropy(logits, targets)
    loss = F.binary_cross_entropy_with_logits(logits, targets)
    return loss * targets.shape[1] if kind == "soft-score" else loss


def statistic_kind(task: TaskInfo) -> str:
    """How the task's per-example statistics combine (:mod:`climb_harness.core.confidence`)."""
    return "micro-f1" if task.head.type == "multi-label" else "mean"


@torch.no_grad()
def example_statistics(task: TaskInfo, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-example statistics ``(B, k)`` whose sums give the task's score.

    Accuracy (classification, multiple choice): 1 if the arg-max is the target. VQA score (soft
    scores): the target score of the predicted answer. Multi-label: the example's true positives,
    false positives and false negatives at sigmoid > 0.5 (micro-F1 sums them over the split).
    """
    kind = task.head.type
    if kind in ("classification", "multiple-choice"):
        return (logits.argmax(-1) == targets).double().unsqueeze(1)
    if kind == "soft-score":
        return targets.gather(1, logits.argmax(-1, keepdim=True)).double()
    predicted = (logits.sigmoid() > 0.5).double()
    truth = targets.double()
    return torch.stack([(predicted * truth).sum(1), (predicted * (1 - truth)).sum(1), ((1 - predicted) * truth).sum(1)], dim=1)


class ScoreAccumulator:
    """Collects a task's per-example statistics over batches; ``value()`` is the score on a 0-100 scale."""

    def __init__(self, task: TaskInfo) -> None:
        self.task = task
        self.kind = statistic_kind(task)
        self._parts: list[torch.Tensor] = []
        self._indices: list[int] = []

    def update(self, logits: torch.Tensor, targets: torch.Tensor, indices: Sequence[int] | None = None) -> None:
        """Add a batch; ``indices`` (the examples' positions in their split) are kept for :meth:`indices`."""
        self._parts.append(example_statistics(self.task, logits, targets).cpu())
        if indices is not None:
            self._indices.extend(int(i) for i in indices)

    def indices(self) -> np.ndarray:
        """``(N,)`` int64 split positions of the examples seen, in the order of :meth:`statistics`."""
        return np.asarray(self._indices, dtype=np.int64)

    def statistics(self) -> np.ndarray:
        """``(N, k)`` float64 array, one row per example seen (see :func:`example_statistics`)."""
        columns = 3 if self.kind == "micro-f1" else 1
        return torch.cat(self._parts).numpy() if self._parts else np.zeros((0, columns))

    def merge(self, parts: Sequence[np.ndarray], indices: Sequence[Sequence[int]] = ()) -> None:
        """Replace what was seen by ``parts`` concatenated (data parallel: every process's share, in order),
        and the example positions by ``indices`` concatenated."""
        self._parts = [torch.from_numpy(np.asarray(part, dtype=np.float64)).reshape(len(part), -1) for part in parts if len(part)]
        self._indices = [int(i) for share in indices for i in share]

    def value(self) -> float:
        stats = self.statistics()
        return score_from_stats(self.kind, stats) if len(stats) else 0.0


class ContinualModel(nn.Module):
    """One encoder and one head per task: what every algorithm trains.

    An exception in the encoder's forward is a PluginError naming the encoder (and ``encoder_source``,
    its distribution, when the runner knows it), so a failing step is blamed on the right plugin."""

    def __init__(self, encoder: Encoder, tasks: Mapping[str, TaskInfo],
                 encoder_source: str | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        self.task_infos = dict(tasks)
        self.encoder_source = encoder_source
        self.heads = nn.ModuleDict({name: build_head(info, encoder.hidden_size) for name, info in tasks.items()})

    def features(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        inputs = {k: v for k, v in batch.items() if k != "targets"}
        name = str(getattr(self.encoder, "manifest", {}).get("name", type(self.encoder).__name__))
        return blame("encoder", name, self.encoder, "forward()", lambda: self.encoder(inputs),
                     self.encoder_source)

    #: Data parallel: ``(seed, rank, task index)``, set at every task start (:meth:`own_stream`). Each process
    #: then draws the random numbers of its training forwards (dropout masks) from a stream of its own,
    #: ``(seed, rank, task index, forward count)``, inside a fork of the global RNG that is restored
    #: afterwards: masks are independent across processes (with one shared seed they would coincide for
    #: shards of equal shape), every other draw stays the same in every process, and a resumed run
    #: replays the same streams.
    rank_stream: tuple[int, int, int] | None = None
    _forwards = 0

    def own_stream(self, seed: int, rank: int, task_index: int) -> None:
        """Draw training-forward randomness from a per-process stream from now on (see :attr:`rank_stream`)."""
        self.rank_stream, self._forwards = (seed, rank, task_index), 0

    def forward(self, task: str, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self._own_stream(lambda: self.heads[task](self.features(batch)))

    def _own_stream(self, call: Callable[[], torch.Tensor]) -> torch.Tensor:
        """``call()``; in a training forward under data parallelism, on this process's stream (:attr:`rank_stream`)."""
        if self.rank_stream is None or not self.training:
            return call()
        self._forwards += 1
        seed, rank, task_index = self.rank_stream
        device = next((p.device for p in self.parameters()), torch.device("cpu"))
        devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(int(np.random.SeedSequence([seed, rank, task_index, self._forwards, 0xD5]).generate_state(1)[0]))
            return call()

    def forward_tasks(self, parts: Sequence[tuple[str, Mapping[str, torch.Tensor]]]) -> list[torch.Tensor]:
        """``self(task, batch)`` of each ``(task, batch)`` part, from one encoder pass per layout.

        A replay batch mixes past tasks, each read by its own head: one forward per task would cost one encoder
        pass per past task, so a step would grow with the number of tasks learned. Parts whose collated tensors
        agree in keys, dtypes and every size but the first are concatenated and go through the encoder once;
        the features are cut back into the parts' rows and each goes through its own head (the shipped encoders
        treat rows independently, so each part's logits are its own pass's up to the rounding of a larger
        product). A part alone in its layout runs exactly as ``self(task, batch)``.
        """
        groups: dict[tuple[Any, ...], list[int]] = {}
        for i, (_, batch) in enumerate(parts):
            shapes = tuple((key, value.dtype, tuple(value.shape[1:])) for key, value in batch.items() if key != "targets")
            groups.setdefault(shapes, []).append(i)
        logits: dict[int, torch.Tensor] = {}
        for members in groups.values():
            if len(members) == 1:
                task, batch = parts[members[0]]
                logits[members[0]] = self(task, batch)
                continue
            first = parts[members[0]][1]
            merged = {key: torch.cat([parts[i][1][key] for i in members]) for key in first if key != "targets"}
            features = self._own_stream(lambda: self.features(merged))
            for i, rows in zip(members, features.split([len(parts[i][1]["targets"]) for i in members])):
                logits[i] = self.heads[parts[i][0]](rows)
        return [logits[i] for i in range(len(parts))]

    def loss(self, task: str, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return head_loss(self.task_infos[task], self(task, batch), batch["targets"])

    def head_loss(self, task: str, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """``task``'s loss from logits of a forward pass already run (``loss`` without a second forward)."""
        return head_loss(self.task_infos[task], logits, targets)
