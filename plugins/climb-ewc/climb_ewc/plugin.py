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
            "default": 1e5,
            "description": "Weight of the penalty ewc_lambda * sum_i F_i (theta_i - theta*_i)^2 (CLiMB's form; no 1/2, so "
            "Kirkpatrick et al.'s lambda is 2 * ewc_lambda). Default 1e5 from benchmarks/ewc_lambda_sweep.py on the default "
            "benchmark (3 seeds): forgetting falls from 60.5 (lambda 0) to 57.8 at CLiMB's 100 and 18.5 at 1e5, with the "
            "last task still learned (81.3 vs 81.7); at 1e6 the last task suffers (74.6). CLiMB's 100 was tuned with its "
            "accumulated-gradient Fisher on ViLT; the scale of a correct Fisher depends on the model, so re-sweep for "
            "another encoder.",
        },
        "fisher_sample_percentage": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 1,
            "default": 0.1,
            "description": "Share of the task's training set the Fisher is estimated on, rounded up to whole batches "
            "(at least one, at most fisher_max_batches). The estimate is a per-example mean, so the sample sets its "
            "noise, not its scale; 0.1 is ~100 examples on the default benchmark's 800-example tasks (CLiMB's 0.01 "
            "would be one batch there).",
        },
        "fisher_max_batches": {
            "type": ["integer", "null"],
            "minimum": 1,
            "default": 64,
            "description": "Upper bound on the Fisher batches (null = no bound): caps the per-example cost on large tasks "
            "(64 batches of CLiMB's 64 = 4096 examples, about CLiMB's own 1% of VQAv2).",
        },
        "fisher_batch_size": {
            "type": ["integer", "null"],
            "minimum": 1,
            "default": None,
            "description": "Batch size of the Fisher sample (null = the task's training batch size, as in CLiMB). Only "
            "groups the examples (collation, vmap chunks); the estimate is per example either way.",
        },
        "fisher_backend": {
            "type": "string",
            "enum": ["auto", "hooks", "vmap", "loop"],
            "default": "auto",
            "description": "How per-example gradients are computed. hooks: one batched forward/backward "
            "per Fisher batch, per-example gradients from layer hooks (closed forms for Linear, LayerNorm, "
            "Embedding and Conv2d, the enclosing module's outputs for any other parameter), checked against "
            "autograd on one example; works on every shipped encoder. vmap: torch.func.vmap(grad) over "
            "chunks (fails on models with data-dependent control flow or random ops, e.g. Hugging Face ViLT "
            "and vl-minilm, and imports torch._dynamo). loop: torch.autograd.grad of each example alone (any "
            "model, slowest). auto: hooks, falling back to loop when the hooks path fails its check.",
        },
        "fisher_vmap_chunk_size": {
            "type": ["integer", "null"],
            "minimum": 1,
            "default": None,
            "description": "fisher_backend vmap only: examples per vmap call (null = as many as keep the "
            "per-example gradients of the trainable encoder within 256 MiB, at most the batch). The hooks "
            "path takes each Fisher batch in one pass.",
        },
        "penalty": {
            "type": "string",
            "enum": ["random-past", "all-past"],
            "default": "random-past",
            "description": "random-past: one past task drawn uniformly at each step (CLiMB); all-past: the "
            "sum over every past task (Kirkpatrick et al.'s multi-task form). Ignored with online: true (one "
            "running Fisher, one anchor).",
        },
        "online": {
            "type": "boolean",
            "default": False,
            "description": "Online EWC (Schwarz et al. 2018): instead of a Fisher and an anchor per past "
            "task, one running Fisher F* <- gamma * F* + F_t after each task t, anchored at the weights "
            "after the latest task; the penalty is ewc_lambda * gamma * sum_i F*_i (theta_i - theta*_i)^2 "
            "(their Eq. 4). false = classic (CLiMB's) EWC.",
        },
        "gamma": {
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "default": 1.0,
            "description": "The decay of the running Fisher under online: true (1 = a plain sum; Mammoth's "
            "best value on Seq-CIFAR-10 and Seq-TinyImageNet). Ignored with online: false.",
        },
    },
}

DEFAULT_OPTIONS: dict[str, Any] = {key: spec["default"] for key, spec in OPTIONS_SCHEMA["properties"].items()}

MANIFEST: dict[str, Any] = {
    "name": "ewc",
    "api_version": API_VERSION,
    "family": "regularization",
    # Every process estimates the whole Fisher on the same examples (identical, no communication) and adds
    # the same penalty, which the harness's loss weighting counts once.
    "data_parallel": True,
    "summary": "Elastic weight consolidation: a diagonal-Fisher quadratic penalty keeps important encoder weights "
    "near their values after each past task (CLiMB's variant, per-example empirical Fisher).",
    "paper": "Kirkpatrick, J. et al. (2017). Overcoming catastrophic forgetting in neural networks. PNAS "
    "114(13), 3521-3526. doi:10.1073/pnas.1611835114. As used in Srinivasan, T. et al. (2022), CLiMB: A "
    "Continual Learning Benchmark for Vision-and-Language Tasks, NeurIPS Datasets and Benchmarks. Online EWC "
    "(option online): Schwarz, J. et al. (2018). Progress & Compress: A scalable framework for continual "
    "learning. ICML, PMLR 80, 4528-4537.",
    "description": (
        "At the end of each task, the diagonal empirical Fisher of the trainable ENCODER parameters is "
        "estimated on a seeded random sample of the task's training set (fisher_sample_percentage, in whole "
        "batches, at least one, at most fisher_max_batches): F_i = (1/N) sum_n (d loss_n / d theta_i)^2, the "
        "mean over the N sampled examples of the squared gradient of each example's own loss (the task head's"
        " loss on a batch of that one example), in eval mode. Per-example gradients come from one batched "
        "forward/backward pass per Fisher batch with layer hooks (fisher_backend: auto), checked against one "
        "autograd pass of one example, else from one autograd pass per example. The encoder parameters at "
        "that moment are the task's anchor theta*. While training a later task the loss is task loss + "
        "ewc_lambda * sum_i F_i (theta_i - theta*_i)^2 (CLiMB's form: no 1/2, so Kirkpatrick et al.'s "
        "(lambda/2) sum F (theta - theta*)^2 has lambda = 2 * ewc_lambda) for one past task drawn uniformly "
        "at each step (CLiMB's random-past), or summed over every past task (penalty: all-past; computed in "
        "one pass over the parameters from running sums of the Fishers and Fisher-weighted anchor offsets, "
        "equal to the sum over tasks). Heads are not penalised (each task has its own). Fishers and anchors "
        "are kept on the training device: 2 x the trainable encoder size per past task. Version 0.1.0 squared"
        " batch-mean gradients (smaller by a factor of at least the batch size) and had a "
        "fisher_normalization option; both are gone. online: true gives Schwarz et al.'s online EWC: after "
        "task t the one running Fisher becomes gamma * F* + F_t (F_t estimated as above) and the one anchor "
        "theta* the weights after task t; the penalty is ewc_lambda * gamma * sum_i F*_i (theta_i - "
        "theta*_i)^2 (Schwarz et al.'s Eq. 4, CLiMB's form without the 1/2; the penalty option is then "
        "ignored). Mammoth's online EWC leaves gamma out of the penalty: the same for the default gamma = 1."
    ),
    "options": OPTIONS_SCHEMA,
}


@hookimpl
def climb_algorithms() -> list[Component]:
    """The ``ewc`` algorithm."""
    return [algorithm(copy.deepcopy(MANIFEST), "climb_ewc.ewc:EWC")]
