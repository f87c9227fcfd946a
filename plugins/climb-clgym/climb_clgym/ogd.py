"""Orthogonal Gradient Descent, GTL variant (Farajtabar, Azizan, Mott, Li, AISTATS 2020), as in CL-Gym.

OGD keeps, for past tasks, directions ``g = grad_theta f(x)`` along which the model's outputs on past
examples change, and trains later tasks only with gradients orthogonal to all of them, so that (to
first order) past outputs do not move. GTL ("ground-truth logit") takes ``f`` to be the logit of the
example's true label: for a classification or multiple-choice head the logit of the target, for a
soft-score head the logit of the highest-scoring answer, for a multi-label head the sum of the
positive labels' logits.

What this module does:

* Parameters: the *shared* trainable parameters (everything outside ``model.heads``). Each task has
  its own head, so a new task's loss never reaches a past head; the past heads' own components of
  the directions are dropped, which keeps the projection on the encoder only and leaves past heads
  untouched (the paper's single-network guarantee, restricted to the part the tasks share).
* Directions: at the end of every task but the last, ``memories_per_task`` random training examples
  of it (seeded per task), one backward pass each with the model in eval mode. With ``memory_size`` M
  (the total budget every replay method offers), task i of T uses its share, M // T (one more for the
  first M % T tasks); the last task's share is never collected (nothing is trained after it).
* Basis: each direction is orthogonalised against the basis by Gram-Schmidt (applied twice, for
  numerical safety) and appended when its residual is not negligible, so the basis stays orthonormal
  and holds at most ``memories_per_task x (tasks - 1)`` vectors (``max_directions`` caps it further).
  It lives on the device: each vector costs 4 bytes x the number of shared parameters.
* Projection: :meth:`OGD.before_optimizer_step` replaces the shared gradient ``g`` with
  ``g - B^T (B g)``. With SGD that is the whole method. The harness trains with AdamW, whose update
  is not a multiple of the gradient (per-coordinate scaling, momentum, weight decay), so with
  ``project_update`` (default) :meth:`OGD.after_optimizer_step` also projects the parameter change
  ``delta`` the optimizer made: ``theta <- theta_before + delta - B^T (B delta)``. Without it the
  gradient is projected as CL-Gym does, and the update is only approximately orthogonal.

State: the basis (a ``k x n`` tensor) and the names of the shared parameters it refers to.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import torch

from climb_clgym._common import flatten, generator, per_task_memory, unflatten
from climb_clgym.plugin import OGD as MANIFEST
from climb_clgym.plugin import defaults
from climb_harness.api import Algorithm, TrainingContext


def orthonormal_extend(
    basis: torch.Tensor, vectors: torch.Tensor, max_rows: int | None = None, tol: float = 1e-5
) -> torch.Tensor:
    """``basis`` (k x n, orthonormal rows) extended by Gram-Schmidt with the rows of ``vectors``.

    A vector whose residual norm is at most ``tol`` x its own norm (linearly dependent on the basis)
    is skipped; no more than ``max_rows`` rows are kept in all.
    """
    limit = basis.shape[0] + vectors.shape[0] if max_rows is None else max_rows
    out = torch.empty(max(limit, basis.shape[0]), basis.shape[1], dtype=basis.dtype, device=basis.device)
    out[: basis.shape[0]] = basis
    count = basis.shape[0]
    for v in vectors:
        if count >= limit:
            break
        norm = v.norm()
        if norm == 0:
            continue
        residual = v.to(basis.dtype).clone()
        for _ in range(2):  # "twice is enough" (Kahan / Parlett)
            if count:
                residual -= out[:count].T @ (out[:count] @ residual)
        r = residual.norm()
        if r > tol * norm:
            out[count] = residual / r
            count += 1
    return out[:count].clone()


def project_out(vector: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """``vector`` minus its projection on the span of ``basis``'s orthonormal rows."""
    if basis.shape[0] == 0:
        return vector
    return vector - basis.T @ (basis @ vector)


def ground_truth_logit(head_type: str, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor | None:
    """The GTL output of one example: ``logits`` (labels,) and its ``target``; None if it has no positive label."""
    if head_type in ("classification", "multiple-choice"):
        return logits[int(target)]
    if head_type == "soft-score":
        return logits[int(target.argmax())]
    positive = target > 0
    return logits[positive].sum() if positive.any() else None


class OGD(Algorithm):
    """Orthogonal Gradient Descent with ground-truth-logit gradients of past tasks."""

    _STREAM = 0x06D

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__({**defaults(MANIFEST), **dict(options or {})})
        self.basis: torch.Tensor | None = None
        self.param_names: list[str] = []
        self._before: torch.Tensor | None = None
        self._warned = False

    # ------------------------------------------------------------------ set-up and state
    def setup(self, ctx: TrainingContext) -> None:
        self.param_names = [
            n for n, p in ctx.model.named_parameters() if p.requires_grad and not n.startswith("heads.")
        ]
        self.basis = torch.zeros(0, sum(p.numel() for p in self._shared(ctx)), device=ctx.device)

    def state_dict(self) -> dict[str, Any]:
        assert self.basis is not None
        return {"basis": self.basis.detach().cpu(), "param_names": list(self.param_names)}

    def load_state_dict(self, state: Mapping[str, Any], ctx: TrainingContext) -> None:
        if list(state.get("param_names", [])) != self.param_names:
            raise ValueError(
                "ogd: the checkpoint's basis refers to other shared parameters than this model has; the encoder or "
                "its trainable parameters changed since the run started. Resume with the same encoder, or start a new run."
            )
        self.basis = torch.as_tensor(state["basis"]).to(ctx.device)

    def _shared(self, ctx: TrainingContext) -> list[torch.nn.Parameter]:
        named = dict(ctx.model.named_parameters())
        return [named[n] for n in self.param_names]

    # ------------------------------------------------------------------ training
    def before_optimizer_step(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> None:
        if self.basis is None or self.basis.shape[0] == 0:
            return
        params = self._shared(ctx)
        with torch.no_grad():
            g = project_out(flatten([p.grad for p in params], params), self.basis)
            for p, part in zip(params, unflatten(g, params)):
                if p.grad is None:
                    if bool(part.any()):  # only where the projection moved an unused parameter
                        p.grad = part.clone()
                else:
                    p.grad.copy_(part)
            if self.options["project_update"]:
                self._before = flatten([p.detach() for p in params], params).clone()

    def after_optimizer_step(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> None:
        if self._before is None or self.basis is None:
            return
        params = self._shared(ctx)
        with torch.no_grad():
            delta = flatten([p.detach() for p in params], params) - self._before
            new = self._before + project_out(delta, self.basis)
            for p, part in zip(params, unflatten(new, params)):
                p.copy_(part)
        self._before = None

    def on_task_end(self, ctx: TrainingContext) -> None:
        if ctx.task_index >= len(ctx.task_order) - 1:
            return  # no later task is trained, so no directions are needed
        assert self.basis is not None
        directions = self.directions(ctx, ctx.current_task)
        cap = self.options["max_directions"]
        if cap is not None and self.basis.shape[0] + len(directions) > cap and not self._warned:
            warnings.warn(
                f"ogd: the basis is full (max_directions={cap}); later directions are not kept.", stacklevel=2
            )
            self._warned = True
        self.basis = orthonormal_extend(self.basis, directions, max_rows=cap)

    def directions(self, ctx: TrainingContext, task: str) -> torch.Tensor:
        """GTL gradients (rows) of ``memories_per_task`` (or the task's share of ``memory_size``) random
        training examples of ``task``, the task being learned (``ctx.task_index``)."""
        params = self._shared(ctx)
        gen = generator(ctx.seed, ctx.task_index, self._STREAM)
        chosen = torch.randperm(ctx.num_train_examples(task), generator=gen)[
            : per_task_memory(self.options, "memories_per_task", ctx)
        ].tolist()
        head_type = ctx.tasks[task].head.type
        model = ctx.model
        was_training = model.training  # type: ignore[attr-defined]
        model.eval()  # type: ignore[attr-defined]
        rows = []
        try:
            for index in chosen:
                data = ctx.batch(task, [index])
                output = ground_truth_logit(head_type, model(task, data)[0], data["targets"][0])
                if output is None:
                    continue
                grads = torch.autograd.grad(output, params, allow_unused=True)
                rows.append(flatten(grads, params).detach())
        finally:
            model.train(was_training)  # type: ignore[attr-defined]
        if not rows:
            return torch.zeros(0, self.basis.shape[1] if self.basis is not None else 0, device=ctx.device)
        return torch.stack(rows)
