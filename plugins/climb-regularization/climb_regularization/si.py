"""Synaptic Intelligence (Zenke, Poole & Ganguli 2017, "Continual Learning Through Synaptic Intelligence",
ICML).

While task mu trains, every parameter k accumulates the path integral of the gradient of the task's own
(unregularised) loss along the updates the optimizer actually applied::

    omega_k += -g_k(t) * delta_k(t)      (g = d L_mu / d theta_k before the step,
                                          delta = theta_after - theta_before)

(the official code's ``grads2 -= unreg_grads * deltas``). When the task ends, with Delta_k the total change
of theta_k over the task and xi the damping::

    Omega_k <- max(0, Omega_k + omega_k / (Delta_k^2 + xi))      theta*_k <- theta_k

(the official code's ``relu(sum(omega, grads2 / ((cweights - w)^2 + xi)))``), and later tasks train on
``L + c * sum_k Omega_k (theta_k - theta*_k)^2``.

**The unregularised gradient.** The runner back-propagates the whole loss, penalty included. SI needs the
gradient of the task's loss alone, which is ``.grad`` minus the penalty's closed-form gradient
``2 c Omega (theta - theta*)``: no second backward pass. ``before_optimizer_step`` sees the gradient after
the data-parallel sum and fp16 unscaling, before clipping; the applied step ``delta`` includes whatever the
optimizer does (AdamW's moments, scaling, weight decay, clipping), so the integral follows the real path.

**The best epoch.** The runner restores the weights of the best epoch before ``on_task_end``. The integral
used is the one accumulated up to the end of that epoch (a copy is taken at each epoch end, on the CPU, with
a digest of the weights; the copy whose digest matches the restored weights is used), so omega and Delta
describe the same path. The copies cost one trainable-encoder-sized CPU tensor set per epoch of the task.

Parameters: the trainable encoder parameters (heads are per task; see :mod:`climb_regularization._penalty`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import torch

from climb_harness.api import TrainingContext
from climb_regularization._penalty import QuadraticPenalty, trainable_encoder_params


def weights_digest(params: Mapping[str, torch.Tensor]) -> str:
    """A digest of the exact bytes of ``params`` (any dtype, any device)."""
    digest = hashlib.blake2b(digest_size=16)
    for name, p in params.items():
        digest.update(name.encode())
        digest.update(p.detach().contiguous().view(-1).view(torch.uint8).cpu().numpy().tobytes())
    return digest.hexdigest()


class SynapticIntelligence(QuadraticPenalty):
    """SI over the trainable encoder parameters; see the module docstring."""

    prefix = "si"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.strength = float(self.options.get("si_c", 0.1))
        self.xi = float(self.options.get("xi", 1e-3))
        self.path: dict[str, torch.Tensor] = {}  # omega of the current task
        self.start: dict[str, torch.Tensor] = {}  # theta when the current task started
        self.last_path_source: str | None = None  # which integral the latest on_task_end used
        self._epochs: list[tuple[str, dict[str, torch.Tensor]]] = []  # (weights digest, omega copy) per epoch
        self._step: tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]] | None = None

    def on_task_start(self, ctx: TrainingContext) -> None:
        params = trainable_encoder_params(ctx)
        self.start = {n: p.detach().clone() for n, p in params.items()}
        self.path = {n: torch.zeros_like(p, memory_format=torch.preserve_format) for n, p in params.items()}
        self._epochs, self._step = [], None

    def before_optimizer_step(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> None:
        grads, before = {}, {}
        for name, p in trainable_encoder_params(ctx).items():
            if p.grad is None or name not in self.path:
                continue
            grad = p.grad.detach()
            penalty = self.penalty_gradient(name, p)
            grads[name] = grad - penalty if penalty is not None else grad.clone()
            before[name] = p.detach().clone()
        self._step = (grads, before)

    def after_optimizer_step(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> None:
        step, self._step = self._step, None
        if step is None:
            return
        grads, before = step
        params = trainable_encoder_params(ctx)
        with torch.no_grad():
            for name, grad in grads.items():
                self.path[name] -= grad * (params[name].detach() - before[name])

    def on_epoch_end(self, ctx: TrainingContext, epoch: int) -> None:
        params = trainable_encoder_params(ctx)
        copy = {n: w.detach().to("cpu", copy=True) for n, w in self.path.items()}
        self._epochs.append((weights_digest(params), copy))

    def path_at_restored_weights(self, ctx: TrainingContext) -> dict[str, torch.Tensor]:
        """omega up to the epoch whose weights the runner kept (all steps when no epoch's digest matches)."""
        digest = weights_digest(trainable_encoder_params(ctx))
        for epoch, (seen, path) in enumerate(self._epochs):
            if seen == digest:
                self.last_path_source = f"epoch {epoch}"
                return {n: w.to(self.path[n].device) for n, w in path.items()}
        self.last_path_source = "all steps"
        return self.path

    def on_task_end(self, ctx: TrainingContext) -> None:
        params = trainable_encoder_params(ctx)
        path = self.path_at_restored_weights(ctx)
        new = {n: path[n] / ((params[n].detach() - self.start[n]).pow(2) + self.xi)
               for n in path if n in params}
        self.consolidate(ctx, new, floor_at_zero=True)
        self._epochs, self._step = [], None
