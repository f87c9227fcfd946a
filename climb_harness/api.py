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
  It must set ``hidden_size`` (the width of those vectors; the task heads are built from it) and
  may list ``layer_groups()``: parameter-name prefixes relative to the encoder, bottom-up.
* :class:`Algorithm` is the research code of a continual-learning method. The runner (the
  engineering code) calls its hooks around training steps, epochs, task boundaries and
  evaluation, following CL-Gym's timeline, and checkpoints its :meth:`Algorithm.state_dict`.

The harness builds every component the same way: it fills the option schema's defaults into the
options a config gives, validates them, calls ``factory(options)``, and then sets the object's
``manifest`` to the validated manifest (so ``self.manifest`` is not yet set inside ``__init__``).

A minimal plugin module, registering one algorithm::

    from climb_harness.api import API_VERSION, algorithm, hookimpl

    @hookimpl
    def climb_algorithms():
        return [algorithm({"name": "my-method", "api_version": API_VERSION, "summary": "...",
                           "family": "regularisation", "paper": "...",
                           "options": {"type": "object", "properties": {}}},
                          "climb_my_method.method:MyMethod")]

Torch is imported lazily: ``from climb_harness.api import Encoder`` imports it, the rest of this
module does not.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, Union

import pluggy

from climb_harness import _prompting as prompting  # the prompt-tuning / prefix-tuning contract (no torch)
from climb_harness._bounded_json import JsonLimits
from climb_harness._datakit import (DATA_LIMITS, DataError, DataFile, DataRecord, MissingDataError, clip_repr,
                                    clip_text, closest_name, data_fingerprint, data_options,
                                    fingerprint_options, held_out_groups, option_defaults, read_cached,
                                    unknown_split)
from climb_harness._datapaths import (DEFAULT_MAX_PIXELS, FolderListing, ImagePath, find_layout, list_folder,
                                      misplaced_hint, require_files, resolve_inside)

if TYPE_CHECKING:  # pragma: no cover - imported for type checkers only
    import torch
    from PIL import Image

__all__ = [
    "API_VERSION",
    "DATA_ROOT_ENV",
    "DataError",
    "UnreadableImageError",
    "cache_dir",
    "data_dir",
    "files_fingerprint",
    "stratified_sample",
    "Algorithm",
    "Logger",
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
    "logger",
    "encoder",
    "hookimpl",
    "load_image",
    "task",
    # the data toolkit for task authors (climb_harness._datakit and _datapaths; standard library only)
    "DATA_LIMITS",
    "DEFAULT_MAX_PIXELS",
    "DataFile",
    "DataRecord",
    "FolderListing",
    "ImagePath",
    "JsonLimits",
    "MissingDataError",
    "clip_repr",
    "clip_text",
    "closest_name",
    "data_fingerprint",
    "data_options",
    "find_layout",
    "fingerprint_options",
    "held_out_groups",
    "list_folder",
    "misplaced_hint",
    "option_defaults",
    "read_cached",
    "require_files",
    "resolve_inside",
    "unknown_split",
    # the memory toolkit for method authors (climb_harness._memory; imported with torch on first use)
    "ClassBalancedMemory",
    "Entry",
    "ReservoirMemory",
    "TaskMemory",
    "budget_share",
    "sample_without_replacement",
    "seeded_generator",
    # the contract of the capabilities "prompt-tuning" and "prefix-tuning" (climb_harness._prompting)
    "prompting",
]

#: What :mod:`climb_harness._memory` gives method authors (loaded on first use: it imports torch).
_MEMORY_NAMES = frozenset({"ClassBalancedMemory", "Entry", "ReservoirMemory", "TaskMemory", "budget_share",
                           "sample_without_replacement", "seeded_generator"})

#: The version of this API (``"MAJOR.MINOR"``). A manifest's ``api_version`` is accepted when its
#: major number equals this one's and its minor number is not greater (a plugin written for 1.0
#: runs on a 1.3 harness, not the other way round); write ``"api_version": API_VERSION``.
#: 1.1 added ``Task.required_paths``, ``data_dir``, ``cache_dir``, ``stratified_sample``,
#: ``DataError`` and the manifest fields ``provides``, ``requires``, ``test_options`` and ``data.layout``.
#: 1.2 added ``UnreadableImageError`` (raised by ``load_image``), the manifest field ``defaults.low_shot``,
#: and loggers (``logger``, ``Logger``, the ``climb_loggers`` hook).
#: 1.3 added the algorithm manifest field ``data_parallel`` and ``TrainingContext.rank`` / ``world_size``.
#: 1.4 added ``Example.group``, ``ContinualModelProtocol.head_loss`` and the memory toolkit (``TaskMemory``,
#: ``ReservoirMemory``, ``ClassBalancedMemory``, ``budget_share``, ``sample_without_replacement``, ``seeded_generator``)
#: and ``prompting``, the contract of the encoder capabilities ``prompt-tuning`` and ``prefix-tuning``; the data
#: toolkit for task authors (``DataFile``, ``DataRecord``, ``MissingDataError``, ``data_options``, ``read_cached``,
#: ``resolve_inside``, ``find_layout``, ``misplaced_hint``, ``closest_name``, ``clip_text``, ...), ``load_image``'s
#: ``max_pixels`` and ``data_dir``'s ``task``.
API_VERSION = "1.4"

#: Marker for hook implementations in plugin modules: ``@hookimpl def climb_tasks(): ...``.
#: The hooks are listed in :mod:`climb_harness.hookspecs`. Any function of a plugin module whose
#: name starts with ``climb_`` counts as a hook implementation, marked or not, so a misspelled
#: hook name makes the plugin invalid instead of never being called.
hookimpl = pluggy.HookimplMarker("climb")

#: The three kinds of component: ``"task"``, ``"encoder"`` and ``"algorithm"``.
ComponentKind = Literal["task", "encoder", "algorithm"]
#: The task heads of ``schemas/task.schema.json`` (built by :mod:`climb_harness.heads`).
HeadType = Literal["classification", "multiple-choice", "soft-score", "multi-label"]
#: What a task's examples hold: text and images, text only, or images only.
Modality = Literal["vision-language", "language", "vision"]

#: An image as a task hands it over: a file path, a PIL image, or an HxWxC uint8 array.
ImageLike = Union[str, "Image.Image", Any]


# --------------------------------------------------------------------------- components
@dataclasses.dataclass(frozen=True)
class Component:
    """A task, encoder, algorithm or logger offered by a plugin.

    Build it with :func:`task`, :func:`encoder` or :func:`algorithm` rather than directly: they fill
    in the manifest's ``kind``.

    Attributes:
        kind: ``"task"``, ``"encoder"`` or ``"algorithm"``; it must match the hook that returns the
            component (``climb_tasks``, ``climb_encoders``, ``climb_algorithms``).
        manifest: The JSON object checked against ``schemas/<kind>.schema.json`` (unknown fields are
            errors). Its ``options`` is the JSON schema of the component's options: every property
            has a ``default`` that satisfies the property's own schema.
        factory: Builds the live object from the validated options, with their defaults filled in:
            ``factory(options: dict) -> Task | Encoder | Algorithm``. Give it as
            ``"package.module:ClassName"`` (dotted attributes allowed after the colon) so that
            nothing heavy is imported until it runs; a callable is accepted too.

    Example:
        >>> c = Component("task", {"name": "my-task"}, "climb_my_task.task:MyTask")
        >>> c.name
        'my-task'
        >>> Component("task", {}, "m:f").name
        '<unnamed>'
    """

    kind: ComponentKind
    manifest: Mapping[str, Any]
    factory: str | Callable[..., Any]

    @property
    def name(self) -> str:
        """The manifest's ``name`` (``"<unnamed>"`` when it has none, which fails validation).

        Returns:
            The component's name as configs and ``climb list`` spell it.
        """
        return str(self.manifest.get("name", "<unnamed>"))


def task(manifest: Mapping[str, Any], factory: str | Callable[..., Any]) -> Component:
    """Declare a task component (``kind`` is filled in).

    Args:
        manifest: The task manifest (``schemas/task.schema.json``): ``name``, ``api_version``,
            ``summary``, ``modality``, ``images_per_example``, ``head``, ``metric``,
            ``random_baseline`` and optionally ``options``, ``defaults``, ``splits``, ...
            A ``kind`` it already holds wins over the filled-in one (and must be ``"task"``).
        factory: ``"module:attribute"`` naming a callable that takes the options dict and returns
            a :class:`Task` (usually the class itself), or that callable.

    Returns:
        The component, to return in a list from a ``climb_tasks`` hook. Nothing is validated here:
        the registry validates the manifest when it collects the component.

    Example:
        >>> c = task({"name": "my-task"}, "climb_my_task.task:MyTask")
        >>> c.kind, c.manifest["kind"], c.factory
        ('task', 'task', 'climb_my_task.task:MyTask')
    """
    return Component("task", {"kind": "task", **manifest}, factory)


def encoder(manifest: Mapping[str, Any], factory: str | Callable[..., Any]) -> Component:
    """Declare an encoder component (``kind`` is filled in).

    Args:
        manifest: The encoder manifest (``schemas/encoder.schema.json``), e.g. ``name``,
            ``api_version``, ``summary``, the modalities it handles and its ``options``.
            A ``kind`` it already holds wins over the filled-in one (and must be ``"encoder"``).
        factory: ``"module:attribute"`` naming a callable that takes the options dict and returns
            an :class:`Encoder`, or that callable.

    Returns:
        The component, to return in a list from a ``climb_encoders`` hook.

    Example:
        >>> encoder({"name": "my-encoder"}, "climb_my_encoder.encoder:MyEncoder").manifest["kind"]
        'encoder'
    """
    return Component("encoder", {"kind": "encoder", **manifest}, factory)


def algorithm(manifest: Mapping[str, Any], factory: str | Callable[..., Any]) -> Component:
    """Declare a continual-learning algorithm component (``kind`` is filled in).

    Args:
        manifest: The algorithm manifest (``schemas/algorithm.schema.json``), e.g. ``name``,
            ``api_version``, ``summary``, ``family``, ``paper`` and ``options``.
            A ``kind`` it already holds wins over the filled-in one (and must be ``"algorithm"``).
        factory: ``"module:attribute"`` naming a callable that takes the options dict and returns
            an :class:`Algorithm`, or that callable.

    Returns:
        The component, to return in a list from a ``climb_algorithms`` hook.

    Example:
        >>> algorithm({"name": "my-method"}, "climb_my_method.method:MyMethod").kind
        'algorithm'
    """
    return Component("algorithm", {"kind": "algorithm", **manifest}, factory)


def logger(manifest: Mapping[str, Any], factory: str | Callable[..., Any]) -> Component:
    """Declare a logger component (``kind`` is filled in).

    Args:
        manifest: The logger manifest (``schemas/logger.schema.json``): ``name``, ``api_version``,
            ``summary``, ``options`` and optionally ``requires_packages`` and ``install``.
        factory: ``"module:attribute"`` naming a callable that takes the options dict and returns
            a :class:`Logger`, or that callable.

    Returns:
        The component, to return in a list from a ``climb_loggers`` hook.

    Example:
        >>> logger({"name": "my-logger"}, "climb_my_logger:MyLogger").kind
        'logger'
    """
    return Component("logger", {"kind": "logger", **manifest}, factory)


class Logger:
    """Base class of loggers: one object per run of an experiment whose config enables it.

    The runner calls the methods below with deep read-only copies of what it has (``run`` holds
    ``output_dir``, ``algorithm``, ``seed``, ``tasks`` and ``config``); a logger writes under
    ``run["output_dir"]`` or wherever its options say. It cannot change the run: an exception it
    raises is reported once as a warning naming it, and the run goes on. Every method is optional.
    """

    manifest: Mapping[str, Any] = {}

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.options: dict[str, Any] = dict(options or {})

    def run_start(self, run: Mapping[str, Any]) -> None:
        """A run (or a resumed run) begins."""

    def task_start(self, run: Mapping[str, Any], task_index: int, task: str) -> None:
        """Training on ``task`` begins."""

    def epoch_end(self, run: Mapping[str, Any], task_index: int, task: str, epoch: int, logs: Mapping[str, float]) -> None:
        """An epoch ended: ``logs`` as the ``climb_epoch_end`` hook receives it."""

    def task_end(self, run: Mapping[str, Any], task_index: int, task: str, scores: Mapping[str, float]) -> None:
        """Learning ``task`` ended; ``scores`` is the accuracy-matrix row."""

    def run_end(self, run: Mapping[str, Any], results: Mapping[str, Any]) -> None:
        """The run finished; ``results`` is what results.json holds."""

    def close(self) -> None:
        """The run is over (finished, failed or interrupted): flush and close files."""


# --------------------------------------------------------------------------- tasks
@dataclasses.dataclass(frozen=True)
class Example:
    """One example, in raw form; the encoder turns a list of them into tensors.

    Attributes:
        text: The question / sentence / context (``None`` for vision-only tasks).
        images: Zero, one or two images (paths, PIL images or HxWxC uint8 arrays; see
            :func:`load_image`), as many as the manifest's ``images_per_example``.
        choices: The candidate answers of a multiple-choice example (``head.num_choices`` of
            them); each is paired with ``text`` (and the image) to make one view.
        target: The label, by head type: a class index in ``[0, num_labels)`` (classification);
            the index of the right choice (multiple-choice); ``{label: score}`` soft scores in
            [0, 1] (soft-score, e.g. VQA's 0.3/0.6/0.9/1.0); a list of label indices (multi-label).
        id: An optional identifier, for the task's own bookkeeping.
        group: What this example shares with others so that their scores are not independent, usually
            its image (VQA questions about one picture) or image pair (NLVR2); ``None``: it shares
            nothing. Intervals resample whole groups (:mod:`climb_harness.confidence`), so a task that
            leaves it out when its examples do share images gets intervals that are too narrow.

    Example:
        >>> Example(text="what shape is this?", images=("img/0.png",), target=2).target
        2
        >>> Example(text="is it red?", choices=("yes", "no"), target=0).choices
        ('yes', 'no')
    """

    text: str | None = None
    images: tuple[ImageLike, ...] = ()
    choices: tuple[str, ...] = ()
    target: int | Mapping[int, float] | Sequence[int] | None = None
    id: str | None = None
    group: str | int | None = None


@dataclasses.dataclass(frozen=True)
class HeadSpec:
    """The output layer a task needs; the harness builds one head per task from it.

    The heads (:mod:`climb_harness.heads`): ``classification``, ``soft-score`` and
    ``multi-label`` tasks get an MLP over the concatenated view vectors
    (``Linear(hidden*views, 2*hidden) -> LayerNorm -> GELU -> Linear(2*hidden, num_labels)``);
    ``multiple-choice`` tasks get ``Dropout(0.1) -> Linear(hidden, 1)`` per choice. Their losses:
    cross-entropy (classification, multiple-choice), binary cross-entropy times ``num_labels``
    (soft-score, as in VQA), binary cross-entropy (multi-label).

    Attributes:
        type: ``"classification"``, ``"multiple-choice"``, ``"soft-score"`` or ``"multi-label"``.
        num_labels: The number of outputs: the labels, or the choices of a multiple-choice head.
    """

    type: HeadType
    num_labels: int

    @classmethod
    def from_manifest(cls, head: Mapping[str, Any]) -> HeadSpec:
        """Read a task manifest's ``head`` object.

        Args:
            head: ``{"type": ..., "num_labels": n}``, or ``{"type": "multiple-choice",
                "num_choices": n}``.

        Returns:
            The spec; for multiple-choice, ``num_labels`` is ``num_choices``.

        Raises:
            KeyError: When ``type`` or the count is missing (the schema rejects such a manifest).

        Example:
            >>> HeadSpec.from_manifest({"type": "multiple-choice", "num_choices": 4})
            HeadSpec(type='multiple-choice', num_labels=4)
            >>> HeadSpec.from_manifest({"type": "soft-score", "num_labels": 3129}).num_labels
            3129
        """
        if head["type"] == "multiple-choice":
            return cls("multiple-choice", int(head["num_choices"]))
        return cls(head["type"], int(head["num_labels"]))


@dataclasses.dataclass(frozen=True)
class TaskInfo:
    """What an encoder and an algorithm may know about a task without loading its data.

    Attributes:
        name: The task's name.
        modality: ``"vision-language"``, ``"language"`` or ``"vision"``.
        images_per_example: 0, 1 or 2.
        head: The task's head.
        max_text_length: The manifest's ``max_text_length`` (a hint for tokenisers), if any.
    """

    name: str
    modality: Modality
    images_per_example: int
    head: HeadSpec
    max_text_length: int | None = None

    @property
    def num_views(self) -> int:
        """Vectors the encoder returns per example: the images, or the choices, or one.

        Returns:
            ``head.num_labels`` (the choices) for a multiple-choice task, else
            ``max(1, images_per_example)``.

        Example:
            >>> TaskInfo("nlvr2", "vision-language", 2, HeadSpec("classification", 2)).num_views
            2
            >>> TaskInfo("vcr", "vision-language", 1, HeadSpec("multiple-choice", 4)).num_views
            4
            >>> TaskInfo("piqa", "language", 0, HeadSpec("classification", 2)).num_views
            1
        """
        if self.head.type == "multiple-choice":
            return self.head.num_labels
        return max(1, self.images_per_example)

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> TaskInfo:
        """Read a task manifest.

        Args:
            manifest: A task manifest (``images_per_example`` defaults to 0).

        Returns:
            The task's info.

        Raises:
            KeyError: When ``name``, ``modality`` or ``head`` is missing.

        Example:
            >>> info = TaskInfo.from_manifest({"name": "easyvqa-shape", "modality": "vision-language",
            ...     "images_per_example": 1, "head": {"type": "classification", "num_labels": 3}})
            >>> info.head, info.num_views
            (HeadSpec(type='classification', num_labels=3), 1)
        """
        return cls(
            name=manifest["name"],
            modality=manifest["modality"],
            images_per_example=int(manifest.get("images_per_example", 0)),
            head=HeadSpec.from_manifest(manifest["head"]),
            max_text_length=manifest.get("max_text_length"),
        )


class Task:
    """Base class of tasks. Subclasses implement :meth:`examples`.

    The factory is called with the validated options, the option schema's defaults filled in; the
    harness then sets :attr:`manifest` (so it is not set yet inside ``__init__``). ``examples(split)``
    may return any sequence (a list, or a lazy sequence for large data sets); splits are
    ``"train"``, ``"val"`` (model selection: the protocol's ``selection_split``) and ``"test"``
    (every reported score: the protocol's ``report_split``).

    Attributes:
        manifest: The validated task manifest (with ``kind``), set by the harness after the factory
            returns; the class attribute is an empty dict.
        options: The component's options as the factory received them (a copy).

    Example:
        >>> class Parity(Task):
        ...     def examples(self, split):
        ...         return [Example(text=str(i), target=i % 2) for i in range(4)]
        >>> t = Parity({"size": 4})
        >>> t.manifest = {"name": "parity", "modality": "language", "images_per_example": 0,
        ...               "head": {"type": "classification", "num_labels": 2}}
        >>> t.name, t.options, t.info.num_views, len(t.examples("train"))
        ('parity', {'size': 4}, 1, 4)
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
        """The manifest's ``name``.

        Returns:
            The task's name.

        Raises:
            KeyError: Before the harness has set the manifest (e.g. inside ``__init__``).
        """
        return str(self.manifest["name"])

    @property
    def info(self) -> TaskInfo:
        """The :class:`TaskInfo` of the manifest (what encoders and algorithms see).

        Returns:
            ``TaskInfo.from_manifest(self.manifest)``.
        """
        return TaskInfo.from_manifest(self.manifest)

    def examples(self, split: str) -> Sequence[Example]:  # pragma: no cover - abstract
        """The examples of one split.

        The runner loads the training, selection and report splits once per run, before training.
        Every split it uses must be non-empty; targets must fit the head (see :class:`Example`).

        Args:
            split: ``"train"``, ``"val"`` or ``"test"``.

        Returns:
            A sequence (``len`` and integer indexing) of :class:`Example`; replay memories address
            training examples by their index in it, so the order must be the same every time.

        Raises:
            FileNotFoundError: When the data is missing; name the expected path and how to get the
                data: the harness reports it as a one-paragraph error (and the conformance kit
                skips, not fails, the split).
            NotImplementedError: In this base class.
        """
        raise NotImplementedError(f"task {self.name!r} does not implement examples(split)")

    def fingerprint(self) -> str:
        """A string that changes when the data does; part of the reference cache key.

        Returns:
            E.g. a hash of the data files' sizes and modification times; ``""`` (the default) when
            the data is fixed by the distribution's version.
        """
        return ""

    def required_paths(self) -> Sequence[Path]:
        """The files and folders this task reads, in its official release layout (``climb data check``).

        Must not read the data: ``climb data check`` calls it to say which are missing before anything
        is loaded. Folders count as present when they exist; the check does not list their contents.

        Returns:
            Absolute paths; ``()`` (the default) when the task's data ships with its distribution.

        Example:
            >>> class Local(Task):
            ...     def required_paths(self):
            ...         return [Path("/data/local/train.jsonl")]
            >>> [str(p) for p in Local().required_paths()]
            ['/data/local/train.jsonl']
        """
        return ()


class UnreadableImageError(DataError):
    """An image file of a task is missing or cannot be decoded (:func:`load_image` raises it).

    The runner stops with it (one paragraph naming the file), or, when the experiment opts in with
    ``training.skip_unreadable_images: true``, leaves the examples using the file out and counts them
    in results.json's ``skipped_examples``. Never a silent wrong label.

    Attributes:
        path: The file that could not be read.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        super().__init__(
            f"The image file {path} cannot be read ({reason}). Replace it with a good copy from the data "
            "set's release, or set training.skip_unreadable_images: true in the experiment config to leave "
            "out the examples that use it (they are counted in results.json under skipped_examples)."
        )

    def __reduce__(self) -> tuple[Any, ...]:  # DataLoader workers pickle it back to the main process
        return (_unreadable, (self.path, str(self)))


def _unreadable(path: str, message: str) -> UnreadableImageError:
    error = UnreadableImageError.__new__(UnreadableImageError)
    Exception.__init__(error, message)
    error.path = path
    return error


#: The environment variable naming the folder that holds every task's data folder.
DATA_ROOT_ENV = "CLIMB_DATA_ROOT"


def data_dir(given: str | os.PathLike[str] | None, folder: str, task: str | None = None) -> Path:
    """A task's data folder: the ``data_dir`` option if given, else ``$CLIMB_DATA_ROOT/<folder>``.

    No absolute path lives in code: a user points at the data with the option or the variable.

    Args:
        given: The task's ``data_dir`` option (``None``: use the environment variable).
        folder: The task's folder under the data root (conventionally its registry name; tasks
            reading one release may share it).
        task: The task's registry name, for the command the error suggests (default: ``folder``).

    Returns:
        The folder (not checked for existence).

    Raises:
        FileNotFoundError: When neither is set; the message says how to set either.

    Example:
        >>> str(data_dir("/data/vqa", "vqav2"))
        '/data/vqa'
    """
    if given:
        return Path(given).expanduser()
    root = os.environ.get(DATA_ROOT_ENV)
    if not root:
        raise FileNotFoundError(
            f"no data folder for {task or folder!r}: set the task's data_dir option, or the environment "
            f"variable {DATA_ROOT_ENV} to a folder DIR holding {folder}/ (`climb data check {task or folder} "
            f"--data-root DIR` says what is expected under DIR/{folder}/)"
        )
    return Path(root).expanduser() / folder


def cache_dir(*parts: str) -> Path:
    """The harness's cache folder (``$CLIMB_CACHE_DIR``, else ``$XDG_CACHE_HOME/climb-harness``, else
    ``~/.cache/climb-harness``), or a subfolder of it, created if missing.

    Plugins keep derived data here (e.g. an answer vocabulary), keyed by the contents they derive from.

    Args:
        *parts: Subfolder names (e.g. ``"vqav2"``).

    Returns:
        The folder.
    """
    if env := os.environ.get("CLIMB_CACHE_DIR"):
        root = Path(env)
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "climb-harness"
    folder = root.joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def files_fingerprint(paths: Iterable[Path | str]) -> str:
    """A short hash of files' names, sizes and modification times (``missing`` for an absent one).

    What :meth:`Task.fingerprint` needs to notice changed data without reading it: cheap enough to
    compute for every run, and it never raises.

    Args:
        paths: The files (e.g. a task's annotation files), in a fixed order.

    Returns:
        16 hex characters.

    Example:
        >>> files_fingerprint(["/no/such/file.json"]) == files_fingerprint(["/no/such/file.json"])
        True
    """
    import hashlib

    digest = hashlib.sha256()
    for path in map(Path, paths):
        try:
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
        except OSError:
            digest.update(f"{path.name}:missing;".encode())
    return digest.hexdigest()[:16]


def stratified_sample(labels: Sequence[Any], n: int | None, seed: int | str) -> list[int]:
    """Indices of ``n`` items drawn at random keeping each label's share; all of them if ``n`` is None.

    For tasks that offer a ``max_*_examples`` option: each label gets ``n * share`` items, rounded by
    largest remainder, and the result is sorted, so the sample keeps the data's order and is a
    function of ``(labels, n, seed)`` alone.

    Args:
        labels: One hashable label per item (any hashable: a class index, an answer string).
        n: How many to keep (``None`` or at least ``len(labels)``: all).
        seed: Seeds ``random.Random``.

    Returns:
        Sorted indices into ``labels``.

    Example:
        >>> labels = ["a", "a", "a", "b", "b", "b"]
        >>> sorted(labels[i] for i in stratified_sample(labels, 2, seed=0))
        ['a', 'b']
    """
    import math
    import random

    if n is None or n >= len(labels):
        return list(range(len(labels)))
    rng = random.Random(seed)
    groups: dict[Any, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(label, []).append(i)
    keys = sorted(groups, key=repr)
    quotas = {k: n * len(groups[k]) / len(labels) for k in keys}
    counts = {k: math.floor(quotas[k]) for k in keys}
    for k in sorted(keys, key=lambda k: (-(quotas[k] - counts[k]), repr(k)))[: n - sum(counts.values())]:
        counts[k] += 1
    chosen: list[int] = []
    for k in keys:
        chosen.extend(rng.sample(groups[k], counts[k]))
    return sorted(chosen)


def load_image(image: ImageLike, max_pixels: int | None = None) -> Image.Image:
    """Open a task's image (path, PIL image or HxWxC uint8 array) as an RGB PIL image.

    A file's size is read from its header first: an image of more than ``max_pixels`` (width times
    height) is refused before anything is decoded, so a decompression bomb (a small file that
    decodes to GBs) costs nothing. The limit is the argument if given, else the one the path carries
    (an :class:`ImagePath`: its task's ``max_image_pixels`` option), else :data:`DEFAULT_MAX_PIXELS`.

    Args:
        image: A file path, a PIL image, or an HxWxC (or HxW) uint8 array.
        max_pixels: The largest image decoded from a file (``None``: see above).

    Returns:
        An RGB ``PIL.Image.Image`` (a converted copy; a file is closed before returning). The whole
        file is decoded here, so a truncated file fails here and not later.

    Raises:
        UnreadableImageError: When a path does not exist, is not a regular file, is larger than the
            limit or is not a readable image (a ``DataError`` naming the file;
            ``training.skip_unreadable_images`` decides whether the run stops).

    Example:
        >>> import numpy as np
        >>> img = load_image(np.zeros((2, 3, 3), dtype=np.uint8))
        >>> img.mode, img.size
        ('RGB', (3, 2))
    """
    import stat
    import warnings

    from PIL import Image

    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if isinstance(image, (str, os.PathLike)):
        path = os.fspath(image)
        limit = max_pixels or getattr(image, "max_pixels", None) or DEFAULT_MAX_PIXELS
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                raise UnreadableImageError(path, "it is not a regular file (a folder, a device or a pipe)")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the limit below is stricter
                with Image.open(path) as img:
                    width, height = img.size
                    if width * height > limit:
                        raise UnreadableImageError(
                            path, f"it is {width} x {height} = {width * height:,} pixels, more than the "
                            f"{limit:,} its task decodes at most, a guard against decompression bombs; if "
                            "the image is genuine, raise the task option max_image_pixels")
                    return img.convert("RGB")
        except (FileNotFoundError, NotADirectoryError):
            raise UnreadableImageError(path, "no such file") from None
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            if isinstance(exc, UnreadableImageError):
                raise
            raise UnreadableImageError(path, f"{type(exc).__name__}: {str(exc)[:200]}") from None
    return Image.fromarray(image).convert("RGB")


# --------------------------------------------------------------------------- runtime protocols
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


def __getattr__(name: str) -> Any:
    """``Encoder`` and the memory toolkit need torch: import it only when one of them is asked for.

    Args:
        name: The attribute asked for.

    Returns:
        :class:`climb_harness._encoder.Encoder` for ``"Encoder"``; the memory toolkit's names from
        :mod:`climb_harness._memory`.

    Raises:
        AttributeError: For any other name.
    """
    if name == "Encoder":
        from climb_harness._encoder import Encoder

        return Encoder
    if name in _MEMORY_NAMES:  # the memory toolkit holds tensors
        from climb_harness import _memory

        return getattr(_memory, name)
    raise AttributeError(f"module 'climb_harness.api' has no attribute {name!r}")


if TYPE_CHECKING:  # pragma: no cover
    from climb_harness._encoder import Encoder
    from climb_harness._memory import (ClassBalancedMemory, Entry, ReservoirMemory, TaskMemory, budget_share,
                                       sample_without_replacement, seeded_generator)
