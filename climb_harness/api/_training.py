"""The training contracts: the model and context an algorithm receives, and the Algorithm base class."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

from climb_harness.api._tasks import TaskInfo

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from climb_harness.api._encoder import Encoder

class ContinualModelProtocol(Protocol):
    """The model the runner builds: one encoder plus one head per task (an ``nn.Module``).

    The runner builds it once per run, after the encoder's ``adapt_to_tasks``, with a head for
    every task of the run (see :class:`HeadSpec`), all created and moved to the device before
    :meth:`Algorithm.setup`. A head learns only from batches of its own task: in the runner's steps
    the other heads get no gradient. Its ``state_dict()`` keys are ``encoder.*`` and
    ``heads.<task>.*``.

    Attributes:
        encoder: The run's :class:`Encoder`.
        heads: A ``torch.nn.ModuleDict`` from task name to head.
    """

    encoder: Encoder
    heads: Any  # torch.nn.ModuleDict, task name -> head

    def forward(self, task: str, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Logits of ``task``'s head on a batch (``ctx.model(task, batch)``).

        Args:
            task: A task name of the run.
            batch: A batch as :meth:`TrainingContext.batch` returns it; ``"targets"`` is dropped
                before the encoder sees it.

        Returns:
            ``(batch, num_labels)`` logits, or ``(batch, num_choices)`` for a multiple-choice task.
        """

    def features(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The encoder's ``(batch, views, hidden_size)`` output on a batch (``"targets"`` dropped), before any
        head: what every head of the run reads (LwF distils several heads from one pass of it).

        Args:
            batch: A batch as :meth:`TrainingContext.batch` returns it.

        Returns:
            The encoder's output; ``model.heads[task](features)`` equals ``model(task, batch)``.
        """

    def forward_tasks(self, parts: Sequence[tuple[str, Mapping[str, torch.Tensor]]]) -> list[torch.Tensor]:
        """``model(task, batch)`` of each ``(task, batch)`` part, from one encoder pass per layout.

        For a batch that mixes tasks (a replay memory of past tasks): parts whose tensors agree in every size
        but the first are concatenated through the encoder once and split at the heads, so a step costs the
        same whatever the number of tasks in it. Each part's logits equal its own forward up to the rounding
        of a larger matrix product.

        Args:
            parts: ``(task, batch)`` pairs, batches as :meth:`TrainingContext.batch` returns them.

        Returns:
            One logits tensor per part, in order.
        """

    def loss(self, task: str, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The head's loss on a batch, against ``batch["targets"]``.

        Args:
            task: A task name of the run.
            batch: A batch holding ``"targets"``.

        Returns:
            A scalar tensor: mean cross-entropy (classification, multiple-choice), mean binary
            cross-entropy times ``num_labels`` (soft-score) or mean binary cross-entropy
            (multi-label).
        """

    def head_loss(self, task: str, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The loss of ``task``'s head from logits already computed: ``loss`` without a second forward.

        ``model.head_loss(task, model(task, batch), batch["targets"])`` equals
        ``model.loss(task, batch)``; a method that needs the logits too (to store them, as DER does, or
        to distil through other heads on the same features, as LwF does) runs the forward pass once.

        Args:
            task: A task name of the run.
            logits: ``task``'s head outputs, as :meth:`forward` returns them.
            targets: ``batch["targets"]`` of the same examples.

        Returns:
            The scalar loss :meth:`loss` would return.
        """

    def parameters(self, recurse: bool = True) -> Iterator[torch.nn.Parameter]:
        """Every parameter of the encoder and the heads (``nn.Module.parameters``)."""


class TrainingContext(Protocol):
    """What the runner hands to every algorithm hook.

    Replay memories keep training-example indices, not tensors, and read them back with
    :meth:`batch`. :meth:`optimizer_step` does an extra step exactly as the runner's own steps do.

    Attributes:
        model: The :class:`ContinualModelProtocol` being trained (encoder plus one head per task).
        optimizer: The ``torch.optim.Optimizer`` of the current task, built right after
            :meth:`Algorithm.on_task_start` over the parameters with ``requires_grad=True`` at that
            moment (freeze in ``setup`` or ``on_task_start``). ``None`` before the first task and
            when nothing is trainable; during ``on_task_start`` it is still the previous task's.
        device: The ``torch.device`` the model and batches are on.
        seed: The run's seed; seed your own generators from ``(seed, task_index, ...)``.
        task_order: The names of the run's tasks, in learning order.
        task_index: The position of the current task in ``task_order`` (0 in ``setup`` and, on
            resume, in ``load_state_dict``).
        tasks: Every task of the run, name -> :class:`TaskInfo`.
        global_step: Training batches processed so far in the run, counted after each
            :meth:`Algorithm.after_optimizer_step`; restored on resume.
        batch_indices: The training-split indices of the batch in flight (in the split of the task
            being stepped, which a method with its own ``training_batches`` may choose), valid in
            ``training_loss`` and the optimizer-step hooks: what a memory stores.
        initial_state: The whole model's state dict (``encoder.*``, ``heads.*``) taken before
            ``setup`` and any training, detached on CPU (modules an algorithm adds later are not in
            it).
        rank: Under data parallelism (``accelerate launch``), this process's index (0: the main
            process, the one that writes); 0 in one process.
        world_size: The number of data-parallel processes (1 in one process). Every process runs
            every hook; ``batch_indices`` is then this process's shard of the global batch. See
            ``data_parallel`` in ``schemas/algorithm.schema.json`` for what an algorithm declaring
            support must keep equal across processes.
    """

    model: ContinualModelProtocol
    optimizer: Any  # torch.optim.Optimizer, rebuilt at each task start
    device: Any  # torch.device
    seed: int
    task_order: list[str]
    task_index: int
    tasks: Mapping[str, TaskInfo]
    global_step: int
    batch_indices: list[int]  # the training-split indices of the batch in flight (for memories)
    initial_state: Mapping[str, Any]  # the whole model's state dict (encoder.*, heads.*) before any training, on CPU
    rank: int  # data parallelism: this process's index (0 in one process)
    world_size: int  # data parallelism: the number of processes (1 in one process)

    @property
    def current_task(self) -> str:
        """The name of the task being learned: ``task_order[task_index]``."""

    def num_train_examples(self, task: str) -> int:
        """The size of a task's training split.

        Args:
            task: A task name of the run.

        Returns:
            The number of training examples (valid indices are ``range(n)``).
        """

    def batch_size(self, task: str) -> int:
        """The training batch size of a task.

        Args:
            task: A task name of the run.

        Returns:
            ``training.batch_size`` if set, else the task manifest's ``defaults.batch_size``,
            else 32.
        """

    def batch(self, task: str, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        """Training examples of ``task`` as a batch on :attr:`device`.

        Args:
            task: A task name of the run (any of them, not only the current one).
            indices: Indices into the task's training split.

        Returns:
            The encoder's collated tensors for those examples plus ``"targets"`` (class indices, or
            a ``(batch, num_labels)`` score / multi-hot matrix), ready for ``ctx.model(task, batch)``
            and ``ctx.model.loss(task, batch)``.
        """

    def optimizer_step(self, loss: torch.Tensor) -> None:
        """One extra optimizer step on ``loss`` (e.g. a replay step in ``after_optimizer_step``).

        Zero-grad, backward, gradient clipping (``training.max_grad_norm``) and ``optimizer.step()``,
        as the runner's own steps do; the learning-rate schedule is not advanced and
        ``before_optimizer_step`` is not called.

        Args:
            loss: A scalar loss with a graph to the trainable parameters.

        Raises:
            AssertionError: When there is no optimizer (outside task training, or nothing is
                trainable).
        """

    def train_batches(self, task: str, batch_size: int | None = None, epoch: int = 0) -> Iterator[list[int]]:
        """Shuffled index batches over a task's training split, as the runner's own epochs use.

        Args:
            task: A task name of the run.
            batch_size: Examples per batch (``None``: :meth:`batch_size` of the task).
            epoch: Selects the shuffle; the order is deterministic per (seed, task, epoch).

        Returns:
            An iterator of index lists (the last one may be shorter), at most
            ``training.max_steps_per_epoch`` of them when that is set.
        """


# --------------------------------------------------------------------------- algorithms
@dataclasses.dataclass
class OptimizerConfig:
    """An algorithm's own optimizer for one task (see :meth:`Algorithm.configure_optimizer`).

    Attributes:
        optimizer: A ``torch.optim.Optimizer`` over the task's parameter groups; anything else is a
            one-paragraph error.
        schedule: How the harness drives its learning rate within the task: ``"linear-warmup"``
            (CLiMB's warm-up over ``training.warmup_ratio`` of the steps, then linear decay to zero)
            or ``"constant"`` (the learning rates the optimizer was built with, for every step).
            Any other value is an error.
    """

    optimizer: Any  # torch.optim.Optimizer
    schedule: Literal["linear-warmup", "constant"] = "linear-warmup"


class Algorithm:
    """Base class of continual-learning algorithms; every hook is optional.

    The factory is called with the validated options, the option schema's defaults filled in (in
    ``self.options``); the harness then sets :attr:`manifest`. The base class is sequential
    fine-tuning: the model's loss on the current task's batches.

    Order of calls in a run (``ctx`` is a :class:`TrainingContext`)::

        setup(ctx)                                  once, after the model is built
        before_evaluate(ctx, task) for every task ; initial scores (before any training)
        for each task:
            on_task_start(ctx)                      then the runner builds the optimizer over
                                                    the parameters with requires_grad=True
                                                    (configure_optimizer(ctx, groups, lr), else AdamW)
            selection_tasks(ctx)                    once: which tasks choose the epoch
            for each epoch:
                for (task, indices) in training_batches(ctx, epoch) or the task's own batches:
                    loss = training_loss(ctx, task, batch)
                    loss.backward()
                    before_optimizer_step(ctx, task, batch)   # e.g. A-GEM's projection
                    optimizer.step()
                    after_optimizer_step(ctx, task, batch)    # e.g. a replay step
                on_epoch_end(ctx, epoch)
                before_evaluate(ctx, t) ; selection score for t in selection_tasks(ctx)
            (the best epoch's weights are restored)
            on_task_end(ctx)                        e.g. EWC's Fisher, filling a memory
            before_evaluate(ctx, task) for every task ; evaluation
            state_dict() is checkpointed

    When nothing is trainable (no optimizer), ``training_loss`` and ``after_optimizer_step`` still
    run, without backward, ``before_optimizer_step`` or a step. On ``--resume``, ``setup(ctx)`` then
    ``load_state_dict(state, ctx)`` run before the model's weights are loaded, so an algorithm that
    adds modules (adapters) re-creates them there.

    Attributes:
        manifest: The validated algorithm manifest, set by the harness after the factory returns.
        options: The component's options as the factory received them (a copy).

    Example:
        >>> class Nothing(Algorithm):
        ...     pass
        >>> algo = Nothing({"strength": 0.5})
        >>> algo.name, algo.options, algo.state_dict()
        ('Nothing', {'strength': 0.5}, {})
    """

    manifest: Mapping[str, Any] = {}

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        """Keep the options.

        Args:
            options: The validated options, defaults filled in (``None``: none).
        """
        self.options: dict[str, Any] = dict(options or {})

    @property
    def name(self) -> str:
        """The manifest's ``name``, else the class name (before the harness sets the manifest)."""
        return str(self.manifest.get("name", type(self).__name__))

    def setup(self, ctx: TrainingContext) -> None:
        """Prepare the model once (freeze parameters, attach modules).

        Called after the model (encoder and every task's head) is built and on the device, and
        after the initial ``ctx.initial_state`` is taken; before any evaluation or training.

        Args:
            ctx: The training context (``ctx.task_index`` is 0, ``ctx.optimizer`` is ``None``).
        """

    def on_task_start(self, ctx: TrainingContext) -> None:
        """Before training on ``ctx.current_task``; the optimizer is built right after.

        Args:
            ctx: The training context; parameters frozen here are left out of the optimizer.
        """

    def configure_optimizer(self, ctx: TrainingContext, param_groups: list[dict[str, Any]], lr: float) -> OptimizerConfig | None:
        """Override to train with another optimizer than the harness's (e.g. plain SGD).

        Called once per task, after :meth:`on_task_start`, when at least one parameter is trainable.

        Args:
            ctx: The training context.
            param_groups: The trainable parameters split as the harness splits them: a group with
                weight decay and one without (biases and every parameter of a normalisation
                layer), each with its ``weight_decay`` (empty groups are left out).
            lr: The task's learning rate (``training.lr``, else the task manifest's default).

        Returns:
            ``None`` (the default) for the harness's AdamW (CLiMB's betas, eps and weight decay)
            with the linear warm-up schedule, or an :class:`OptimizerConfig`.
        """
        return None

    def training_batches(self, ctx: TrainingContext, epoch: int) -> Iterable[tuple[str, list[int]]] | None:
        """Override to train on other batches than the current task's (e.g. joint training).

        Called once per epoch; epoch 0's batches are asked for before the epoch loop, as they size
        the learning-rate schedule (``epochs * len(batches)`` steps).

        Args:
            ctx: The training context.
            epoch: The epoch about to run (0-based).

        Returns:
            ``None`` (the default) for ``ctx.train_batches(ctx.current_task, epoch=epoch)``, or
            ``(task, indices)`` pairs, each one step on ``ctx.batch(task, indices)`` (cut at
            ``training.max_steps_per_epoch``).
        """
        return None

    def selection_tasks(self, ctx: TrainingContext) -> Sequence[str] | None:
        """The tasks whose mean selection-split score picks the best epoch of the current task.

        ``None`` (the default) is the current task alone. A method trained on several tasks at once
        (e.g. joint training on every task seen so far) returns those tasks, so that the epoch it
        keeps is the best for what it was trained on. Only tasks seen so far may be named.

        Args:
            ctx: The training context (called once per task, after the optimizer is built).

        Returns:
            ``None`` or a non-empty list of task names from ``ctx.task_order[: ctx.task_index + 1]``;
            anything else stops the run with a one-paragraph error.
        """
        return None

    def training_loss(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> torch.Tensor:
        """The loss to minimise on one batch; add regularisers here (e.g. EWC).

        Args:
            ctx: The training context (``ctx.batch_indices`` holds the batch's indices).
            task: The task the batch comes from.
            batch: ``ctx.batch(task, indices)``: tensors on the device, ``"targets"`` included.

        Returns:
            A scalar tensor; the default is ``ctx.model.loss(task, batch)``.
        """
        return ctx.model.loss(task, batch)

    def before_optimizer_step(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> None:
        """After backward, before the optimizer step: manipulate gradients here.

        Gradient clipping (``training.max_grad_norm``) runs after this hook.

        Args:
            ctx: The training context.
            task: The task the batch comes from.
            batch: The batch just back-propagated.
        """

    def after_optimizer_step(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> None:
        """After each optimizer step: extra steps (``ctx.optimizer_step``), memory updates.

        Args:
            ctx: The training context.
            task: The task the batch comes from.
            batch: The batch just stepped on.
        """

    def on_epoch_end(self, ctx: TrainingContext, epoch: int) -> None:
        """After each epoch, before validation.

        Args:
            ctx: The training context.
            epoch: The epoch that ended (0-based).
        """

    def on_task_end(self, ctx: TrainingContext) -> None:
        """After a task (best weights restored): consolidate, fill memories.

        Args:
            ctx: The training context (``ctx.current_task`` is the task just learned).
        """

    def before_evaluate(self, ctx: TrainingContext, task: str) -> None:
        """Before the model is evaluated on ``task`` (e.g. activate the task's adapter).

        Called before every evaluation (initial scores, epoch selection, the accuracy-matrix row),
        inside forked random-number states, with the model then put in eval mode.

        Args:
            ctx: The training context.
            task: The task about to be evaluated (a future one too: every task is evaluated).
        """

    def state_dict(self) -> dict[str, Any]:
        """Checkpointable state: a flat dict of tensors and JSON-serialisable values.

        Returns:
            Everything :meth:`load_state_dict` needs to continue as an uninterrupted run would
            (memories, Fisher matrices, counters); ``{}`` by default. Saved after every task.
        """
        return {}

    def load_state_dict(self, state: Mapping[str, Any], ctx: TrainingContext) -> None:
        """Restore :meth:`state_dict`'s output on resume (after :meth:`setup`).

        Called before the model's weights are loaded from the checkpoint, so modules added in
        ``setup`` or here receive their weights.

        Args:
            state: What :meth:`state_dict` returned after the last completed task.
            ctx: The training context (``ctx.global_step`` restored).
        """
