"""L2P (Wang et al., CVPR 2022): a prompt pool with learnable keys, top-N by cosine, prompt tokens.

For a sequence with frozen query ``q``, the pool's keys ``k_1..k_M`` are ranked by ``cos(q, k_m)``;
the prompts ``P_{s_1}..P_{s_N}`` of the ``N`` best are concatenated (``N * L_p`` tokens) and inserted
after [CLS] at the input of the encoder's first promptable layer. The training loss is the head's
loss plus ``lambda * sum_i (1 - cos(q, k_{s_i}))`` averaged over the batch (see
:mod:`climb_prompts.matching`). The whole pool is shared by every task and trains throughout.
"""

from __future__ import annotations

from typing import Any

import torch

from climb_harness.api import TrainingContext, prompting

from climb_prompts.base import PromptMethod, PromptModule, generator, uniform
from climb_prompts.manifests import L2P_MANIFEST
from climb_prompts.matching import batchwise_choice, cosine, key_loss, top_n

__all__ = ["L2P", "L2PPool"]

_STREAM = 2022_0  # the generator stream of L2P's initialisation


class L2PPool(PromptModule):
    """``pool_size`` prompts ``(prompt_length, width)`` and their keys ``(query_size,)``."""

    def __init__(self, pool_size: int, prompt_length: int, top_n: int, width: int, query_size: int,
                 rng: torch.Generator, *, key_loss_weight: float = 0.1, batchwise: bool = False) -> None:
        super().__init__()
        if top_n > pool_size:
            raise ValueError(f"l2p: top_n={top_n} exceeds pool_size={pool_size}; choose top_n <= pool_size.")
        self.prompts = uniform(pool_size, prompt_length, width, rng=rng)
        self.keys = uniform(pool_size, query_size, rng=rng)
        self.top_n, self.key_loss_weight, self.batchwise = top_n, key_loss_weight, batchwise

    def forward(self, query: torch.Tensor) -> prompting.Prompts:
        """The ``(S, top_n * prompt_length, width)`` tokens of each sequence's best-matching prompts."""
        chosen = top_n(cosine(query, self.keys), self.top_n)
        if self.batchwise and not self.training:
            chosen = batchwise_choice(chosen, self.keys.shape[0])
        self.last_choice = chosen
        if self.training:
            self.aux_loss = self.key_loss_weight * key_loss(query, self.keys, chosen)
        return prompting.Prompts(tokens=self.prompts[chosen].flatten(1, 2))


class L2P(PromptMethod):
    """Learning to Prompt; see the module docstring and the manifest's description."""

    capability = prompting.PROMPT_TUNING
    defaults = {key: spec["default"] for key, spec in L2P_MANIFEST["options"]["properties"].items()}

    def build(self, ctx: TrainingContext, encoder: Any) -> L2PPool:
        o = self.options
        return L2PPool(int(o["pool_size"]), int(o["prompt_length"]), int(o["top_n"]),
                       int(encoder.prompt_width), int(encoder.hidden_size), generator(ctx.seed, _STREAM),
                       key_loss_weight=float(o["key_loss_weight"]), batchwise=bool(o["batchwise_prompt"]))
