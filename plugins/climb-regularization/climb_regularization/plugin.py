"""Hook module of climb-regularization: the manifests of lwf, si and mas.

Cheap to import (no torch): ``climb list`` imports it; each method's module is imported only when the
harness builds it.
"""

from __future__ import annotations

import copy
from typing import Any

from climb_harness.api import API_VERSION, Component, algorithm, hookimpl

LWF = ("Li, Z., Hoiem, D. (2017). Learning without Forgetting. IEEE Transactions on Pattern Analysis and "
       "Machine Intelligence 40(12), 2935-2947. doi:10.1109/TPAMI.2017.2773081.")
SI = ("Zenke, F., Poole, B., Ganguli, S. (2017). Continual Learning Through Synaptic Intelligence. ICML, "
      "PMLR 70, 3987-3995.")
MAS = ("Aljundi, R., Babiloni, F., Elhoseiny, M., Rohrbach, M., Tuytelaars, T. (2018). Memory Aware "
       "Synapses: Learning what (not) to forget. ECCV. arXiv:1711.09601.")

_ENCODER_ONLY = (" Only the trainable encoder parameters are weighted: each task has its own head, trained "
"only by its own task, so a penalty on earlier heads would never act (as climb-ewc).")


def _options(properties: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": properties}


MANIFESTS: dict[str, dict[str, Any]] = {
    "lwf": {
        # Each process records the old heads' outputs on the whole training split (the same model, the same
        # examples) and distils on its own shard with a per-example mean, weighted by the harness like the
        # task loss.
        "data_parallel": True,
        "summary": "Learning without Forgetting: distil the earlier tasks' heads, recorded before the task "
        "on its own inputs, with a temperature.",
        "paper": LWF,
        "description": (
            "When a task starts, the model as it is records the outputs of every earlier task's head on "
            "every training example of the new task (eval mode). Training then minimises the task's loss "
            "plus lambda_old times, for each earlier head, the paper's distillation loss -mean_b sum_k "
            "softmax(Y_o/T)_k log softmax(Yhat_o/T)_k, where Yhat_o is that head's output under the current "
            "weights on the same encoder features as the current head (one encoder forward per step). It "
            "differs from KL(p'||q') by a constant (same gradient); no T^2 factor, as in the paper. Sigmoid "
            "heads (soft-score, multi-label) distil each label's two-class distribution: "
            "BCE(sigmoid(Yhat/T); sigmoid(Y/T)), averaged like the head's loss. Earlier heads whose task has "
            "another number of views (one image vs two) cannot read the current features and are left out. "
            "Deviations: no warm-up step (the paper first trains the new head alone); recorded outputs are "
            "held on the CPU (training examples x old heads' widths)."
        ),
        "options": _options({
            "lambda_old": {"type": "number", "minimum": 0, "default": 1.0,
                           "description": "lambda_o, the weight of the distillation terms (the paper's 1)."},
            "temperature": {"type": "number", "exclusiveMinimum": 0, "default": 2.0,
                            "description": "T of the softened distributions (the paper's 2, after Hinton et "
                            "al.)."},
        }),
        "factory": "climb_regularization.lwf:LearningWithoutForgetting",
    },
    "si": {
        # The path integral uses the gradient after the harness's data-parallel sum and the step every process
        # applies alike, so omega, Omega and the penalty stay equal on every process.
        "data_parallel": True,
        "summary": "Synaptic Intelligence: a quadratic penalty weighted by each parameter's path integral of "
        "gradient times applied update over the earlier tasks.",
        "paper": SI,
        "description": (
            "While a task trains, omega_k += -g_k * delta_k at every step, with g the gradient of the "
            "task's own loss (the back-propagated gradient minus the penalty's closed form 2 c Omega (theta "
            "- theta*): no second backward) and delta the update the optimizer actually applied (AdamW, "
            "clipping and weight decay included). When the task ends, Omega_k <- max(0, Omega_k + omega_k / "
            "(Delta_k^2 + xi)), Delta the change over the task, and theta* <- theta (the official code's "
            "relu and sum). Later tasks train on L + si_c * sum_k Omega_k (theta_k - theta*_k)^2. The "
            "runner keeps the best epoch's weights; omega is taken up to that epoch (a CPU copy per epoch, "
            "matched by a digest of the weights), so omega and Delta describe one path."
            + _ENCODER_ONLY + " Deviations: the paper trains with Adam (the harness uses AdamW)."
        ),
        "options": _options({
            "si_c": {"type": "number", "minimum": 0, "default": 0.1,
                     "description": "c, the strength of the surrogate loss (the paper's split CIFAR-10/100 "
                     "value; not tuned on this harness: sweep it with climb tune)."},
            "xi": {"type": "number", "exclusiveMinimum": 0, "default": 1e-3,
                   "description": "xi, the damping of Delta^2 (the paper's split CIFAR-10/100 value)."},
        }),
        "factory": "climb_regularization.si:SynapticIntelligence",
    },
    "mas": {
        # Every process estimates the importance on the same seeded sample of the whole training split
        # (identical) and adds the same penalty, which the harness's loss weighting counts once.
        "data_parallel": True,
        "summary": "Memory Aware Synapses: a quadratic penalty weighted by the mean magnitude of the "
        "gradient of the squared L2 norm of the output, per example (unsupervised).",
        "paper": MAS,
        "description": (
            "When a task ends, Omega_k += (1/N) sum_n |d ||F(x_n)||^2 / d theta_k| over a seeded sample of "
            "N of its training examples, F the task head's logits, in eval mode, one backward pass per "
            "example (the paper's Eq. 4; labels are not used), and theta* <- theta. Later tasks train on L + "
            "mas_lambda * sum_k Omega_k (theta_k - theta*_k)^2 (Eq. 3)." + _ENCODER_ONLY
            + " Deviations: the official code's default takes the magnitude of each BATCH's summed gradient, "
            "a smaller quantity where examples' gradients cancel; here it is per example, as Eq. 4. The "
            "sample is bounded (importance_max_examples) for cost."
        ),
        "options": _options({
            "mas_lambda": {"type": "number", "minimum": 0, "default": 1.0,
                           "description": "lambda, the strength of the penalty (the paper's "
                           "object-recognition value; not tuned on this harness)."},
            "importance_sample_percentage": {
                "type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 1.0,
                "description": "Share of the task's training set the importance is estimated on (the paper: "
                "the training data), at least one example."},
            "importance_max_examples": {
                "type": ["integer", "null"], "minimum": 1, "default": 2048,
                "description": "Upper bound on that sample (null = none): one backward pass per example."},
        }),
        "factory": "climb_regularization.mas:MemoryAwareSynapses",
    },
}


def manifest(name: str) -> dict[str, Any]:
    """The full algorithm manifest of method ``name`` (without the factory)."""
    spec = MANIFESTS[name]
    return {"name": name, "api_version": API_VERSION, "family": "regularization",
            **{k: copy.deepcopy(v) for k, v in spec.items() if k != "factory"}}


@hookimpl
def climb_algorithms() -> list[Component]:
    """lwf, si, mas."""
    return [algorithm(manifest(name), spec["factory"]) for name, spec in MANIFESTS.items()]
