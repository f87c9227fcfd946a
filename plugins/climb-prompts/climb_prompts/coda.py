"""CODA-Prompt (Smith et al., CVPR 2023): attention-weighted sums of orthogonal prompt components.

In each prompted layer, component ``m`` has a prompt ``P_m`` (``L x width``), a key ``K_m`` and an
attention vector ``A_m`` (query-wide). A sequence with frozen query ``q`` gets

    alpha_m = cos(q * A_m, K_m)          (elementwise product; no softmax)
    p       = sum_m alpha_m P_m          -> key prefix p[:L/2], value prefix p[L/2:]

over the components of the tasks started so far. Each task owns ``pool_size // tasks`` components: at
its start they are re-initialised by Gram-Schmidt, orthonormal to every earlier component (trained,
then frozen) and to each other, and only they train; the loss adds ``ortho_weight * sum over layers of
mean((B B^T - I)^2)`` for ``B`` = the keys, the attention vectors and the flattened prompts in use.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from climb_harness.api import TrainingContext, prompting

from climb_prompts.base import PromptMethod, PromptModule, generator, layers_option
from climb_prompts.manifests import CODA_MANIFEST

__all__ = ["CodaPrompt", "CodaPromptModule", "gram_schmidt", "ortho_penalty", "weighted_prompt"]

_STREAM = 2023  # the generator stream of CODA-Prompt's initialisation
_PARTS = ("P", "K", "A")  # prompts, keys, attention vectors (the paper's letters)


def _orthonormal_basis(rows: torch.Tensor) -> list[torch.Tensor]:
    """An orthonormal basis of the span of ``rows`` (float64; rows inside the span so far are skipped)."""
    basis: list[torch.Tensor] = []
    for row in rows:
        for u in basis:
            row = row - (row @ u) * u
        if row.norm() > 1e-8:
            basis.append(row / row.norm())
    return basis


def gram_schmidt(earlier: torch.Tensor, count: int, rng: torch.Generator) -> torch.Tensor:
    """``count`` random unit vectors orthogonal to the rows of ``earlier`` and to each other.

    Each starts as a standard normal draw and has its projections on an orthonormal basis of
    everything before it removed (Gram-Schmidt, in float64), then is normalised; a draw that is
    (numerically) inside that span is drawn again, as in the official code. The basis spans the
    earlier rows themselves, so the new rows are orthogonal to each of them even after training has
    moved them off orthonormality (the official code projects on each earlier row separately, which
    is exact only while they stay orthogonal to each other).

    Args:
        earlier: ``(s, d)`` rows to stay orthogonal to.
        count: How many new rows.
        rng: The generator of the draws.

    Returns:
        ``(count, d)`` rows, in ``earlier``'s dtype.

    Raises:
        ValueError: When ``s + count > d`` (no room for that many orthogonal rows).
    """
    s, d = earlier.shape
    if s + count > d:
        raise ValueError(f"coda-prompt: {s + count} orthogonal components of dimension {d} cannot exist; "
                         f"lower pool_size to at most {d}.")
    basis = _orthonormal_basis(earlier.detach().to(torch.float64).cpu())
    new: list[torch.Tensor] = []
    while len(new) < count:
        vector = torch.randn(d, generator=rng, dtype=torch.float64)
        for u in basis:
            vector = vector - (vector @ u) * u
        norm = vector.norm()
        if norm < 1e-8:  # the draw fell in the span: draw again
            continue
        basis.append(vector / norm)
        new.append(vector / norm)
    return torch.stack(new).to(earlier.dtype)


def ortho_penalty(rows: torch.Tensor) -> torch.Tensor:
    """``mean((B B^T - I)^2)``: zero exactly when the rows of ``B`` are orthonormal."""
    gram = rows @ rows.t()
    return (gram - torch.eye(rows.shape[0], device=rows.device, dtype=rows.dtype)).pow(2).mean()


def weighted_prompt(query: torch.Tensor, prompts: torch.Tensor, keys: torch.Tensor,
                    attention: torch.Tensor) -> torch.Tensor:
    """``(S, L, width)``: ``sum_m cos(q * A_m, K_m) P_m`` for ``(S, d)`` queries and ``M`` components."""
    attended = query.unsqueeze(1) * attention.unsqueeze(0)  # (S, M, d)
    weights = nn.functional.cosine_similarity(attended, keys.unsqueeze(0), dim=-1, eps=1e-12)  # (S, M)
    return torch.einsum("sm,mlw->slw", weights, prompts)


class CodaPromptModule(PromptModule):
    """Per prompted layer and per task: ``prompts (per_task, L, width)``, ``keys`` and ``attention``
    ``(per_task, query_size)``, as ``components.layer_<i>.<P|K|A>.<task>`` parameters."""

    def __init__(self, tasks: int, per_task: int, layers: list[int], length: int, width: int, query_size: int,
                 seed: int, *, ortho_weight: float = 0.1) -> None:
        super().__init__()
        self.layers, self.length, self.seed, self.ortho_weight = list(layers), length, seed, ortho_weight
        shapes = {"P": (per_task, length, width), "K": (per_task, query_size),
                  "A": (per_task, query_size)}
        self.components = nn.ModuleDict({
            f"layer_{layer}": nn.ModuleDict({
                part: nn.ParameterList([nn.Parameter(torch.zeros(shape)) for _ in range(tasks)])
                for part, shape in shapes.items()
            })
            for layer in self.layers
        })
        self._initialise(0)

    def _in_use(self, layer: int, part: str) -> torch.Tensor:
        """The components of the tasks started so far (at least the first task's), concatenated."""
        chunks = self.components[f"layer_{layer}"][part]
        return torch.cat(list(chunks[: max(1, self.tasks_started)]))

    def _initialise(self, index: int) -> None:
        """Gram-Schmidt task ``index``'s components against every earlier one (seeded: seed, task, layer)."""
        with torch.no_grad():
            for position, layer in enumerate(self.layers):
                rng = generator(self.seed, _STREAM, index, position)
                for part in _PARTS:
                    chunks = self.components[f"layer_{layer}"][part]
                    current = chunks[index]
                    if index:
                        earlier = torch.cat([c.flatten(1) for c in chunks[:index]])
                    else:
                        earlier = current.new_zeros(0, current[0].numel())
                    current.copy_(gram_schmidt(earlier, current.shape[0], rng).view_as(current))

    def start_task(self, index: int) -> None:
        """Task ``index``'s components: re-initialised orthogonal to the earlier ones; only they train."""
        super().start_task(index)
        if index > 0:
            self._initialise(index)
        for layer in self.layers:
            for part in _PARTS:
                for t, chunk in enumerate(self.components[f"layer_{layer}"][part]):
                    chunk.requires_grad_(t == index)

    def forward(self, query: torch.Tensor) -> prompting.Prompts:
        prefixes, penalty = {}, query.new_zeros(())
        half = self.length // 2
        for layer in self.layers:
            prompts, keys, attention = (self._in_use(layer, part) for part in _PARTS)
            p = weighted_prompt(query, prompts, keys, attention)
            prefixes[layer] = (p[:, :half], p[:, half:])
            if self.training and self.ortho_weight > 0:
                penalty = (penalty + ortho_penalty(keys) + ortho_penalty(attention)
                           + ortho_penalty(prompts.flatten(1)))
        if self.training and self.ortho_weight > 0:
            self.aux_loss = self.ortho_weight * penalty
        return prompting.Prompts(prefixes=prefixes)


class CodaPrompt(PromptMethod):
    """CODA-Prompt; see the module docstring and the manifest's description."""

    capability = prompting.PREFIX_TUNING
    defaults = {key: spec["default"] for key, spec in CODA_MANIFEST["options"]["properties"].items()}

    def build(self, ctx: TrainingContext, encoder: Any) -> CodaPromptModule:
        o, available = self.options, int(encoder.prompt_layers)
        layers = layers_option(o["layers"], list(range(min(5, available))), available, "coda-prompt",
                               "layers")
        length, width = int(o["prompt_length"]), int(encoder.prompt_width)
        query_size = int(encoder.hidden_size)
        pool = int(o["pool_size"]) if o["pool_size"] is not None else min(100, query_size, length * width)
        tasks, room = len(ctx.task_order), min(query_size, length * width)
        if not tasks <= pool <= room:
            raise ValueError(
                f"coda-prompt: pool_size={pool}, but the components must split over the run's {tasks} tasks "
                f"and at most {room} of them can be orthogonal on this encoder (query width {query_size}, "
                f"prompt_length x width {length * width}); give pool_size between {tasks} and {room}, or "
                "null."
            )
        return CodaPromptModule(tasks, pool // tasks, layers, length, width, query_size, ctx.seed,
                                ortho_weight=float(o["ortho_weight"]))
