"""Hook module of climb-ewc: the manifest of the ``ewc`` algorithm.

Cheap to import (no torch): ``climb list`` imports it; :mod:`climb_ewc.ewc` is imported only when
the harness builds the algorithm.
"""

from __future__ import annotations

import copy
from typing import Any

from climb_harness.api import API_VERSION, Component, algorithm, hookimpl

OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "ewc_lambda": {
            "type": "number",
            "minimum": 0,
            "default": 100.0,
            "description": "Weight of the penalty lambda * sum F (theta - theta*)^2 (CLiMB's --ewc_loss_weight, 100).",
        },
        "fisher_sample_percentage": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 1,
            "default": 0.01,
            "description": "Share of the task's training set the Fisher is estimated on (CLiMB's "
            "--ewc_fisher_sample_percentage, 0.01); always at least one batch.",
        },
        "fisher_max_batches": {
            "type": ["integer", "null"],
            "minimum": 1,
            "default": None,
            "description": "Upper bound on the Fisher batches (null = no bound); caps the cost on large tasks.",
        },
        "fisher_batch_size": {
            "type": ["integer", "null"],
            "minimum": 1,
            "default": None,
            "description": "Batch size of the Fisher estimate (null = the task's training batch size, as in CLiMB).",
        },
        "fisher_normalization": {
            "type": "string",
            "enum": ["samples", "batches"],
            "default": "samples",
            "description": "Divide the summed squared batch gradients by the number of examples (CLiMB) or of batches.",
        },
        "penalty": {
            "type": "string",
            "enum": ["random-past", "all-past"],
            "default": "random-past",
            "description": "random-past: one past task drawn uniformly at each step (CLiMB); "
            "all-past: the sum over every past task (classic multi-task EWC).",
        },
    },
}

DEFAULT_OPTIONS: dict[str, Any] = {key: spec["default"] for key, spec in OPTIONS_SCHEMA["properties"].items()}

MANIFEST: dict[str, Any] = {
    "name": "ewc",
    "api_version": API_VERSION,
    "family": "regularization",
    "summary": "Elastic weight consolidation: a diagonal-Fisher quadratic penalty keeps important encoder weights "
    "near their values after each past task (CLiMB's variant).",
    "paper": "Kirkpatrick, J. et al. (2017). Overcoming catastrophic forgetting in neural networks. "
    "PNAS 114(13), 3521-3526. doi:10.1073/pnas.1611835114. As used in Srinivasan, T. et al. (2022), "
    "CLiMB: A Continual Learning Benchmark for Vision-and-Language Tasks, NeurIPS Datasets and Benchmarks.",
    "description": (
        "At the end of each task, the diagonal empirical Fisher of the trainable ENCODER parameters is estimated "
        "on a random fisher_sample_percentage of the task's training set (at least one batch): the squared "
        "gradient of each batch's loss, each batch's gradient computed afresh (the original CLiMB code let "
        "gradients accumulate across Fisher batches; this one does not), summed and divided by the number of "
        "examples (or batches). The encoder parameters at that moment are the task's anchor. While training a "
        "later task the loss is task loss + ewc_lambda * sum F (theta - theta*)^2 for one past task drawn "
        "uniformly at each step (CLiMB), or summed over every past task (penalty: all-past). Heads are not "
        "penalised (each task has its own). Fishers and anchors are kept on the training device: 2 x the "
        "trainable encoder size per past task."
    ),
    "options": OPTIONS_SCHEMA,
}


@hookimpl
def climb_algorithms() -> list[Component]:
    """The ``ewc`` algorithm."""
    return [algorithm(copy.deepcopy(MANIFEST), "climb_ewc.ewc:EWC")]
