"""Manifests of the testing components, kept free of torch so that listing them stays fast."""

from __future__ import annotations

from typing import Any

from climb_harness.api import API_VERSION

#: TinyEncoder's manifest (every modality, options ``hidden_size`` and ``num_layers``).
TINY_ENCODER_MANIFEST: dict[str, Any] = {
    "name": "tiny", "kind": "encoder", "api_version": API_VERSION, "summary": "A tiny encoder for tests.",
    "modalities": ["vision-language", "language", "vision"],
    "options": {"type": "object", "additionalProperties": False, "properties": {
        "hidden_size": {"type": "integer", "default": 32},
        "num_layers": {"type": "integer", "default": 2}}},
}


def synthetic_manifest(name: str, question: str = "colour", size: int = 64) -> dict[str, Any]:
    """The manifest of a SyntheticTask.

    Args:
        name: The task's name.
        question: ``"colour"`` (4 labels), ``"yesno"`` (2), or ``"shade"`` (the colour from the image
            alone: a vision-only task with 4 labels).
        size: The default of its ``size`` option.

    Returns:
        A task manifest (no ``kind``: :func:`climb_harness.api.task` adds it).

    >>> synthetic_manifest("t", "yesno")["head"]
    {'type': 'classification', 'num_labels': 2}
    """
    labels = 2 if question == "yesno" else 4
    return {"name": name, "kind": "task", "api_version": API_VERSION,
            "summary": f"Synthetic {question} questions.",
            "modality": "vision" if question == "shade" else "vision-language", "images_per_example": 1,
            "head": {"type": "classification", "num_labels": labels},
            "metric": "accuracy", "random_baseline": 100.0 / labels,
            "defaults": {"epochs": 2, "lr": 3e-3, "batch_size": 16},
            "options": {"type": "object", "additionalProperties": False, "properties": {
                "question": {"type": "string", "enum": ["colour", "yesno", "shade"], "default": question},
                "size": {"type": "integer", "minimum": 1, "default": size},
                "seed": {"type": "integer", "default": 0}}}}
