"""DualPrompt (Wang et al., ECCV 2022): a shared G-prompt in lower layers, one E-prompt per task.

Both are prefixes (prefix-tuning): in each of its layers a prompt holds ``L`` keys and ``L`` values
prepended to the layer's projected keys and values. The G-prompt (``g_layers``) is shared by every
task and trains throughout. E-prompt ``t`` (``e_layers``) has a key ``k_t``; task ``t`` trains with
E-prompt ``t`` and adds ``lambda * mean(1 - cos(q, k_t))`` to the loss, every other E-prompt and key
frozen. At evaluation each sequence takes the E-prompt ``argmax_t cos(q, k_t)`` over the tasks learned
so far.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from climb_harness.api import TrainingContext, prompting

from climb_prompts.base import PromptMethod, PromptModule, generator, layers_option, uniform
from climb_prompts.manifests import DUALPROMPT_MANIFEST
from climb_prompts.matching import batchwise_choice, cosine, key_loss, top_n

__all__ = ["DualPrompt", "DualPromptModule", "default_layers"]

_STREAM = 2022_1  # the generator stream of DualPrompt's initialisation


def default_layers(available: int) -> tuple[list[int], list[int]]:
    """``(g_layers, e_layers)`` for an encoder with ``available`` promptable layers.

    The paper's ``[0, 1]`` and ``[2, 3, 4]`` with 5 or more; ``[0]`` and ``[0]`` with one (both prefixes
    in the only layer); else ``[0]`` and layers 1 to ``min(3, available - 1)``.
    """
    if available >= 5:
        return [0, 1], [2, 3, 4]
    if available == 1:
        return [0], [0]
    return [0], list(range(1, min(available, 4)))


class DualPromptModule(PromptModule):
    """The G-prompt ``(len(g_layers), 2, g_length, width)``; per task an E-prompt
    ``(len(e_layers), 2, e_length, width)`` and a key ``(query_size,)``. Of the 2: keys (0), values (1)."""

    def __init__(self, tasks: int, g_layers: list[int], e_layers: list[int], g_length: int, e_length: int,
                 width: int, query_size: int, rng: torch.Generator, *, key_loss_weight: float = 1.0,
                 share_previous: bool = True, train_with_task_id: bool = True,
                 batchwise: bool = False) -> None:
        super().__init__()
        self.g_layers, self.e_layers = list(g_layers), list(e_layers)
        self.g_prompt = uniform(len(g_layers), 2, g_length, width, rng=rng)
        self.e_prompts = nn.ParameterList([uniform(len(e_layers), 2, e_length, width, rng=rng)
                                           for _ in range(tasks)])
        self.e_keys = nn.ParameterList([uniform(query_size, rng=rng) for _ in range(tasks)])
        self.key_loss_weight, self.share_previous = key_loss_weight, share_previous
        self.train_with_task_id, self.batchwise = train_with_task_id, batchwise

    def start_task(self, index: int) -> None:
        """Only task ``index``'s E-prompt and key train; it starts as a copy of the previous E-prompt."""
        super().start_task(index)
        if index > 0 and self.share_previous:
            with torch.no_grad():
                self.e_prompts[index].copy_(self.e_prompts[index - 1])
        for t, (prompt, key) in enumerate(zip(self.e_prompts, self.e_keys)):
            prompt.requires_grad_(t == index)
            key.requires_grad_(t == index)

    def forward(self, query: torch.Tensor) -> prompting.Prompts:
        """Prefixes of each layer: ``[E-prompt ; G-prompt]`` keys and values where a layer holds both."""
        visible = max(1, self.tasks_started)
        keys = torch.stack(list(self.e_keys[:visible]))
        if self.training and self.train_with_task_id:
            chosen = torch.full((query.shape[0], 1), self.task, dtype=torch.long, device=query.device)
        else:
            chosen = top_n(cosine(query, keys), 1)
            if self.batchwise and not self.training:
                chosen = batchwise_choice(chosen, visible)
        self.last_choice = chosen
        if self.training:
            self.aux_loss = self.key_loss_weight * key_loss(query, keys, chosen)
        # (S, e layers, 2, e_length, width): each sequence's chosen E-prompt
        expert = torch.stack(list(self.e_prompts[:visible]))[chosen[:, 0]]
        parts: dict[int, list[torch.Tensor]] = {}
        for j, layer in enumerate(self.e_layers):
            parts.setdefault(layer, []).append(expert[:, j])
        for j, layer in enumerate(self.g_layers):
            parts.setdefault(layer, []).append(self.g_prompt[j].expand(query.shape[0], -1, -1, -1))
        prefixes = {}
        for layer, pieces in parts.items():
            both = torch.cat(pieces, dim=2)  # (S, 2, length, width)
            prefixes[layer] = (both[:, 0], both[:, 1])
        return prompting.Prompts(prefixes=prefixes)


class DualPrompt(PromptMethod):
    """DualPrompt; see the module docstring and the manifest's description."""

    capability = prompting.PREFIX_TUNING
    defaults = {key: spec["default"] for key, spec in DUALPROMPT_MANIFEST["options"]["properties"].items()}

    def build(self, ctx: TrainingContext, encoder: Any) -> DualPromptModule:
        o, available = self.options, int(encoder.prompt_layers)
        g_default, e_default = default_layers(available)
        g_layers = layers_option(o["g_layers"], g_default, available, "dualprompt", "g_layers")
        e_layers = layers_option(o["e_layers"], e_default, available, "dualprompt", "e_layers")
        return DualPromptModule(
            len(ctx.task_order), g_layers, e_layers, int(o["g_prompt_length"]), int(o["e_prompt_length"]),
            int(encoder.prompt_width), int(encoder.hidden_size), generator(ctx.seed, _STREAM),
            key_loss_weight=float(o["key_loss_weight"]), share_previous=bool(o["share_previous_prompt"]),
            train_with_task_id=bool(o["train_with_task_id"]), batchwise=bool(o["batchwise_prompt"]),
        )
