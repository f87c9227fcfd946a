"""Hook module of the shipped loggers (cheap to import: neither tensorboard nor wandb is imported here)."""

from __future__ import annotations

from typing import Any

from climb_harness.api import API_VERSION, Component, hookimpl, logger


def _options(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": properties}


TENSORBOARD: dict[str, Any] = {
    "name": "tensorboard",
    "api_version": API_VERSION,
    "summary": "TensorBoard event files in each run folder: losses, selection scores, scores per task, and the accuracy matrix as an image.",
    "description": (
        "Writes <run folder>/tensorboard/ with torch.utils.tensorboard: per epoch train/loss, train/selection_score and "
        "train/examples_per_second (step = epochs so far in the run), per task score/<task> (step = tasks learned), "
        "the accuracy matrix as a grey-scale image (row = after task i, 0 black to 100 white) and as a text table, and "
        "the run's scalar metrics. View with: tensorboard --logdir RUN_OUTPUT."
    ),
    "requires_packages": ["tensorboard"],
    "install": "pip install climb-harness[tensorboard]",
    "options": _options({
        "subfolder": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9_][A-Za-z0-9_.-]*$",
                      "default": "tensorboard", "description": "Folder under the run folder for the event files."},
    }),
}

WANDB: dict[str, Any] = {
    "name": "wandb",
    "api_version": API_VERSION,
    "summary": "A Weights & Biases run per climb run, in offline mode (nothing is sent; wandb sync uploads it later).",
    "description": (
        "wandb.init(mode='offline') with the run's config, in <run folder>/wandb/: per epoch the losses and selection "
        "scores, per task the accuracy-matrix row, at the end the scalar metrics and the accuracy matrix as a table. "
        "Upload later with: wandb sync <run folder>/wandb/offline-run-*."
    ),
    "requires_packages": ["wandb"],
    "install": "pip install climb-harness[wandb]",
    "options": _options({
        "project": {"type": "string", "minLength": 1, "maxLength": 128, "default": "climb-harness",
                    "description": "W&B project name."},
        "group": {"type": ["string", "null"], "default": None, "description": "W&B group (default: the experiment name)."},
    }),
}


@hookimpl
def climb_loggers() -> list[Component]:
    """The ``tensorboard`` and ``wandb`` loggers."""
    return [logger(TENSORBOARD, "climb_harness.loggers.tensorboard:TensorBoardLogger"),
            logger(WANDB, "climb_harness.loggers.wandb:WandbLogger")]
