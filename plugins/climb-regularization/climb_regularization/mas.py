"""Memory Aware Synapses (Aljundi, Babiloni, Elhoseiny, Rohrbach & Tuytelaars 2018, "Memory Aware Synapses:
Learning what (not) to forget", ECCV).

When a task ends, the importance of parameter k is the mean over N examples of the magnitude of the gradient
of the squared L2 norm of the learned function's output (the paper's Eq. 4, its default l2 variant)::

    Omega_k += (1/N) sum_n | d ||F(x_n)||_2^2 / d theta_k |

with F(x_n) the logits of the task's head on example n, in eval mode. No label is used (MAS is
unsupervised). Importances add up over tasks, theta* is the weights after the latest task, and later tasks
train on ``L + mas_lambda * sum_k Omega_k (theta_k - theta*_k)^2`` (the paper's Eq. 3).

**Per example.** The absolute value is taken per example, as Eq. 4 says: one backward pass per example
(``torch.autograd.grad``; ``.grad`` is never touched). The official code's default path instead takes
``|d sum_n ||F(x_n)||^2 / d theta|`` per batch, a smaller quantity wherever examples' gradients cancel.

**The sample**: a seeded random ``importance_sample_percentage`` of the task's training set, at most
``importance_max_examples`` (every example by default up to that bound; the paper uses the training data).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from climb_harness.api import TrainingContext, seeded_generator
from climb_regularization._penalty import QuadraticPenalty, trainable_encoder_params

_SAMPLE_STREAM = 0x3A5  # which examples the importance is estimated on


class MemoryAwareSynapses(QuadraticPenalty):
    """MAS over the trainable encoder parameters; see the module docstring."""

    prefix = "mas"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.strength = float(self.options.get("mas_lambda", 1.0))
        self.sample_percentage = float(self.options.get("importance_sample_percentage", 1.0))
        self.max_examples: int | None = self.options.get("importance_max_examples", 2048)

    def sample(self, ctx: TrainingContext, task: str) -> list[int]:
        """The training indices the importance of ``task`` is estimated on (seeded by seed and task index)."""
        n = ctx.num_train_examples(task)
        size = max(1, int(self.sample_percentage * n))
        if self.max_examples is not None:
            size = min(size, int(self.max_examples))
        rng = seeded_generator(ctx.seed, ctx.task_index, _SAMPLE_STREAM)
        return sorted(int(i) for i in rng.permutation(n)[:size])

    def estimate_importance(self, ctx: TrainingContext, task: str) -> dict[str, torch.Tensor]:
        """``(1/N) sum_n |d ||F(x_n)||^2 / d theta|`` over :meth:`sample`, in eval mode (mode, grads kept)."""
        params = trainable_encoder_params(ctx)
        names, tensors = list(params), list(params.values())
        total = {n: torch.zeros_like(p) for n, p in params.items()}
        indices = self.sample(ctx, task)
        was_training = ctx.model.training
        ctx.model.eval()
        try:
            size = ctx.batch_size(task)
            for start in range(0, len(indices), size):
                batch = ctx.batch(task, indices[start : start + size])
                for row in range(len(indices[start : start + size])):
                    one = {key: value[row : row + 1] for key, value in batch.items() if key != "targets"}
                    with torch.enable_grad():
                        output = ctx.model(task, one)
                        grads = torch.autograd.grad(output.pow(2).sum(), tensors, allow_unused=True)
                    for name, grad in zip(names, grads):
                        if grad is not None:
                            total[name] += grad.detach().abs()
        finally:
            ctx.model.train(was_training)
        return {name: value / len(indices) for name, value in total.items()}

    def on_task_end(self, ctx: TrainingContext) -> None:
        self.consolidate(ctx, self.estimate_importance(ctx, ctx.current_task))
