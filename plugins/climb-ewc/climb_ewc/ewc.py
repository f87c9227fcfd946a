"""Elastic weight consolidation over the encoder, CLiMB-style (one random past task per step).

The Fisher (:meth:`EWC.estimate_fisher`) is the diagonal **empirical Fisher over per-example
gradients** of Kirkpatrick et al. (2017)::

    F_i = (1/N) * sum_n (d loss_n / d theta_i)^2

with ``loss_n = ctx.model.loss(task, <a batch holding example n alone>)``, the loss of the task's
head on that one example (cross-entropy, BCE x num_labels for soft scores, BCE for multi-label:
the harness's batch losses are means over the batch, so a batch of one is exactly the example's
loss), over the ``N`` examples of :meth:`EWC.fisher_batches`, in eval mode (no dropout).

Version 0.1.0 squared each *batch-mean* gradient instead and divided by the number of examples. That
is smaller than the empirical Fisher by a factor between B and B^2 for batches of B (the square of a
mean of B gradients against the mean of their B squares, summed over only N/B batches) and made the
penalty negligible at any sensible lambda.

Per-example gradients come from one of three paths, which compute the same function on the same tensors
(example ``n``'s rows of its collated Fisher batch, i.e. exactly ``ctx.batch(task, [n])`` when the split is
preloaded, the runner's default; an encoder contract: collated tensors are batch-first and sliceable):

* ``hooks`` (the default, ``auto``): one batched forward/backward per Fisher batch, the per-example gradients
  read off with layer hooks (:mod:`climb_ewc.per_example`: closed forms for ``nn.Linear``, ``nn.LayerNorm``,
  ``nn.Embedding`` and ``nn.Conv2d``, the enclosing module's outputs for any other parameter, checked to add
  up to the batch gradient). Plain autograd: no ``torch.func``, so no ``torch._dynamo`` import, and it runs
  models with data-dependent Python (Hugging Face ViLT, vl-minilm). It assumes that examples do not interact
  in the batch (eval mode: no batch statistics), so the first batch of every estimate checks one example
  against an autograd pass of that example alone; ``auto`` falls back to ``loop`` for the rest of the
  estimate when the check or the pass fails (``hooks`` alone raises);
* ``vmap``: ``torch.func.vmap(torch.func.grad(loss of one example))`` over a chunk of the batch with the
  encoder's parameters swapped in by ``torch.func.functional_call``; fails on models with data-dependent
  control flow (``.item()``, ``.tolist()``, Python ``if`` on tensor values) or random operations in eval mode
  (it runs with ``randomness="error"``), and ``torch.func.grad`` imports ``torch._dynamo`` and
  ``torch._inductor`` (~1.5 s of CPU per process). Kept as an explicit choice; it raises when it fails;
* ``loop``: ``torch.autograd.grad`` of the loss of each example alone (a chunk of one), one forward/backward
  per example. Works with any model.

None of them touches ``.grad``, so gradients cannot accumulate across examples or batches (the original
CLiMB code called ``backward()`` batch after batch without zeroing).

The penalty (:meth:`EWC.penalty`) is CLiMB's ``ewc_lambda * sum_i F_i (theta_i - theta*_i)^2``, without
the 1/2 of Kirkpatrick et al.'s ``(lambda/2) * sum_i F_i (theta_i - theta*_i)^2`` (so the paper's lambda is
``2 * ewc_lambda``), for one past task drawn uniformly at each step (``random-past``, CLiMB) or summed
over all past tasks (``all-past``, the paper's multi-task form; computed in one pass over the parameters from
running sums, :mod:`climb_ewc.running`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from climb_ewc.per_example import close, gradient_scale, reduce_per_example
from climb_ewc.running import SummedQuadratic
from climb_harness.api import Algorithm, TrainingContext

logger = logging.getLogger(__name__)

_FISHER_STREAM = 0xF15E  # seeds the Fisher sample: (seed, task index, this)
_PENALTY_STREAM = 0xE3C  # seeds the draw of the penalised past task

#: What ``state_dict()["ewc.fisher_estimator"]`` says; a checkpoint without it was written by
#: climb-ewc 0.1.0, whose Fishers (squared batch-mean gradients) must not be mixed with these.
FISHER_ESTIMATOR = "empirical-per-example"

#: The ``vmap`` path holds (chunk x trainable encoder size) per-example gradients at once; with
#: ``fisher_vmap_chunk_size: null`` the chunk is as many examples as fit in this many bytes (at least one).
VMAP_CHUNK_BYTES = 256 * 2**20


def derived_seed(*parts: int) -> int:
    """A 63-bit seed from integers, e.g. ``(ctx.seed, ctx.task_index, stream)``."""
    return int(np.random.SeedSequence([abs(int(p)) for p in parts]).generate_state(2, np.uint64)[0] >> 1)


def task_batch_size(ctx: TrainingContext, task: str) -> int:
    """The task's training batch size."""
    getter = getattr(ctx, "batch_size", None)
    if callable(getter):
        return max(1, int(getter(task)))
    first = next(iter(ctx.train_batches(task)), [])  # a context without the getter
    return max(1, len(first))


class _HooksMismatch(Exception):
    """The layer-hook per-example gradients of a model do not match autograd's on one example."""


class _TaskLoss(nn.Module):
    """``model.loss(task, batch)`` as a module's forward, so ``functional_call`` can swap parameters in."""

    def __init__(self, model: nn.Module, task: str) -> None:
        super().__init__()
        self.model = model
        self.task = task

    def forward(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.model.loss(self.task, batch)


class EWC(Algorithm):
    """Diagonal-Fisher EWC on the trainable encoder parameters; see the module docstring and the manifest."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        opts = self.options
        self.ewc_lambda = float(opts.get("ewc_lambda", 1e5))
        self.sample_percentage = float(opts.get("fisher_sample_percentage", 0.25))
        self.max_batches: int | None = opts.get("fisher_max_batches", 64)
        self.fisher_batch_size: int | None = opts.get("fisher_batch_size")
        self.backend = str(opts.get("fisher_backend", "auto"))
        self.vmap_chunk_size: int | None = opts.get("fisher_vmap_chunk_size")
        self.mode = str(opts.get("penalty", "random-past"))
        self.online = bool(opts.get("online", False))  # Schwarz et al.: one running Fisher
        self.gamma = float(opts.get("gamma", 1.0))
        if self.mode not in ("random-past", "all-past"):
            raise ValueError(f"ewc option penalty must be 'random-past' or 'all-past', not {self.mode!r}")
        if self.backend not in ("auto", "hooks", "vmap", "loop"):
            raise ValueError(f"ewc option fisher_backend must be 'auto', 'hooks', 'vmap' or 'loop', "
                             f"not {self.backend!r}")
        #: task -> parameter name -> diagonal Fisher / anchor (theta*), in the order tasks were learned
        self.fishers: dict[str, dict[str, torch.Tensor]] = {}
        self.anchors: dict[str, dict[str, torch.Tensor]] = {}
        self.last_penalty_tasks: list[str] = []  # which past task(s) the latest training_loss penalised
        #: the path the latest estimate_fisher took: "hooks", "vmap", "loop", or "hooks+loop" (hooks failed
        #: part-way)
        self.last_fisher_backend: str | None = None
        self.last_hooks_error: str | None = None  # why the hooks path was given up, when it was
        #: parameter name -> where the hooks path took its per-example gradients: "layer", "module:<path>" or
        #: "loss" (see climb_ewc.per_example)
        self.last_fisher_levels: dict[str, str] = {}
        self._rng: np.random.Generator | None = None
        self._summed: SummedQuadratic | None = None  # all-past: every held task's term as one (see summed())

    # ------------------------------------------------------------------ hooks
    def on_task_start(self, ctx: TrainingContext) -> None:
        # a generator per task, seeded from (seed, task index): a resumed run draws the same tasks
        self._rng = np.random.default_rng([abs(ctx.seed), ctx.task_index, _PENALTY_STREAM])

    def training_loss(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> torch.Tensor:
        loss = ctx.model.loss(task, batch)
        past = [t for t in self.fishers if t != task]
        if not past:
            self.last_penalty_tasks = []
            return loss
        if self.mode == "random-past":
            if self._rng is None:
                self._rng = np.random.default_rng([abs(ctx.seed), ctx.task_index, _PENALTY_STREAM])
            past = [past[int(self._rng.integers(len(past)))]]
        self.last_penalty_tasks = past
        return loss + self.penalty(ctx, past)

    def on_task_end(self, ctx: TrainingContext) -> None:
        task = ctx.current_task
        params = self._trainable_encoder_params(ctx)
        fisher = self.estimate_fisher(ctx, task)
        if self.online:  # one running Fisher gamma * F_old + F_new, anchored at the latest weights
            fisher = self.running_fisher(fisher)
            self.fishers, self.anchors = {}, {}
        self.fishers[task] = fisher
        self.anchors[task] = {name: p.detach().clone() for name, p in params.items()}

    def running_fisher(self, new: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Online EWC (Schwarz et al. 2018): ``gamma * F_old + F_new`` per parameter, ``F_old`` the running
        Fisher after the previous task (none before the first task; a parameter it lacks counts as 0)."""
        old = next(iter(self.fishers.values()), {})
        return {name: self.gamma * old[name] + value if name in old else value.clone()
                for name, value in new.items()}

    # ------------------------------------------------------------------ the method
    def penalty(self, ctx: TrainingContext, tasks: Sequence[str]) -> torch.Tensor:
        """``ewc_lambda * sum_{t in tasks} sum_i F_t,i (theta_i - theta*_t,i)^2``.

        CLiMB's form: no 1/2, so Kirkpatrick et al.'s ``(lambda/2) sum_i F_i (theta_i - theta*_i)^2`` is
        this with ``ewc_lambda = lambda / 2``. ``tasks`` is one drawn past task (``random-past``) or all
        of them (``all-past``); see :meth:`training_loss`. Over all of them it is computed in one pass over
        the parameters from the running sums of :meth:`summed` (:mod:`climb_ewc.running`).
        """
        params = dict(ctx.model.encoder.named_parameters())
        total: torch.Tensor | None = None
        if len(tasks) > 1 and list(tasks) == list(self.fishers):  # every past task: the running sums
            total = self.summed().value(params)
        else:
            for task in tasks:
                for name, fisher in self.fishers[task].items():
                    term = (fisher * (params[name] - self.anchors[task][name]).pow(2)).sum()
                    total = term if total is None else total + term
        if total is None:  # nothing trainable in the encoder when the tasks ended
            return torch.zeros((), device=ctx.device)
        if self.online:  # Schwarz et al.'s Eq. 4: the running Fisher enters the penalty decayed once more
            return self.ewc_lambda * self.gamma * total
        return self.ewc_lambda * total

    def summed(self) -> SummedQuadratic:
        """Every held task's term as one quadratic (:class:`climb_ewc.running.SummedQuadratic`), folded in the
        order the tasks were learned; tasks added since the last call are folded in, and anything else that
        changed the Fishers or anchors held (a loaded state) folds them all again, in the same order, so a
        resumed run computes the same sums as an uninterrupted one."""
        held = [(task, self.fishers[task], self.anchors[task]) for task in self.fishers]
        done = [] if self._summed is None else self._summed.folded
        if self._summed is None or len(done) > len(held) or any(
                a[0] != b[0] or a[1] is not b[1] or a[2] is not b[2] for a, b in zip(done, held)):
            self._summed = SummedQuadratic()
        for task, _, _ in held[len(self._summed.folded):]:
            self._summed.fold(task, self.fishers[task], self.anchors[task])
        return self._summed

    def fisher_batches(self, ctx: TrainingContext, task: str) -> list[list[int]]:
        """The index batches the Fisher of ``task`` is estimated on: a seeded random sample without
        repeats of ``ceil(fisher_sample_percentage * N / size)`` batches (at least one, at most
        ``fisher_max_batches``) of ``fisher_batch_size`` (default: the task's batch size)."""
        n = ctx.num_train_examples(task)
        size = self.fisher_batch_size or task_batch_size(ctx, task)
        count = max(1, math.ceil(int(self.sample_percentage * n) / size))  # at least one batch (as CLiMB)
        count = min(count, math.ceil(n / size))
        if self.max_batches is not None:
            count = min(count, int(self.max_batches))
        generator = torch.Generator().manual_seed(derived_seed(ctx.seed, ctx.task_index, _FISHER_STREAM))
        order = torch.randperm(n, generator=generator).tolist()
        return [order[start : start + size] for start in range(0, count * size, size)]

    def estimate_fisher(self, ctx: TrainingContext, task: str) -> dict[str, torch.Tensor]:
        """Diagonal empirical Fisher of the trainable encoder parameters over the examples of
        :meth:`fisher_batches`: ``F_i = (1/N) sum_n (d loss_n / d theta_i)^2``, ``loss_n`` the loss of
        example ``n`` alone (see the module docstring for the hooks, vmap and loop paths). Eval mode; the
        model's mode and ``.grad`` are left as they were."""
        params = self._trainable_encoder_params(ctx)
        fisher = {name: torch.zeros_like(p, memory_format=torch.preserve_format) for name, p in params.items()}
        self.last_fisher_backend, self.last_hooks_error = None, None
        self.last_fisher_levels = {}
        if not params:
            return fisher
        names, tensors = list(params), list(params.values())
        batches = self.fisher_batches(ctx, task)
        path = {"auto": "hooks", "hooks": "hooks", "vmap": "vmap", "loop": "loop"}[self.backend]
        used: list[str] = []
        was_training = ctx.model.training
        ctx.model.eval()
        try:
            for number, indices in enumerate(batches):
                batch = ctx.batch(task, indices)
                n = len(indices)
                start = 0
                while start < n:
                    if path == "hooks":
                        size = n
                        try:
                            sums = self._hook_square_sums(ctx.model, task, params, batch, check=number == 0)
                        except Exception as exc:  # a failed check, or any failure of the pass: use the loop
                            mismatch = isinstance(exc, _HooksMismatch)
                            reason = str(exc) if mismatch else f"{type(exc).__name__}: {exc}"
                            if self.backend == "hooks":
                                raise RuntimeError(
                                    f"ewc: per-example gradients by layer hooks failed on task {task!r} "
                                    f"({reason}); set fisher_backend to 'auto' or 'loop'.") from exc
                            path, self.last_hooks_error = "loop", str(reason)
                            logger.info("ewc: layer-hook per-example gradients unavailable on task %r (%s); "
                                        "using one autograd pass per example", task, reason)
                            continue  # the same batch again, through the loop
                    elif path == "vmap":
                        size = self._vmap_chunk(tensors, n)
                        chunk = {key: value[start : start + size] for key, value in batch.items()}
                        try:
                            sums = self._vmap_square_sums(ctx.model, task, names, tensors, chunk)
                        except Exception as exc:  # any failure of vmap is reported as one error
                            raise RuntimeError(
                                f"ewc: per-example gradients with torch.func.vmap failed on task {task!r} "
                                f"({type(exc).__name__}: {exc}); set fisher_backend to 'auto' or 'loop'."
                            ) from exc
                    else:
                        size = 1
                        chunk = {key: value[start : start + 1] for key, value in batch.items()}
                        grads = self._example_grads(ctx.model, task, params, chunk)
                        sums = {name: g.pow(2) for name, g in grads.items()}
                    used.append(path)
                    for name, value in sums.items():
                        fisher[name] += value
                    start += size
        finally:
            ctx.model.train(was_training)
        self.last_fisher_backend = "+".join(dict.fromkeys(used))
        count = sum(len(b) for b in batches)
        return {name: value / count for name, value in fisher.items()}

    def _hook_square_sums(self, model: nn.Module, task: str, params: Mapping[str, torch.Tensor],
                          batch: Mapping[str, torch.Tensor], check: bool) -> dict[str, torch.Tensor]:
        """Sum over the batch of the squared per-example gradients, from one batched pass with layer hooks
        (:mod:`climb_ewc.per_example`). With ``check``, the gradient of the first example is compared with an
        autograd pass of that example alone (:class:`_HooksMismatch` when they differ)."""
        targets, n = batch["targets"], len(batch["targets"])

        def losses() -> torch.Tensor:
            logits = model(task, batch)
            rows = [model.head_loss(task, logits[i : i + 1], targets[i : i + 1]) for i in range(n)]
            return torch.stack(rows)

        reduced = reduce_per_example(model.encoder, params, losses, n, keep=0 if check else None)
        self.last_fisher_levels.update(reduced.levels)
        if check and reduced.kept is not None:
            exact = self._example_grads(model, task, params, {key: value[:1] for key, value in batch.items()})
            scale = gradient_scale(exact.values())
            for name in params:
                got, want = reduced.kept[name], exact.get(name)
                if not close(got, want, scale):
                    worst = float((got - (0 if want is None else want)).abs().max())
                    raise _HooksMismatch(
                        f"the gradient of {name!r} ({reduced.levels[name]} level) differs from autograd's on "
                        f"one example by up to {worst:.3g} (scale {scale:.3g})")
        return reduced.sums

    def _vmap_chunk(self, tensors: Sequence[torch.Tensor], n: int) -> int:
        if self.vmap_chunk_size is not None:
            return max(1, min(n, int(self.vmap_chunk_size)))
        per_example = sum(t.numel() * t.element_size() for t in tensors)
        return max(1, min(n, VMAP_CHUNK_BYTES // max(1, per_example)))

    @staticmethod
    def _vmap_square_sums(model: nn.Module, task: str, names: Sequence[str], tensors: Sequence[torch.Tensor],
                          chunk: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Sum over the chunk of the squared per-example gradients, by vmap(grad) (one batched pass)."""
        from torch.func import functional_call, grad, vmap

        wrapper = _TaskLoss(model, task)
        keys = [f"model.encoder.{name}" for name in names]
        params = {key: t.detach() for key, t in zip(keys, tensors)}

        def loss_of_one(p: dict[str, torch.Tensor], example: dict[str, torch.Tensor]) -> torch.Tensor:
            return functional_call(wrapper, p, ({k: v.unsqueeze(0) for k, v in example.items()},))

        with torch.no_grad():  # torch.func.grad ignores an outer no_grad; this keeps autograd from recording
            per_example = vmap(grad(loss_of_one), in_dims=(None, 0), randomness="error")(params, dict(chunk))
        return {name: per_example[key].pow(2).sum(0) for name, key in zip(names, keys)}

    @staticmethod
    def _example_grads(model: nn.Module, task: str, params: Mapping[str, torch.Tensor],
                       one: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The gradient of one example's loss (a batch of one), by plain autograd (any model); a parameter
        the loss does not reach is left out."""
        with torch.enable_grad():
            loss = model.loss(task, one)
            grads = torch.autograd.grad(loss, list(params.values()), allow_unused=True)
        return {name: g.detach() for name, g in zip(params, grads) if g is not None}

    @staticmethod
    def _trainable_encoder_params(ctx: TrainingContext) -> dict[str, torch.nn.Parameter]:
        return {name: p for name, p in ctx.model.encoder.named_parameters() if p.requires_grad}

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict[str, Any]:
        """``ewc.fisher_estimator``, ``ewc.tasks`` (learned order), ``ewc.params.<task>`` (names),
        ``fisher.<task>.<name>``, ``anchor.<task>.<name>``."""
        state: dict[str, Any] = {"ewc.fisher_estimator": FISHER_ESTIMATOR, "ewc.tasks": list(self.fishers)}
        if self.online:  # one running Fisher, under the latest task's name
            state["ewc.online"] = True
        for task, fisher in self.fishers.items():
            state[f"ewc.params.{task}"] = list(fisher)
            for name, value in fisher.items():
                state[f"fisher.{task}.{name}"] = value
                state[f"anchor.{task}.{name}"] = self.anchors[task][name]
        return state

    def load_state_dict(self, state: Mapping[str, Any], ctx: TrainingContext) -> None:
        self.fishers, self.anchors = {}, {}
        tasks = state.get("ewc.tasks", [])
        estimator = state.get("ewc.fisher_estimator")
        if tasks and bool(state.get("ewc.online", False)) != self.online:
            held = "one running Fisher (online: true)" if state.get("ewc.online") else "one Fisher per task"
            raise ValueError(
                f"The ewc state holds {held}, but this run has online: {str(self.online).lower()} "
                f"('ewc.online'): resume with the options the run started with, or start it again in a new "
                f"--output folder."
            )
        if tasks and estimator != FISHER_ESTIMATOR:
            raise ValueError(
                f"The ewc state holds Fishers estimated as {estimator or 'squared batch-mean gradients (climb-ewc 0.1.0)'!r}, "
                f"not {FISHER_ESTIMATOR!r}: resuming would mix two estimators. Start the run again in a new --output folder."
            )
        for task in tasks:
            names = state.get(f"ewc.params.{task}")
            if names is None:
                raise KeyError(
                    f"The ewc state of task {task!r} lacks 'ewc.params.{task}': the checkpoint was not written by "
                    f"this version of climb-ewc. Start the run again in a new --output folder."
                )
            try:
                self.fishers[task] = {n: state[f"fisher.{task}.{n}"].to(ctx.device) for n in names}
                self.anchors[task] = {n: state[f"anchor.{task}.{n}"].to(ctx.device) for n in names}
            except KeyError as exc:
                raise KeyError(
                    f"The ewc state of task {task!r} lacks tensor {exc.args[0]!r}; the checkpoint is incomplete. "
                    f"Start the run again in a new --output folder."
                ) from exc
