"""One encoder pass for a replay batch that mixes tasks, split only at the heads.

BCL draws every replay and evaluation batch from the memories of all past tasks. Running each task's share
through ``ctx.model`` costs one encoder pass per past task (twice for a replay batch: its cross-entropy and
its distillation term), so a step grew with the number of tasks. :func:`batch_logits` concatenates the parts
whose collated tensors agree in keys, dtypes and sizes but the first, runs the encoder once
(``model.features``), and sends each part's rows through its own head. The encoder treats rows independently
(no batch statistics), so each part's logits are those of its own pass up to the rounding of a larger matrix
product; a part alone in its layout runs exactly as before. The same function as climb-replay's
``climb_replay.forward.batch_logits``, kept here so that BCL needs no other plugin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

__all__ = ["batch_logits"]


def batch_logits(model: Any, parts: Sequence[tuple[str, Mapping[str, torch.Tensor]]]) -> list[torch.Tensor]:
    """``model(task, batch)`` of each ``(task, batch)`` part, from one encoder pass per layout."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, (_, batch) in enumerate(parts):
        shapes = tuple(
            (key, value.dtype, tuple(value.shape[1:])) for key, value in batch.items() if key != "targets"
        )
        groups.setdefault(shapes, []).append(i)
    logits: dict[int, torch.Tensor] = {}
    for members in groups.values():
        if len(members) == 1:
            task, batch = parts[members[0]]
            logits[members[0]] = model(task, batch)
            continue
        first = parts[members[0]][1]
        features = model.features(
            {key: torch.cat([parts[i][1][key] for i in members]) for key in first if key != "targets"}
        )
        for i, rows in zip(members, features.split([len(parts[i][1]["targets"]) for i in members])):
            logits[i] = model.heads[parts[i][0]](rows)
    return [logits[i] for i in range(len(parts))]
