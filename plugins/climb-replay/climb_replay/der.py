"""DER and DER++ (Buzzega et al. 2020, "Dark Experience for General Continual Learning: a Strong, Simple
Baseline", NeurIPS).

The memory is a reservoir (Vitter's Algorithm R) of the training stream holding, per entry, the example
(its index: ``ctx.batch`` gives the inputs and the label back) and the logits the model produced for it
**when it was inserted** (the same forward pass the step trained on: ``ctx.model(task, batch)``, the loss
then comes from those logits through ``ctx.model.head_loss``, so nothing runs twice). At every step::

    loss = CE(current batch)
         + alpha * MSE(model(x'), z')        (x', z') drawn from the memory          (DER)
         + beta  * CE(model(x''), y'')       (x'', y'') a second, independent draw    (DER++ only)

With per-task heads every memory example goes through its own task's head, and the MSE compares it with
the logits stored from that head. A draw that mixes tasks weights each task's mean term by its share of the
draw, so each term is a mean over the drawn examples (the MSE a mean over each example's logits, as
``F.mse_loss`` over a one-task draw). Both draws go through the encoder in one pass, split only at the heads
(:mod:`climb_replay.forward`). See :mod:`climb_replay._rehearsal` for how the reservoir is fed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch.nn import functional as F

from climb_harness.api import TrainingContext
from climb_replay._rehearsal import ReservoirRehearsal
from climb_replay.forward import task_logits


class DarkExperienceReplay(ReservoirRehearsal):
    """DER (``beta`` = 0) and DER++; see the module docstring."""

    fields = ("logits",)

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.alpha = float(self.options.get("alpha", 0.3))
        self.beta = float(self.options.get("beta", 0.0))
        self.last_terms: dict[str, torch.Tensor] = {}  # the latest step's terms, detached: no device sync
        self.last_logit_slots: list[int] = []  # the latest step's first draw
        self.last_label_slots: list[int] = []  # the latest step's second draw (DER++)
        self._pending: tuple[str, torch.Tensor] | None = None  # (task, logits) of the batch in flight

    def training_loss(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> torch.Tensor:
        logits = ctx.model(task, batch)
        loss = ctx.model.head_loss(task, logits, batch["targets"])
        self._pending = (task, logits.detach().float())
        self.last_terms = {"current": loss.detach()}
        self.last_logit_slots = self.draw(ctx, task)
        self.last_label_slots = self.draw(ctx, task) if self.beta and self.last_logit_slots else []
        if not self.last_logit_slots:
            return loss
        # both draws through the encoder in one pass (climb_replay.forward), each task's rows through its head
        first, second = self.by_task(self.last_logit_slots), self.by_task(self.last_label_slots)
        groups = [*first.items(), *second.items()]
        outputs = task_logits(ctx, [(name, self.indices(slots)) for name, slots in groups])
        distill = self.logit_term(list(first.values()), [out for out, _ in outputs[: len(first)]])
        self.last_terms["logits"] = distill.detach()
        loss = loss + self.alpha * distill
        if second:
            share = 1 / len(self.last_label_slots)
            labels = sum(ctx.model.head_loss(name, out, data["targets"]) * (len(slots) * share)
                         for (name, slots), (out, data) in zip(second.items(), outputs[len(first):]))
            self.last_terms["labels"] = labels.detach()
            loss = loss + self.beta * labels
        return loss

    def logit_loss(self, ctx: TrainingContext, slots: Sequence[int]) -> torch.Tensor:
        """Mean over the drawn examples of the mean squared difference between their head's logits now and
        the logits stored at insertion."""
        groups = self.by_task(slots)
        outputs = task_logits(ctx, [(name, self.indices(group)) for name, group in groups.items()])
        return self.logit_term(list(groups.values()), [out for out, _ in outputs])

    def indices(self, slots: Sequence[int]) -> list[int]:
        """The training indices of the examples in ``slots``."""
        return [self.memory.entries[s][1] for s in slots]

    def logit_term(self, groups: Sequence[Sequence[int]], outputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """:meth:`logit_loss` from the logits already computed for each task's group of slots."""
        count = sum(len(group) for group in groups)
        total: torch.Tensor | None = None
        for group, out in zip(groups, outputs):
            stored = torch.stack([self.memory.value("logits", s) for s in group]).to(out.device)
            term = F.mse_loss(out.float(), stored) * (len(group) / count)
            total = term if total is None else total + term
        assert total is not None, "logit_loss() needs at least one slot"
        return total

    def after_optimizer_step(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> None:
        pending, self._pending = self._pending, None
        if pending is None or pending[0] != task:  # training_loss did not run on this batch
            return
        self.insert(ctx, task, logits=pending[1])
