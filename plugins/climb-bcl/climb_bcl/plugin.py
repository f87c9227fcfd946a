"""Hook module of climb-bcl: the manifest of the ``bcl`` algorithm (no torch import here)."""

from __future__ import annotations

from typing import Any

from climb_harness.api import API_VERSION, Component, algorithm, hookimpl

PAPER = (
    "Quang Pham, Doyen Sahoo, Chenghao Liu, Steven C. H. Hoi. Bilevel Continual Learning. "
    "arXiv:2007.15553, 2020. Code: https://github.com/phquang/bilevel-continual-learning"
)

OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "n_memories": {
            "type": "integer",
            "minimum": 1,
            "default": 65,
            "description": "Training-example indices kept per past task (replay memory + evaluation set); BCL README: 65. "
            "Ignored when memory_size is set.",
        },
        "memory_size": {
            "type": ["integer", "null"],
            "minimum": 1,
            "default": None,
            "description": "Total training examples stored over the whole task sequence (the same meaning in every replay "
            "method of climb-replay, climb-clgym and climb-bcl). Split evenly over the T tasks of the run: task i keeps "
            "M // T examples (replay memory + evaluation set), one more for the first M % T tasks; the last task's share "
            "is never stored (nothing is trained after it). null = n_memories per task.",
        },
        "n_val": {
            "type": "number",
            "minimum": 0,
            "exclusiveMaximum": 1,
            "default": 0.2,
            "description": "Share of each task's memory held out as the evaluation set, disjoint from the replay "
            "memory (BCL-Dual); BCL README: 0.2. 0 gives plain BCL (Reptile-style outer step, no evaluation set).",
        },
        "memory_strength": {
            "type": "number",
            "minimum": 0,
            "default": 100.0,
            "description": "Weight of the knowledge-distillation term on replay examples; the KL is averaged over "
            "every logit (as torch's KLDivLoss() in the released code), so the per-example weight is "
            "memory_strength / number of labels. BCL README: 100.",
        },
        "temperature": {
            "type": "number",
            "exclusiveMinimum": 0,
            "default": 5.0,
            "description": "Softmax (or sigmoid) temperature of the distillation term; BCL README: 5.",
        },
        "teacher": {
            "enum": ["stored", "slow"],
            "default": "stored",
            "description": "Distillation targets: 'stored' = logits recorded on the replay examples when their task "
            "ended (the released code); 'slow' = the slow weights before the inner loop.",
        },
        "lr": {
            "type": "number",
            "exclusiveMinimum": 0,
            "default": 0.03,
            "description": "Inner SGD learning rate. BCL README example 0.1 and its scripts 0.03-0.3 (MLPs, ResNet-18); "
            "0.03 is the low end, which learned best on the default ViLT-BERT benchmark (see the README).",
        },
        "beta": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 1,
            "default": 0.3,
            "description": "Outer learning rate: the slow weights move this share of the way to the adapted weights; "
            "BCL README: 0.3.",
        },
        "inner_steps": {
            "type": "integer",
            "minimum": 1,
            "default": 2,
            "description": "SGD updates of the fast weights per meta update; BCL README: 2.",
        },
        "n_meta": {
            "type": "integer",
            "minimum": 1,
            "default": 2,
            "description": "Meta (outer) updates per training batch; BCL README: 2.",
        },
        "replay_batch_size": {
            "type": "integer",
            "minimum": 1,
            "default": 64,
            "description": "Replay examples per inner step (a new batch at every inner step, as the released code) and "
            "evaluation-set examples per outer step; BCL README: 64.",
        },
    },
}

DEFAULT_OPTIONS: dict[str, Any] = {key: spec["default"] for key, spec in OPTIONS_SCHEMA["properties"].items()}

MANIFEST: dict[str, Any] = {
    "name": "bcl",
    "api_version": API_VERSION,
    "summary": "Bilevel Continual Learning (BCL-Dual): first-order bilevel updates with a replay memory and a held-out evaluation set.",
    "family": "replay",
    "paper": PAPER,
    "description": (
        "After each task, n_memories training-example indices of it are kept (with memory_size M over T tasks: M // "
        "T, one more for the first M % T); a share n_val of them is the "
        "evaluation set, the rest the replay memory, whose logits are recorded for distillation. Each training batch "
        "makes n_meta meta updates: the fast weights start at the slow weights and take inner_steps SGD steps (lr) on "
        "the batch plus a replay batch drawn anew at every inner step, as in the released code (cross-entropy plus "
        "memory_strength x distillation at temperature T); one more "
        "SGD step on an evaluation-set batch gives the first-order meta-gradient of the outer objective; the slow "
        "weights then move a share beta of the way to the result (Reptile-style). The harness's optimizer, learning "
        "rate schedule and clipping are not used: BCL brings its own SGD, as the released code does. No test-time "
        "adaptation (the README's adapt/adapt_lr)."
    ),
    "options": OPTIONS_SCHEMA,
}


@hookimpl
def climb_algorithms() -> list[Component]:
    return [algorithm(MANIFEST, "climb_bcl.bcl:BCL")]
