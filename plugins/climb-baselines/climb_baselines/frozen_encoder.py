"""Frozen encoder (CLiMB ``freeze_encoder``): only the task heads learn."""

from __future__ import annotations

from climb_harness.api import Algorithm, TrainingContext

from climb_baselines._params import freeze


class FrozenEncoder(Algorithm):
    """Every encoder parameter (pooler included) gets ``requires_grad=False`` in :meth:`setup`;
    the runner builds each task's optimizer over the heads alone. Nothing is carried across tasks
    but the frozen flags, which :meth:`setup` sets again on resume."""

    def setup(self, ctx: TrainingContext) -> None:
        if freeze(ctx.model.encoder.parameters()) == 0:
            raise ValueError("frozen-encoder: the encoder has no parameters to freeze; check the encoder plugin.")
