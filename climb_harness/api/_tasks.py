"""Task types: what a task hands the harness (examples), what its manifest says (heads, modality)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Union

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

#: The task heads of ``schemas/task.schema.json`` (built by :mod:`climb_harness.core.heads`).
HeadType = Literal["classification", "multiple-choice", "soft-score", "multi-label"]
#: What a task's examples hold: text and images, text only, or images only.
Modality = Literal["vision-language", "language", "vision"]

#: An image as a task hands it over: a file path, a PIL image, or an HxWxC uint8 array.
ImageLike = Union[str, "Image.Image", Any]


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
            nothing. Intervals resample whole groups (:mod:`climb_harness.core.confidence`), so a task that
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

    The heads (:mod:`climb_harness.core.heads`): ``classification``, ``soft-score`` and
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
