"""The five algorithms' manifests (plain data: importing this module imports no torch)."""

from __future__ import annotations

from typing import Any

from climb_harness.api import API_VERSION

CLIMB = (
    "Srinivasan, Chang, Pinto Alva, Chochlakis, Rostami & Thomason (2022), CLiMB: A Continual Learning "
    "Benchmark for Vision-and-Language Tasks, NeurIPS 2022 Datasets and Benchmarks, arXiv:2206.09059."
)
CL_GYM = (
    "Mirzadeh & Ghasemzadeh (2021), CL-Gym: Full-Featured PyTorch Library for Continual Learning, "
    "CVPR 2021 Workshops (CLVision)."
)


def _no_options() -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": {}}


def _manifest(name: str, family: str, paper: str, summary: str, description: str,
              options: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "api_version": API_VERSION,
        "summary": summary,
        "description": description,
        "family": family,
        "paper": paper,
        "options": options or _no_options(),
        # Every baseline only freezes, resets or joins tasks' batches the same way in every process.
        "data_parallel": True,
    }


MANIFESTS: dict[str, dict[str, Any]] = {
    "sequential-ft": _manifest(
        "sequential-ft", "baseline", CLIMB,
        "Sequential fine-tuning: the whole model learns the tasks one after another (CLiMB sequential_ft).",
        "The lower bound of continual learning: encoder and the current task's head are fine-tuned on "
        "each task in turn with nothing done against forgetting. Earlier tasks' heads are kept but the "
        "shared encoder drifts towards the latest task.",
    ),
    "direct-ft": _manifest(
        "direct-ft", "baseline", CLIMB,
        "Direct (single-task) fine-tuning: each task learned alone from the pretrained encoder (CLiMB singletask_ft).",
        "At the start of every task the encoder is reset to its pretrained (initial) weights, so each task "
        "is fine-tuned alone; heads are per task anyway. Its diagonal scores are S_direct, the reference "
        "for upstream knowledge transfer. Scores of earlier tasks after later ones are not meaningful for "
        "forgetting (the encoder was reset, not continued).",
    ),
    "frozen-encoder": _manifest(
        "frozen-encoder", "baseline", CLIMB,
        "Frozen encoder: every encoder parameter (pooler included) is frozen, only the task heads train (CLiMB freeze_encoder).",
        "Sets requires_grad=False on all encoder parameters once at set-up; only the heads are optimised. "
        "There is no forgetting by construction (each task keeps its own head over a fixed encoder) and no "
        "adaptation of the representation.",
    ),
    "frozen-bottom-k": _manifest(
        "frozen-bottom-k", "baseline", CLIMB,
        "Freeze the embeddings and the bottom k encoder layers, fine-tune the rest (CLiMB freeze_bottom_k_layers).",
        "Uses the encoder's layer_groups() (bottom-up parameter-name prefixes: the embedding group first, then "
        "one per layer) and freezes the first k+1 groups, i.e. the embeddings plus layers 0..k-1; the upper "
        "layers, anything outside the groups (final LayerNorm, pooler) and the heads train. CLiMB froze 9 of "
        "ViLT's 12 layers. If k exceeds the encoder's layers, every layer group is frozen and a warning says so.",
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "k": {
                    "type": "integer",
                    "minimum": 0,
                    "default": 9,
                    "description": "Layers frozen above the embeddings (CLiMB: 9 of ViLT's 12). Clamped, with a "
                    "warning, to the encoder's number of layer groups above the first.",
                },
            },
        },
    ),
    "multitask": _manifest(
        "multitask", "upper-bound", CL_GYM,
        "Multitask upper bound: at task i, train jointly on the union of tasks 0..i (cumulative joint training, as in CL-Gym).",
        "Not a continual method but the reference it is measured against: at every task the model trains on "
        "shuffled batches drawn from all tasks seen so far (each batch from one task, since heads differ), "
        "so nothing is forgotten except through interference. The epoch kept at the end of each task is the one "
        "with the best mean selection-split score over all tasks seen so far, the tasks it trained on (not the "
        "current task alone). Future tasks are never used.",
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "mode": {
                    "type": "string",
                    "enum": ["cumulative"],
                    "default": "cumulative",
                    "description": "cumulative: at task i, train on the training sets of tasks 0..i (CL-Gym's "
                    "multitask). The only mode so far; kept as an option so others can be added.",
                },
            },
        },
    ),
}
