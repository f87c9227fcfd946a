"""Hook module of climb-clgym: the manifests of ``stable-sgd``, ``ogd`` and ``mc-sgd`` (no torch here)."""

from __future__ import annotations

from typing import Any

from climb_harness.api import API_VERSION, Component, algorithm, hookimpl

CL_GYM = "Mirzadeh and Ghasemzadeh. CL-Gym: Full-Featured PyTorch Library for Continual Learning. CVPR Workshops 2021."


def _options(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": properties}


def _memory_size(per_task: str) -> dict[str, Any]:
    """The option every replay method shares (here, in climb-replay and in climb-bcl): one total budget."""
    return {
        "type": ["integer", "null"],
        "minimum": 1,
        "default": None,
        "description": "Total training examples stored over the whole task sequence (the same meaning in every replay "
        "method of climb-replay, climb-clgym and climb-bcl). Split evenly over the T tasks of the run: task i keeps "
        f"M // T examples, one more for the first M % T tasks. null = {per_task}.",
    }


def defaults(manifest: dict[str, Any]) -> dict[str, Any]:
    """The ``default`` of every option of a manifest."""
    return {key: spec["default"] for key, spec in manifest["options"]["properties"].items()}


STABLE_SGD: dict[str, Any] = {
    "name": "stable-sgd",
    "api_version": API_VERSION,
    "summary": "Stable SGD: plain SGD with a large learning rate decayed per task, dropout and small batches, a regime that "
    "widens minima and reduces forgetting.",
    "family": "optimization",
    "paper": "Seyed Iman Mirzadeh, Mehrdad Farajtabar, Razvan Pascanu, Hassan Ghasemzadeh. Understanding the Role of "
    f"Training Regimes in Continual Learning. NeurIPS 2020. As in {CL_GYM}",
    "description": (
        "Sequential fine-tuning under the paper's regime, set through the harness's hooks: its own optimizer, "
        "torch.optim.SGD (momentum, no weight decay) over the harness's parameter groups, at lr_t = max(lr x "
        "lr_decay^t, min(min_lr, lr)) for task t counted from 0 (CL-Gym's rule), constant within the task (no "
        "warm-up or decay); batches of batch_size examples of the current task; dropout written into every dropout "
        "module of the encoder (heads untouched). lr is this method's own option (null = the harness's task lr, "
        "an AdamW rate too small for SGD). Defaults: the authors' scripts' lr_decay 0.8, floor 5e-5 and batch 10, "
        "their code's dropout 0.25, plain SGD (momentum 0; their code uses 0.8), and lr 0.01 rather than their "
        "MLP/ResNet 0.1, which makes a pretrained transformer collapse (measured on all-MiniLM-L6-v2, see the README)."
    ),
    "options": _options(
        {
            "lr": {
                "type": ["number", "null"],
                "exclusiveMinimum": 0,
                "default": 0.01,
                "description": "Initial SGD learning rate (task 0). The paper: 0.1 on MLPs and ResNet-18, at which a "
                "pretrained transformer collapses; 0.01 here (see the README). null = the harness's task learning rate.",
            },
            "lr_decay": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": 1,
                "default": 0.8,
                "description": "Learning-rate factor per task: task t trains at lr x lr_decay^t (the authors' scripts: 0.8 "
                "on permuted MNIST and split CIFAR-100, 0.5 on rotated MNIST).",
            },
            "min_lr": {
                "type": "number",
                "minimum": 0,
                "default": 5e-5,
                "description": "Floor of a task's learning rate (the authors' 0.00005; CL-Gym's learning_rate_lower_bound), "
                "never above lr itself.",
            },
            "momentum": {
                "type": "number",
                "minimum": 0,
                "exclusiveMaximum": 1,
                "default": 0.0,
                "description": "SGD momentum: 0 = plain SGD as the paper describes it; the authors' code uses 0.8.",
            },
            "batch_size": {
                "type": ["integer", "null"],
                "minimum": 1,
                "default": 10,
                "description": "Training batch size (the paper: 10); null = the harness's training.batch_size.",
            },
            "dropout": {
                "type": ["number", "null"],
                "minimum": 0,
                "exclusiveMaximum": 1,
                "default": 0.25,
                "description": "Dropout rate set on every dropout module of the encoder (the authors' code default 0.25; "
                "their scripts 0.5 on MLPs); null keeps the encoder's own.",
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
        "complement of the basis before the optimizer step (with memory_size M over T tasks, task i gives M // T "
        "directions, one more for the first M % T); with project_update the parameter change made by the "
        "optimizer (AdamW's moments and weight decay included) is projected as well, so that past outputs stay "
        "unchanged to first order as with SGD. Task heads are not projected: each task has its own head."
    ),
    "options": _options(
        {
            "memories_per_task": {
                "type": "integer",
                "minimum": 1,
                "default": 200,
                "description": "Gradient directions stored per task (the OGD paper: 200); ignored when memory_size is set.",
            },
            "memory_size": _memory_size(
                "memories_per_task per task. The last task's share is never collected (nothing is trained after it)"
            ),
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
        "the next task. Memories hold memory_per_task example indices per task (with memory_size M over T tasks: "
        "M // T, one more for the first M % T)."
    ),
    "options": _options(
        {
            "memory_per_task": {
                "type": "integer",
                "minimum": 1,
                "default": 100,
                "description": "Training-example indices kept per task for the line losses; ignored when memory_size is set.",
            },
            "memory_size": _memory_size("memory_per_task per task"),
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
