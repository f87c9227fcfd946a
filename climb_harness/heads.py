"""Task heads, their losses and their scores, one per head type of the task manifest.

The heads follow CLiMB: classification / soft-score / multi-label heads are
``Linear(hidden*views -> 2*hidden) -> LayerNorm -> GELU -> Linear(2*hidden -> labels)`` over the
concatenated view vectors (two images -> 2*hidden); the multiple-choice head is
``Dropout(0.1) -> Linear(hidden -> 1)`` per choice, giving ``(batch, choices)`` logits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from climb_harness.api import Example, TaskInfo


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


class ScoreAccumulator:
    """Accumulates a task's metric over batches; ``value()`` is on a 0-100 scale."""

    def __init__(self, task: TaskInfo) -> None:
        self.kind = task.head.type
        self.total = 0.0
        self.count = 0
        self.tp = self.fp = self.fn = 0.0

    @torch.no_grad()
    def update(self, logits: torch.Tensor, targets: torch.Tensor) -> None:
        if self.kind in ("classification", "multiple-choice"):
            self.total += float((logits.argmax(-1) == targets).sum())
            self.count += len(targets)
        elif self.kind == "soft-score":  # VQA score: the target score of the predicted answer
            self.total += float(targets.gather(1, logits.argmax(-1, keepdim=True)).sum())
            self.count += len(targets)
        else:  # micro-F1 at sigmoid > 0.5
            predicted = (logits.sigmoid() > 0.5).float()
            self.tp += float((predicted * targets).sum())
            self.fp += float((predicted * (1 - targets)).sum())
            self.fn += float(((1 - predicted) * targets).sum())

    def value(self) -> float:
        if self.kind == "multi-label":
            denominator = 2 * self.tp + self.fp + self.fn
            return 100.0 * 2 * self.tp / denominator if denominator else 0.0
        return 100.0 * self.total / self.count if self.count else 0.0


class ContinualModel(nn.Module):
    """One encoder and one head per task: what every algorithm trains."""

    def __init__(self, encoder: nn.Module, tasks: Mapping[str, TaskInfo]) -> None:
        super().__init__()
        self.encoder = encoder
        self.task_infos = dict(tasks)
        self.heads = nn.ModuleDict({name: build_head(info, encoder.hidden_size) for name, info in tasks.items()})

    def features(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.encoder({k: v for k, v in batch.items() if k != "targets"})

    def forward(self, task: str, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.heads[task](self.features(batch))

    def loss(self, task: str, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return head_loss(self.task_infos[task], self(task, batch), batch["targets"])
