"""Learning without Forgetting (Li & Hoiem 2017, "Learning without Forgetting", IEEE TPAMI 40(12)).

When task t starts, the model as it is then (the "old" network: shared encoder theta_s, old heads theta_o)
records, for every training example of task t, the outputs Y_o of every earlier task's head (eval mode, no
gradient; the paper's "record responses"). Training on task t then minimises::

    L = L_new(Y_n, Yhat_n) + lambda_o * sum_o L_old(Y_o, Yhat_o)

where Yhat_o are the old heads' outputs on the same examples under the current weights, taken from the
**same encoder forward pass** as the current head's logits (``ctx.model.features`` once, each head on it,
``ctx.model.head_loss`` for L_new), and L_old is the paper's distillation loss with temperature T::

    L_old = -(1/B) sum_b sum_k p'_k log q'_k,   p' = softmax(Y_o / T),  q' = softmax(Yhat_o / T)

(the paper's y'^(i) = (y^(i))^(1/T) / sum_j (y^(j))^(1/T) on probabilities is softmax(logits / T)). It
differs from KL(p' || q') only by the entropy of p', a constant, so its gradient is the KL's. For heads with
per-label sigmoids (soft-score, multi-label) each label is its own two-class distribution:
``BCE(sigmoid(Yhat_o / T) ; sigmoid(Y_o / T))``, averaged as the head's own loss (times num_labels for soft
scores, as VQA's loss). No factor T^2 (Hinton et al.'s), as in the paper.

Old heads are those of the tasks learned before t whose inputs have as many views as task t's (a head over
two images cannot read one image's features); the others are left out (``skipped_heads``). Targets are
kept on the CPU: (training examples of t) x (sum of the old heads' widths) floats.

Deviations: no warm-up step (the paper first trains the new head alone with the rest frozen; Avalanche's LwF
does not either); the paper's weight decay is the harness's AdamW weight decay.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch.nn import functional as F

from climb_harness.api import Algorithm, TrainingContext


def distillation_loss(head_type: str, new_logits: torch.Tensor, old_logits: torch.Tensor,
                      temperature: float) -> torch.Tensor:
    """L_old of the module docstring for one old head: a batch mean of a cross-entropy with soft targets."""
    if head_type in ("classification", "multiple-choice"):
        targets = torch.softmax(old_logits / temperature, dim=-1)
        return -(targets * torch.log_softmax(new_logits / temperature, dim=-1)).sum(-1).mean()
    soft_targets = torch.sigmoid(old_logits / temperature)
    loss = F.binary_cross_entropy_with_logits(new_logits / temperature, soft_targets)
    return loss * new_logits.shape[-1] if head_type == "soft-score" else loss


class LearningWithoutForgetting(Algorithm):
    """LwF with one head per task; see the module docstring."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.lambda_old = float(self.options.get("lambda_old", 1.0))
        self.temperature = float(self.options.get("temperature", 2.0))
        self.targets: dict[str, torch.Tensor] = {}  # old task -> (current task's training examples, width)
        self.skipped_heads: list[str] = []  # earlier tasks whose head cannot read the current task's inputs
        self.last_terms: dict[str, torch.Tensor] = {}  # the latest step's terms, detached: no device sync

    def old_heads(self, ctx: TrainingContext) -> list[str]:
        """The earlier tasks whose heads read the current task's features (same number of views)."""
        views = ctx.tasks[ctx.current_task].num_views
        earlier = list(ctx.task_order[: ctx.task_index])
        self.skipped_heads = [t for t in earlier if ctx.tasks[t].num_views != views]
        return [t for t in earlier if ctx.tasks[t].num_views == views]

    def on_task_start(self, ctx: TrainingContext) -> None:
        self.targets = {}
        heads = self.old_heads(ctx)
        if heads:
            self.targets = self.record(ctx, ctx.current_task, heads)

    @torch.no_grad()
    def record(self, ctx: TrainingContext, task: str, heads: list[str]) -> dict[str, torch.Tensor]:
        """Every old head's outputs on every training example of ``task`` (eval mode; mode and RNG kept)."""
        n = ctx.num_train_examples(task)
        size = ctx.batch_size(task)
        parts: dict[str, list[torch.Tensor]] = {head: [] for head in heads}
        was_training = ctx.model.training
        devices = [ctx.device] if getattr(ctx.device, "type", "cpu") == "cuda" else []
        with torch.random.fork_rng(devices=devices):  # the recording draws nothing from training's RNG
            ctx.model.eval()
            try:
                for start in range(0, n, size):
                    features = ctx.model.features(ctx.batch(task, list(range(start, min(n, start + size)))))
                    for head in heads:
                        parts[head].append(ctx.model.heads[head](features).float().cpu())
            finally:
                ctx.model.train(was_training)
        return {head: torch.cat(chunks) for head, chunks in parts.items()}

    def training_loss(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> torch.Tensor:
        features = ctx.model.features(batch)
        loss = ctx.model.head_loss(task, ctx.model.heads[task](features), batch["targets"])
        self.last_terms = {"new": loss.detach()}
        if not self.targets or task != ctx.current_task:
            return loss
        rows = torch.as_tensor(list(ctx.batch_indices), dtype=torch.long)
        for head, recorded in self.targets.items():
            old = recorded[rows].to(features.device)
            term = distillation_loss(ctx.tasks[head].head.type, ctx.model.heads[head](features).float(), old,
                                     self.temperature)
            self.last_terms[head] = term.detach()
            loss = loss + self.lambda_old * term
        return loss
