"""CLiMB's optimiser: AdamW without weight decay on biases and normalisation layers, linear warm-up then decay."""

from __future__ import annotations

from typing import Any

import torch

from climb_harness.core.engine.options import TrainingOptions

__all__ = ["NORM_TYPES", "build_optimizer", "linear_schedule", "parameter_groups"]


#: Modules whose parameters never get weight decay (CLiMB's intent: "LayerNorm.weight" and biases).
NORM_TYPES: tuple[type[torch.nn.Module], ...] = (
    torch.nn.LayerNorm, torch.nn.GroupNorm, torch.nn.modules.batchnorm._NormBase,
    *((torch.nn.RMSNorm,) if hasattr(torch.nn, "RMSNorm") else ()),
)


def parameter_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """The trainable parameters in two groups: with weight decay, and without it.

    No decay on biases and on every parameter of a normalisation module, chosen by module type
    rather than by name (names differ between models: ``LayerNorm``, ``layernorm_before``, ``norm``).
    A parameter shared by several modules is listed once.
    """
    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    seen: set[int] = set()
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            if not param.requires_grad or id(param) in seen:
                continue
            seen.add(id(param))
            is_bias = name == "bias" or name.endswith("_bias")  # e.g. nn.MultiheadAttention.in_proj_bias
            (no_decay if isinstance(module, NORM_TYPES) or is_bias else decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]


def build_optimizer(model: torch.nn.Module, lr: float, training: TrainingOptions,
                    groups: list[dict[str, Any]] | None = None) -> torch.optim.Optimizer | None:
    """AdamW over trainable parameters, no weight decay on biases and normalisation layers (as in CLiMB).

    ``groups`` are :func:`parameter_groups` of ``model`` when the caller already has them."""
    groups = parameter_groups(model, training.weight_decay) if groups is None else groups
    if not groups:
        return None
    # fused: one kernel for all parameters; ~10x cheaper than the per-tensor loop on CPU for large
    # embedding tables (the update itself is the same AdamW)
    fused = all(p.device.type in ("cpu", "cuda") for g in groups for p in g["params"])
    return torch.optim.AdamW(groups, lr=lr, betas=training.adam_betas, eps=training.adam_eps, fused=fused)


def linear_schedule(optimizer: torch.optim.Optimizer, total_steps: int, warmup_ratio: float,
                    kind: str = "linear-warmup") -> torch.optim.lr_scheduler.LambdaLR:
    warmup = int(total_steps * warmup_ratio)

    def factor(step: int) -> float:
        if kind == "constant":
            return 1.0
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
