"""Freeze the embeddings and the bottom k layers (CLiMB ``freeze_bottom_k_layers``, k = 9 of 12)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from climb_harness.api import Algorithm, TrainingContext

from climb_baselines._params import freeze, matches_prefix


def frozen_prefixes(groups: list[str], k: int, encoder_name: str = "encoder") -> list[str]:
    """The first ``k + 1`` layer groups (embedding group + k layers); ``k`` is clamped to what exists.

    Clamping, not an error: a benchmark config that says k=9 should still run on a small encoder
    (it then degrades to "freeze every layer group"); the warning makes that visible.
    """
    if not groups:
        raise ValueError(
            f"frozen-bottom-k: {encoder_name} returns no layer_groups(), so its bottom layers are unknown. The encoder "
            "plugin must list its parameter-name prefixes bottom-up (embeddings first, then each layer)."
        )
    available = len(groups) - 1
    if k > available:
        warnings.warn(
            f"frozen-bottom-k: k={k} but {encoder_name} has only {available} layer group(s) above its embeddings; "
            f"freezing all {len(groups)} layer groups (k={available}).",
            stacklevel=3,
        )
        k = available
    return groups[: k + 1]


class FrozenBottomK(Algorithm):
    """Sets ``requires_grad=False`` on every encoder parameter under the first ``k + 1`` prefixes
    of ``encoder.layer_groups()``; the rest of the encoder and the heads train."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__({"k": 9, **dict(options or {})})
        if int(self.options["k"]) < 0:
            raise ValueError(f"frozen-bottom-k: option k must be >= 0, got {self.options['k']}.")
        self.frozen: list[str] = []

    def setup(self, ctx: TrainingContext) -> None:
        encoder = ctx.model.encoder
        prefixes = frozen_prefixes(list(encoder.layer_groups()), int(self.options["k"]), type(encoder).__name__)
        params = [(name, p) for name, p in encoder.named_parameters() if matches_prefix(name, prefixes)]
        if not params:
            raise ValueError(
                f"frozen-bottom-k: no parameter of {type(encoder).__name__} lies under its layer_groups() prefixes "
                f"{prefixes[:3]}...; the prefixes must be parameter names relative to the encoder."
            )
        freeze(p for _, p in params)
        self.frozen = [name for name, _ in params]
