"""One encoder pass for a batch that mixes tasks, split only at the heads.

A memory batch holds examples of several past tasks, each read by its own head. Running
``ctx.model(task, ctx.batch(task, indices))`` once per task costs one encoder pass per past task in the batch,
so a replay step grew with the number of tasks learned (about 1.4 ms per past task on the split-digits MLP).
Here the tasks' collated inputs are concatenated and go through the encoder once
(``ctx.model.forward_tasks``, the harness's); the features are cut back into the tasks' rows and each part goes
through its own head. The encoder treats the rows of a batch independently (no batch statistics: the shipped
encoders have none), so each part's logits are those of its own pass, up to the rounding of a larger matrix
product.

Only parts whose collated tensors agree in keys, dtypes and every size but the first can be concatenated;
the others (another number of views, text padded to another length by a task's split) take passes of their
own, one per distinct layout. A part alone in its layout runs exactly as before, through ``ctx.model``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from climb_harness.api import TrainingContext

__all__ = ["batch_logits", "layout", "task_logits"]


def layout(batch: Mapping[str, torch.Tensor]) -> tuple[Any, ...]:
    """What must agree for two collated batches to be concatenated: keys, dtypes and sizes but the first."""
    return tuple(
        (key, value.dtype, tuple(value.shape[1:])) for key, value in batch.items() if key != "targets"
    )


def task_logits(
    ctx: TrainingContext, parts: Sequence[tuple[str, Sequence[int]]]
) -> list[tuple[torch.Tensor, dict[str, torch.Tensor]]]:
    """``(logits, batch)`` of each ``(task, indices)`` part: ``batch = ctx.batch(task, indices)`` and the
    logits ``ctx.model(task, batch)`` would give, from one encoder pass per layout (module docstring)."""
    batches = [ctx.batch(task, list(indices)) for task, indices in parts]
    return list(
        zip(batch_logits(ctx.model, [(task, batch) for (task, _), batch in zip(parts, batches)]), batches)
    )


def batch_logits(model: Any, parts: Sequence[tuple[str, Mapping[str, torch.Tensor]]]) -> list[torch.Tensor]:
    """``model(task, batch)`` of each ``(task, batch)`` part, from one encoder pass per layout
    (:meth:`climb_harness.api.ContinualModelProtocol.forward_tasks`)."""
    return model.forward_tasks(parts)
