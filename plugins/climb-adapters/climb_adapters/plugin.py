"""Hook module of climb-adapters (entry point ``adapters`` in the ``climb.plugins`` group).

Plain data and a ``"module:Class"`` factory: listing the algorithm imports neither torch nor the
adapters library.
"""

from __future__ import annotations

from typing import Any

from climb_harness.api import API_VERSION, Component, algorithm, hookimpl

PAPERS = (
    "Srinivasan, Chang, Pinto Alva, Chochlakis, Rostami & Thomason (2022), CLiMB: A Continual Learning "
    "Benchmark for Vision-and-Language Tasks, NeurIPS 2022 Datasets and Benchmarks, arXiv:2206.09059 "
    "(adapter baseline). Adapters: Houlsby et al. (2019), Parameter-Efficient Transfer Learning for NLP, "
    "ICML; Pfeiffer et al. (2021), AdapterFusion, EACL; LoRA: Hu et al. (2022), ICLR. Library: Poth et "
    "al. (2023), Adapters: A Unified Library for Parameter-Efficient and Modular Transfer Learning, EMNLP Demos."
)

OPTIONS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "config": {
            "type": "string",
            "enum": ["houlsby", "pfeiffer", "lora"],
            "default": "houlsby",
            "description": "houlsby: bottleneck adapters after attention and after the feed-forward block "
            "(adapters' double_seq_bn; CLiMB's default); pfeiffer: after the feed-forward block only "
            "(seq_bn); lora: low-rank updates of the attention query and value projections.",
        },
        "reduction_factor": {
            "type": "integer",
            "minimum": 1,
            "default": 16,
            "description": "Bottleneck adapters' hidden size / adapter size (CLiMB: 16); houlsby and pfeiffer only.",
        },
        "lora_r": {"type": "integer", "minimum": 1, "default": 8, "description": "LoRA rank (lora only)."},
        "lora_alpha": {"type": "number", "exclusiveMinimum": 0, "default": 16,
                       "description": "LoRA scaling numerator, update scaled by alpha / r (lora only)."},
    },
}

DEFAULT_OPTIONS: dict[str, Any] = {key: spec["default"] for key, spec in OPTIONS["properties"].items()}

MANIFEST: dict[str, Any] = {
    "name": "adapters",
    "api_version": API_VERSION,
    "summary": "One adapter per task on a frozen encoder (Houlsby, Pfeiffer or LoRA, via the adapters library); CLiMB's adapter baseline.",
    "description": (
        "At each task start a new adapter is added to the encoder's Hugging Face transformer and made the "
        "only trainable part of it (adapters' train_adapter); the base encoder stays frozen, the task's "
        "head trains. To evaluate a task its own adapter is activated; a task not learned yet is evaluated "
        "with no adapter (the plain encoder). Tasks share no trainable weights, so earlier tasks are not "
        "forgotten, at the cost of one adapter per task and no transfer between tasks. Needs an encoder "
        "that exposes `transformer` (and `adapter_interface` for architectures adapters does not support "
        "natively, e.g. ViLT)."
    ),
    "family": "parameter-isolation",
    "paper": PAPERS,
    "requires": ["hf-transformer"],  # an encoder whose `transformer` adapters can attach to
    "options": OPTIONS,
}


@hookimpl
def climb_algorithms() -> list[Component]:
    return [algorithm(MANIFEST, "climb_adapters.algorithm:TaskAdapters")]
