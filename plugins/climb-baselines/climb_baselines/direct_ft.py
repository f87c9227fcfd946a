"""Direct (single-task) fine-tuning (CLiMB ``singletask_ft``): the reference for knowledge transfer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from climb_harness.api import Algorithm, TrainingContext

ENCODER_PREFIX = "encoder."


def encoder_state(model_state: Mapping[str, Any]) -> dict[str, Any]:
    """The encoder's entries of a ContinualModel state dict, with the ``encoder.`` prefix removed."""
    return {key[len(ENCODER_PREFIX):]: value for key, value in model_state.items() if key.startswith(ENCODER_PREFIX)}


class DirectFineTuning(Algorithm):
    """Reset the encoder to ``ctx.initial_state`` (the weights before any training) at every task
    start, so each task is learned alone from the pretrained encoder.

    Heads need no reset: each task has its own, untouched before its task (the optimizer only
    updates parameters that received a gradient). The optimizer is rebuilt after
    :meth:`on_task_start`, so no Adam moment leaks from the previous task either.
    """

    def on_task_start(self, ctx: TrainingContext) -> None:
        state = encoder_state(ctx.initial_state)
        if not state:
            raise RuntimeError(
                "direct-ft: ctx.initial_state holds no 'encoder.*' entries, so the encoder cannot be reset to its "
                "pretrained weights; the runner must snapshot the whole ContinualModel state before training."
            )
        try:
            ctx.model.encoder.load_state_dict(state, strict=True)
        except RuntimeError as err:
            raise RuntimeError(
                f"direct-ft: the encoder no longer matches its initial state ({err}). Something changed the encoder's "
                "structure after the runner took ctx.initial_state; direct-ft cannot be combined with that."
            ) from err
