"""What SI and MAS share: a per-parameter importance Omega and an anchor theta* over the trainable encoder
parameters, the quadratic penalty ``strength * sum_i Omega_i (theta_i - theta*_i)^2``, and its state.

Heads are left out, as in climb-ewc: each task has its own head, and a head is trained only by its own
task's batches, so a penalty on an earlier task's head would never act.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from climb_harness.api import Algorithm, TrainingContext

_FIX = ("resume with the options and plugin version the run started with, or start it again in a new "
        "--output folder.")


def trainable_encoder_params(ctx: TrainingContext) -> dict[str, torch.nn.Parameter]:
    """The encoder's parameters with ``requires_grad``, by name (``encoder.named_parameters()`` names)."""
    return {name: p for name, p in ctx.model.encoder.named_parameters() if p.requires_grad}


class QuadraticPenalty(Algorithm):
    """Base of SI and MAS: ``importance`` and ``anchor`` per parameter name, the penalty, the state.

    Subclasses set :attr:`prefix` (state keys) and :attr:`strength` and fill :attr:`importance` and
    :attr:`anchor` when a task ends.
    """

    prefix = "penalty"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.strength = 1.0
        self.importance: dict[str, torch.Tensor] = {}  # Omega, summed over the tasks learned
        self.anchor: dict[str, torch.Tensor] = {}  # theta* after the latest task

    def penalty(self, ctx: TrainingContext) -> torch.Tensor | None:
        """``strength * sum_i Omega_i (theta_i - theta*_i)^2`` (None before the first task has ended)."""
        if not self.anchor:
            return None
        params = dict(ctx.model.encoder.named_parameters())
        total = sum((self.importance[n] * (params[n] - self.anchor[n]).pow(2)).sum() for n in self.anchor)
        return self.strength * total if isinstance(total, torch.Tensor) else None

    def penalty_gradient(self, name: str, param: torch.Tensor) -> torch.Tensor | None:
        """d penalty / d param: ``2 strength Omega (theta - theta*)`` (None for an unpenalised ``name``)."""
        if name not in self.anchor:
            return None
        return 2 * self.strength * self.importance[name] * (param.detach() - self.anchor[name])

    def training_loss(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> torch.Tensor:
        loss = ctx.model.loss(task, batch)
        penalty = self.penalty(ctx)
        return loss if penalty is None else loss + penalty

    def consolidate(self, ctx: TrainingContext, new_importance: Mapping[str, torch.Tensor],
                    floor_at_zero: bool = False) -> None:
        """Omega += ``new_importance`` (then max(Omega, 0) if ``floor_at_zero``); theta* = the weights now."""
        params = trainable_encoder_params(ctx)
        for name, value in new_importance.items():
            total = self.importance.get(name, torch.zeros_like(value)) + value
            self.importance[name] = total.clamp(min=0) if floor_at_zero else total
        self.anchor = {name: p.detach().clone() for name, p in params.items() if name in self.importance}

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict[str, Any]:
        """``<prefix>.params`` (names), ``<prefix>.importance.<name>``, ``<prefix>.anchor.<name>``."""
        state: dict[str, Any] = {f"{self.prefix}.params": list(self.anchor)}
        for name in self.anchor:
            state[f"{self.prefix}.importance.{name}"] = self.importance[name]
            state[f"{self.prefix}.anchor.{name}"] = self.anchor[name]
        return state

    def load_state_dict(self, state: Mapping[str, Any], ctx: TrainingContext) -> None:
        key = f"{self.prefix}.params"
        names = state.get(key, [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ValueError(f"the {self.name} state's {key!r} is not a list of parameter names; {_FIX}")
        params = dict(ctx.model.encoder.named_parameters())
        importance, anchor = {}, {}
        for name in names:
            for store, part in ((importance, "importance"), (anchor, "anchor")):
                entry = f"{self.prefix}.{part}.{name}"
                if entry not in state:
                    raise KeyError(f"the {self.name} state lacks {entry!r}; the checkpoint is incomplete; "
                                   f"{_FIX}")
                value = state[entry]
                fits = (isinstance(value, torch.Tensor) and name in params
                        and value.shape == params[name].shape)
                if not fits:
                    raise ValueError(f"the {self.name} state's {entry!r} does not match the encoder "
                                     f"parameter {name!r} (missing or another shape); {_FIX}")
                store[name] = value.to(ctx.device)
        self.importance, self.anchor = importance, anchor
