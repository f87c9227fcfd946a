"""Hook module of climb-clgym: the manifests of ``stable-sgd``, ``ogd`` and ``mc-sgd`` (no torch here)."""

from __future__ import annotations

from typing import Any

from climb_harness.api import API_VERSION, Component, algorithm, hookimpl

CL_GYM = "Mirzadeh and Ghasemzadeh. CL-Gym: Full-Featured PyTorch Library for Continual Learning. CVPR Workshops 2021."


def _options(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": properties}


def defaults(manifest: dict[str, Any]) -> dict[str, Any]:
    """The ``default`` of every option of a manifest."""
    return {key: spec["default"] for key, spec in manifest["options"]["properties"].items()}


STABLE_SGD: dict[str, Any] = {
    "name": "stable-sgd",
    "api_version": API_VERSION,
    "summary": "Stable SGD: a training regime (per-task learning-rate decay, dropout) that widens minima and reduces forgetting.",
    "family": "optimization",
    "paper": "Seyed Iman Mirzadeh, Mehrdad Farajtabar, Razvan Pascanu, Hassan Ghasemzadeh. Understanding the Role of "
    f"Training Regimes in Continual Learning. NeurIPS 2020. As in {CL_GYM}",
    "description": (
        "Plain sequential fine-tuning under the regime the paper found stable: the learning rate of task t (counting "
        "from 0) is lr x max(lr_decay^t, min_lr / lr), applied on top of the harness's warm-up/decay schedule at every "
        "optimizer step; dropout (when set) replaces the rate of every dropout module of the encoder. The paper's third "
        "ingredient, a small batch size, is the harness's training.batch_size. The optimizer is the harness's AdamW, "
        "not SGD."
    ),
    "options": _options(
        {
            "lr_decay": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": 1,
                "default": 0.8,
                "description": "Learning-rate factor per task: task t trains at lr x lr_decay^t.",
            },
            "min_lr": {
                "type": "number",
                "minimum": 0,
                "default": 0.0,
                "description": "Floor of a task's base learning rate (CL-Gym's learning_rate_lower_bound); 0 = none.",
            },
            "dropout": {
                "type": ["number", "null"],
                "minimum": 0,
                "exclusiveMaximum": 1,
                "default": None,
                "description": "Dropout rate set on every dropout module of the encoder; null keeps the encoder's own.",
            },
        }
    ),
}

OGD: dict[str, Any] = {
    "name": "ogd",
    "api_version": API_VERSION,
    "summary": "Orthogonal Gradient Descent (OGD-GTL): new tasks' gradients are projected orthogonal to past tasks' output gradients.",
    "family": "optimization",
    "paper": "Mehrdad Farajtabar, Navid Azizan, Alex Mott, Ang Li. Orthogonal Gradient Descent for Continual Learning. "
    f"AISTATS 2020. As in {CL_GYM}",
    "description": (
        "After each task (but the last), memories_per_task random training examples give one direction each: the "
        "gradient of the ground-truth logit (GTL) with respect to the shared (encoder) parameters. Directions are "
        "added to an orthonormal basis by Gram-Schmidt (linearly dependent ones are dropped; at most max_directions "
        "are kept). Every later training gradient of the shared parameters is projected onto the orthogonal "
        "complement of the basis before the optimizer step; with project_update the parameter change made by the "
        "optimizer (AdamW's moments and weight decay included) is projected as well, so that past outputs stay "
        "unchanged to first order as with SGD. Task heads are not projected: each task has its own head."
    ),
    "options": _options(
        {
            "memories_per_task": {
                "type": "integer",
                "minimum": 1,
                "default": 200,
                "description": "Gradient directions stored per task (the OGD paper: 200).",
            },
            "max_directions": {
                "type": ["integer", "null"],
                "minimum": 1,
                "default": None,
                "description": "Cap on the basis size over all tasks; null = memories_per_task x (tasks - 1).",
            },
            "project_update": {
                "type": "boolean",
                "default": True,
                "description": "Also project the optimizer's parameter update (needed for the OGD guarantee with AdamW).",
            },
        }
    ),
}

MC_SGD: dict[str, Any] = {
    "name": "mc-sgd",
    "api_version": API_VERSION,
    "summary": "Mode-Connectivity SGD: after each task, find a solution linearly connected to the previous and the new one.",
    "family": "replay",
    "paper": "Seyed Iman Mirzadeh, Mehrdad Farajtabar, Dilan Gorur, Razvan Pascanu, Hassan Ghasemzadeh. Linear Mode "
    f"Connectivity in Multitask and Continual Learning. ICLR 2021. As in {CL_GYM}",
    "description": (
        "Task t is fine-tuned from the previous solution w_prev to w_hat; then, starting at w_prev + alpha (w_hat - "
        "w_prev), w is moved by mcsgd_steps SGD steps to minimise the mean loss over line_samples + 1 evenly spaced "
        "points of two segments: past tasks' replay memory on w_prev -> w and task t's memory on w_hat -> w (the "
        "exact gradient of that objective, d/dw L(a + s (w - a)) = s grad L). The result is the model carried to "
        "the next task. Memories hold memory_per_task example indices per task."
    ),
    "options": _options(
        {
            "memory_per_task": {
                "type": "integer",
                "minimum": 1,
                "default": 100,
                "description": "Training-example indices kept per task for the line losses.",
            },
            "alpha": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "default": 0.5,
                "description": "Starting point on the segment w_prev -> w_hat (CL-Gym mcsgd_alpha: 0.5).",
            },
            "line_samples": {
                "type": "integer",
                "minimum": 1,
                "default": 5,
                "description": "Segments are evaluated at s = 0, 1/n, ..., 1 (CL-Gym mcsgd_line_samples: 5).",
            },
            "mcsgd_steps": {
                "type": "integer",
                "minimum": 0,
                "default": 20,
                "description": "SGD steps of the line optimisation after each task (CL-Gym: 1).",
            },
            "mcsgd_lr": {
                "type": "number",
                "exclusiveMinimum": 0,
                "default": 0.01,
                "description": "Learning rate of the line optimisation.",
            },
            "mcsgd_momentum": {
                "type": "number",
                "minimum": 0,
                "exclusiveMaximum": 1,
                "default": 0.8,
                "description": "SGD momentum of the line optimisation (CL-Gym's example configs: 0.8).",
            },
            "batch_size": {
                "type": "integer",
                "minimum": 1,
                "default": 32,
                "description": "Memory examples per segment per step (CL-Gym batch_size_memory: 32).",
            },
        }
    ),
}


@hookimpl
def climb_algorithms() -> list[Component]:
    return [
        algorithm(STABLE_SGD, "climb_clgym.stable_sgd:StableSGD"),
        algorithm(OGD, "climb_clgym.ogd:OGD"),
        algorithm(MC_SGD, "climb_clgym.mcsgd:MCSGD"),
    ]
