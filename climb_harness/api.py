"""What a plugin author imports: the contracts between the harness and its plugins.

A plugin is a module with pluggy hook implementations (see :mod:`climb_harness.hookspecs`).
Its registration hooks return :class:`Component` objects: a JSON manifest (validated against
``schemas/{task,encoder,algorithm}.schema.json``) plus a *factory* that builds the live object.
Factories are named as ``"module:attribute"`` strings so that listing and validating plugins
never imports torch or a model library; the harness imports the factory only to run it.

The three live kinds:

* :class:`Task` gives :class:`Example` objects for its splits. Its manifest declares its
  modality, how many images an example holds, its head (classification, multiple-choice,
  soft-score or multi-label) and its random baseline.
* :class:`Encoder` (a ``torch.nn.Module``) turns a list of examples into a batch of CPU tensors
  (:meth:`Encoder.collate`) and a batch into one vector per *view* (:meth:`Encoder.forward`).
  A view is one image of a two-image example, or one answer choice of a multiple-choice one.
* :class:`Algorithm` is the research code of a continual-learning method. The runner (the
  engineering code) calls its hooks around training steps, epochs, task boundaries and
  evaluation, following CL-Gym's timeline, and checkpoints its :meth:`Algorithm.state_dict`.

Torch is imported lazily: ``from climb_harness.api import Encoder`` imports it, the rest of this
module does not.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, Union

import pluggy

if TYPE_CHECKING:  # pragma: no cover - imported for type checkers only
    import torch
    from PIL import Image

__all__ = [
    "API_VERSION",
    "Algorithm",
    "Component",
    "ComponentKind",
    "ContinualModelProtocol",
    "Encoder",
    "Example",
    "HeadSpec",
    "ImageLike",
    "OptimizerConfig",
    "Task",
    "TaskInfo",
    "TrainingContext",
    "algorithm",
    "encoder",
    "hookimpl",
    "load_image",
    "task",
]

#: The version of this API. A manifest's ``api_version`` must have the same major number and a
#: minor number no greater than this one.
API_VERSION = "1.0"

#: Marker for hook implementations in plugin modules: ``@hookimpl def climb_tasks(): ...``
hookimpl = pluggy.HookimplMarker("climb")

ComponentKind = Literal["task", "encoder", "algorithm"]
HeadType = Literal["classification", "multiple-choice", "soft-score", "multi-label"]
Modality = Literal["vision-language", "language", "vision"]

#: An image as a task hands it over: a file path, a PIL image, or an HxWxC uint8 array.
ImageLike = Union[str, "Image.Image", Any]


# --------------------------------------------------------------------------- components
@dataclasses.dataclass(frozen=True)
class Component:
    """A task, encoder or algorithm offered by a plugin.

    ``manifest`` is the JSON object checked against the kind's schema. ``factory`` builds the live
    object from the validated options: ``factory(options: dict) -> Task | Encoder | Algorithm``.
    Give it as ``"package.module:ClassName"`` so that nothing heavy is imported until it runs.
    """

    kind: ComponentKind
    manifest: Mapping[str, Any]
    factory: str | Callable[..., Any]

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", "<unnamed>"))


def task(manifest: Mapping[str, Any], factory: str | Callable[..., Any]) -> Component:
    """Declare a task component (``kind`` is filled in)."""
    return Component("task", {"kind": "task", **manifest}, factory)


def encoder(manifest: Mapping[str, Any], factory: str | Callable[..., Any]) -> Component:
    """Declare an encoder component (``kind`` is filled in)."""
    return Component("encoder", {"kind": "encoder", **manifest}, factory)


def algorithm(manifest: Mapping[str, Any], factory: str | Callable[..., Any]) -> Component:
    """Declare a continual-learning algorithm component (``kind`` is filled in)."""
    return Component("algorithm", {"kind": "algorithm", **manifest}, factory)


# --------------------------------------------------------------------------- tasks
@dataclasses.dataclass(frozen=True)
class Example:
    """One example, in raw form; the encoder turns a list of them into tensors.

    * ``text``: the question / sentence / context (``None`` for vision-only tasks).
    * ``images``: zero, one or two images (paths, PIL images or uint8 arrays).
    * ``choices``: the candidate answers of a multiple-choice example; each is paired with
      ``text`` (and the image) to make one view.
    * ``target``: class index (classification, multiple-choice); ``{label: score}`` soft scores
      (soft-score, e.g. VQA's 0.3/0.6/0.9/1.0); a list of label indices (multi-label).
    """

    text: str | None = None
    images: tuple[ImageLike, ...] = ()
    choices: tuple[str, ...] = ()
    target: int | Mapping[int, float] | Sequence[int] | None = None
    id: str | None = None


@dataclasses.dataclass(frozen=True)
class HeadSpec:
    """The output layer a task needs; the harness builds one head per task from it."""

    type: HeadType
    num_labels: int

    @classmethod
    def from_manifest(cls, head: Mapping[str, Any]) -> HeadSpec:
        if head["type"] == "multiple-choice":
            return cls("multiple-choice", int(head["num_choices"]))
        return cls(head["type"], int(head["num_labels"]))


@dataclasses.dataclass(frozen=True)
class TaskInfo:
    """What an encoder and an algorithm may know about a task without loading its data."""

    name: str
    modality: Modality
    images_per_example: int
    head: HeadSpec
    max_text_length: int | None = None

    @property
    def num_views(self) -> int:
        """Vectors the encoder returns per example: the images, or the choices, or one."""
        if self.head.type == "multiple-choice":
            return self.head.num_labels
        return max(1, self.images_per_example)

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> TaskInfo:
        return cls(
            name=manifest["name"],
            modality=manifest["modality"],
            images_per_example=int(manifest.get("images_per_example", 0)),
            head=HeadSpec.from_manifest(manifest["head"]),
            max_text_length=manifest.get("max_text_length"),
        )


class Task:
    """Base class of tasks. Subclasses implement :meth:`examples`.

    The factory is called with the validated options; the harness then sets :attr:`manifest`.
    ``examples(split)`` may return any sequence (a list, or a lazy sequence for large data sets);
    splits are ``"train"``, ``"val"`` (model selection) and ``"test"``.
    Raise :class:`FileNotFoundError` with the expected path and how to get the data when the
    data is missing: the harness reports it as a one-paragraph error.
    """

    manifest: Mapping[str, Any] = {}

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.options: dict[str, Any] = dict(options or {})

    @property
    def name(self) -> str:
        return str(self.manifest["name"])

    @property
    def info(self) -> TaskInfo:
        return TaskInfo.from_manifest(self.manifest)

    def examples(self, split: str) -> Sequence[Example]:  # pragma: no cover - abstract
        raise NotImplementedError(f"task {self.name!r} does not implement examples(split)")

    def fingerprint(self) -> str:
        """A string that changes when the data does; part of the reference cache key."""
        return ""


def load_image(image: ImageLike) -> Image.Image:
    """Open a task's image (path, PIL image or HxWxC uint8 array) as an RGB PIL image."""
    from PIL import Image

    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if isinstance(image, str):
        with Image.open(image) as img:
            return img.convert("RGB")
    return Image.fromarray(image).convert("RGB")


# --------------------------------------------------------------------------- runtime protocols
class ContinualModelProtocol(Protocol):
    """The model the runner builds: one encoder plus one head per task (an ``nn.Module``)."""

    encoder: Encoder
    heads: Any  # torch.nn.ModuleDict, task name -> head

    def forward(self, task: str, batch: Mapping[str, torch.Tensor]) -> torch.Tensor: ...

    def loss(self, task: str, batch: Mapping[str, torch.Tensor]) -> torch.Tensor: ...

    def parameters(self, recurse: bool = True) -> Iterator[torch.nn.Parameter]: ...


class TrainingContext(Protocol):
    """What the runner hands to every algorithm hook.

    ``batch(task, indices)`` returns the training examples at ``indices`` of ``task`` as a batch on
    the device, targets under the key ``"targets"``: replay memories keep indices, not tensors.
    ``optimizer_step(loss)`` does zero-grad, backward, clipping and the optimizer step exactly as
    the runner's own steps do (use it for extra steps, e.g. a replay step).
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

    @property
    def current_task(self) -> str: ...

    def num_train_examples(self, task: str) -> int: ...

    def batch_size(self, task: str) -> int: ...

    def batch(self, task: str, indices: Sequence[int]) -> dict[str, torch.Tensor]: ...

    def optimizer_step(self, loss: torch.Tensor) -> None: ...

    def train_batches(self, task: str, batch_size: int | None = None, epoch: int = 0) -> Iterator[list[int]]: ...


# --------------------------------------------------------------------------- algorithms
@dataclasses.dataclass
class OptimizerConfig:
    """An algorithm's own optimizer for one task (see :meth:`Algorithm.configure_optimizer`).

    ``schedule`` is how the harness drives its learning rate within the task: ``"linear-warmup"``
    (CLiMB's warm-up over ``training.warmup_ratio`` of the steps, then linear decay to zero) or
    ``"constant"`` (the learning rates the optimizer was built with, for every step).
    """

    optimizer: Any  # torch.optim.Optimizer
    schedule: Literal["linear-warmup", "constant"] = "linear-warmup"


class Algorithm:
    """Base class of continual-learning algorithms; every hook is optional.

    Order of calls in a run (``ctx`` is a :class:`TrainingContext`)::

        setup(ctx)                                  once, after the model is built
        for each task:
            on_task_start(ctx)                      then the runner builds the optimizer over
                                                    the parameters with requires_grad=True
                                                    (configure_optimizer(ctx, groups, lr), else AdamW)
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

    On ``--resume``, ``setup(ctx)`` then ``load_state_dict(state, ctx)`` run before the model's
    weights are loaded, so an algorithm that adds modules (adapters) re-creates them there.
    """

    manifest: Mapping[str, Any] = {}

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.options: dict[str, Any] = dict(options or {})

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", type(self).__name__))

    def setup(self, ctx: TrainingContext) -> None:
        """Prepare the model once (freeze parameters, attach modules)."""

    def on_task_start(self, ctx: TrainingContext) -> None:
        """Before training on ``ctx.current_task``; the optimizer is built right after."""

    def configure_optimizer(self, ctx: TrainingContext, param_groups: list[dict[str, Any]], lr: float) -> OptimizerConfig | None:
        """Override to train with another optimizer than the harness's (e.g. plain SGD).

        ``param_groups`` are the trainable parameters split as the harness splits them: a group with
        weight decay and one without (biases and normalisation layers), each with its
        ``weight_decay``; ``lr`` is the task's learning rate. Return ``None`` (the default) for the
        harness's AdamW (CLiMB's betas, eps and weight decay) with the linear warm-up schedule.
        """
        return None

    def training_batches(self, ctx: TrainingContext, epoch: int) -> Iterable[tuple[str, list[int]]] | None:
        """Override to train on other batches than the current task's (e.g. joint training)."""
        return None

    def selection_tasks(self, ctx: TrainingContext) -> Sequence[str] | None:
        """The tasks whose mean selection-split score picks the best epoch of the current task.

        ``None`` (the default) is the current task alone. A method trained on several tasks at once
        (e.g. joint training on every task seen so far) returns those tasks, so that the epoch it
        keeps is the best for what it was trained on. Only tasks seen so far may be named.
        """
        return None

    def training_loss(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> torch.Tensor:
        """The loss to minimise on one batch; add regularisers here (e.g. EWC)."""
        return ctx.model.loss(task, batch)

    def before_optimizer_step(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> None:
        """After backward, before the optimizer step: manipulate gradients here."""

    def after_optimizer_step(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> None:
        """After each optimizer step: extra steps, memory updates."""

    def on_epoch_end(self, ctx: TrainingContext, epoch: int) -> None:
        """After each epoch, before validation."""

    def on_task_end(self, ctx: TrainingContext) -> None:
        """After a task (best weights restored): consolidate, fill memories."""

    def before_evaluate(self, ctx: TrainingContext, task: str) -> None:
        """Before the model is evaluated on ``task`` (e.g. activate the task's adapter)."""

    def state_dict(self) -> dict[str, Any]:
        """Checkpointable state: a flat dict of tensors and JSON-serialisable values."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any], ctx: TrainingContext) -> None:
        """Restore :meth:`state_dict`'s output on resume (after :meth:`setup`)."""


def __getattr__(name: str) -> Any:
    """``Encoder`` subclasses ``torch.nn.Module``: import torch only when it is asked for."""
    if name == "Encoder":
        from climb_harness._encoder import Encoder

        return Encoder
    raise AttributeError(f"module 'climb_harness.api' has no attribute {name!r}")


if TYPE_CHECKING:  # pragma: no cover
    from climb_harness._encoder import Encoder
