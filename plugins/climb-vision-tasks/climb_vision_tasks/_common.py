"""What the six vision tasks share: manifest and option builders, errors, split carving, lazy example lists.

Standard library only at import time (``climb list`` imports every task module through the hook
module); numpy, Pillow and scikit-learn are imported by the tasks that need them, when data is read.

Splits, for every task of this distribution:

* ``train``: the official training split minus what is held out for ``val``;
* ``val`` (model selection): a deterministic, per-class hold-out of the official training split
  (CLiMB's 50 images per class for the large sets; see each task);
* ``test`` (every reported score): the official validation / test split.

The hold-out is a fixed function of the official file list (seeded ``random.Random`` per class), so
train and val are disjoint, together cover the official train exactly, and are the same on every
machine. Examples are built lazily (:class:`ExampleList`): a split keeps relative paths and targets,
not 1.28 million ``Example`` objects, and never a decoded image.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from climb_harness.api import (API_VERSION, DataError, DataFile, Example, MissingDataError, Task, data_dir,
                               data_fingerprint, data_options, files_fingerprint, misplaced_hint,
                               option_defaults, stratified_sample, unknown_split)
from climb_harness.api import clip_text as clip
from climb_vision_tasks import __version__

#: CLiMB's fine-tuning settings for its vision tasks.
DEFAULTS: dict[str, Any] = {"epochs": 10, "lr": 4e-5, "batch_size": 32}

#: The harness splits, and what they are made of.
SPLITS = ("train", "val", "test")

DISTRIBUTION = "climb-vision-tasks"


# --------------------------------------------------------------------------- errors
class VisionDataError(DataError):
    """A file of a vision task's release in the wrong form; each task has its own subclass."""


#: A file or folder of the release is missing (the toolkit's MissingDataError: a ``FileNotFoundError``
#: too, so ``climb check`` skips rather than fails, and the runner reports it as missing data).
MissingDataFile = MissingDataError


def missing(task: str, path: Path | str, layout: str, how_to_get: str) -> MissingDataFile:
    """The error for a missing file or folder of ``task``'s release."""
    return MissingDataFile(
        f"{task} data not found: {path} does not exist. Expected layout: {layout}. How to get it: {how_to_get} "
        f"(`climb data check {task}` lists what is missing)."
    )


def _file(path: Path, error: type[VisionDataError], task: str, how_to_get: str) -> DataFile:
    return DataFile(path, f"{task} data file", fix=f"re-download it: {how_to_get}.", error=error)


def read_json(path: Path, error: type[VisionDataError], task: str, layout: str, how_to_get: str) -> Any:
    """Parse a JSON file within the toolkit's limits, naming it and the line on any failure (missing:
    :class:`MissingDataFile`)."""
    try:
        return _file(path, error, task, how_to_get).read_json()
    except FileNotFoundError:
        raise missing(task, path, layout, how_to_get) from None


def read_lines(path: Path, task: str, layout: str, how_to_get: str,
               error: type[VisionDataError] | None = None) -> list[str]:
    """The lines of a text file (UTF-8, size-bounded), missing: :class:`MissingDataFile`."""
    try:
        return _file(path, error or VisionDataError, task, how_to_get).read_text().splitlines()
    except FileNotFoundError:
        raise missing(task, path, layout, how_to_get) from None


def require_dir(path: Path, task: str, layout: str, how_to_get: str) -> Path:
    """``path`` itself when it is a folder, else :class:`MissingDataFile` for it."""
    if not path.is_dir():
        raise missing(task, path, layout, how_to_get)
    return path


# --------------------------------------------------------------------------- COCO-style annotation files
def record_field(
    error: type[VisionDataError],
    label: str,
    path: Path,
    where: str,
    record: Any,
    field: str,
    kind: type | tuple[type, ...],
) -> Any:
    """``record[field]``, which must be of type ``kind`` (never a bool); else ``error`` naming the
    data set (``label``), the file, the record and the field."""
    if not isinstance(record, dict) or field not in record:
        raise error(f"{label} file {path}, {where}: the field {field!r} is missing.")
    value = record[field]
    if isinstance(value, bool) or not isinstance(value, kind):
        raise error(f"{label} file {path}, {where}, field {field!r}: {clip(repr(value))} is not valid.")
    return value


def read_coco_style(
    path: Path, error: type[VisionDataError], label: str, task: str, layout: str, how_to_get: str
) -> tuple[dict[str, Any], list[tuple[int, str]]]:
    """A COCO-style JSON file (an object with the lists ``images``, ``annotations`` and ``categories``)
    -> ``(the object, categories [(id, name)] sorted by id)``; any other form: ``error``."""
    data = read_json(path, error, task, layout, how_to_get)
    if not isinstance(data, dict):
        raise error(f"{label} file {path} holds a JSON {type(data).__name__}, not an object.")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise error(f"{label} file {path}: the list {key!r} is missing.")
    categories = sorted(
        (record_field(error, label, path, f"categories[{i}]", c, "id", int), str(c.get("name", "")))
        for i, c in enumerate(data["categories"])
    )
    return data, categories


# --------------------------------------------------------------------------- manifests
def options_schema(folder: str, train_note: str, data_dir_note: str | None = None) -> dict[str, Any]:
    """The options every file-based task takes: ``data_dir``, ``max_train_examples``, ``max_eval_examples``."""
    return data_options(
        data_dir_note or f"The release folder (see data.layout); null = $CLIMB_DATA_ROOT/{folder}.",
        max_train=f"Seeded, label-stratified sample of the train split (null = all {train_note}) for short "
        "runs.",
    )


#: The options' defaults.
defaults_of = option_defaults


def release_manifest(
    *,
    name: str,
    summary: str,
    description: str,
    num_labels: int,
    random_baseline: float,
    source: str,
    license: str,
    citation: str,
    how_to_get: str,
    layout: str,
    options: Mapping[str, Any],
    head_type: str = "classification",
    metric: str | None = None,
) -> dict[str, Any]:
    """A task's manifest (:func:`vision_manifest`) from its parts.

    ``how_to_get`` is the phrase the task's error messages end in ("download ..."); the manifest's
    ``data.how_to_get`` is that phrase as a sentence (capitalised, with a full stop).
    """
    fields: dict[str, Any] = {
        "name": name,
        "summary": summary,
        "description": description,
        "head": {"type": head_type, "num_labels": num_labels},
    }
    if metric is not None:
        fields["metric"] = metric
    fields["random_baseline"] = random_baseline
    fields["data"] = {
        "source": source,
        "license": license,
        "citation": citation,
        "how_to_get": how_to_get[0].upper() + how_to_get[1:] + ".",
        "layout": layout,
    }
    fields["options"] = options
    return vision_manifest(**fields)


def vision_manifest(**fields: Any) -> dict[str, Any]:
    """A task manifest with what every task here shares filled in (one image, no text, CLiMB's defaults)."""
    return {
        "api_version": API_VERSION,
        "modality": "vision",
        "images_per_example": 1,
        "metric": "accuracy",
        "splits": list(SPLITS),
        "defaults": dict(DEFAULTS),
        **fields,
    }


# --------------------------------------------------------------------------- split carving
def carve_per_class(labels: Sequence[int], per_class: int, seed: str) -> tuple[list[int], list[int]]:
    """Hold ``per_class`` items of each label out (for val); the rest stay in train.

    A label with fewer than ``2 * per_class`` items gives half of them (rounded down), so train keeps
    every class. Each label's hold-out is ``random.Random(f"{seed}/{label}").sample`` of its items in
    file order: a function of the labels alone, O(n).

    Returns:
        ``(train, val)``: sorted, disjoint indices that together are ``range(len(labels))``.

    Example:
        >>> train, val = carve_per_class([0, 0, 0, 0, 1, 1], 1, seed="s")
        >>> len(val), sorted(train + val) == list(range(6))
        (2, True)
    """
    groups: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(label, []).append(i)
    held = bytearray(len(labels))
    for label in sorted(groups):
        items = groups[label]
        for i in random.Random(f"{seed}/{label}").sample(items, min(per_class, len(items) // 2)):
            held[i] = 1
    train = [i for i in range(len(labels)) if not held[i]]
    val = [i for i in range(len(labels)) if held[i]]
    return train, val


def carve_multilabel(label_sets: Sequence[Sequence[int]], per_class: int, seed: str) -> tuple[list[int], list[int]]:
    """The multi-label hold-out: until each label is in ``per_class`` held-out images, hold out more.

    Labels are visited rarest first; for each, images holding it (in a seeded shuffle of all images)
    are held out until the held-out set holds the label ``per_class`` times, or half of the label's
    images (rounded down) when it has fewer than ``2 * per_class``. Images already held out for a rarer
    label count. At most ``num_labels * per_class`` images are held out.

    Returns:
        ``(train, val)``: sorted, disjoint indices that together are ``range(len(label_sets))``.
    """
    order = list(range(len(label_sets)))
    random.Random(seed).shuffle(order)
    holding: dict[int, list[int]] = {}
    for i in order:
        for label in label_sets[i]:
            holding.setdefault(label, []).append(i)
    held = bytearray(len(label_sets))
    count: dict[int, int] = dict.fromkeys(holding, 0)
    for label in sorted(holding, key=lambda k: (len(holding[k]), k)):
        quota = min(per_class, len(holding[label]) // 2)
        for i in holding[label]:
            if count[label] >= quota:
                break
            if not held[i]:
                held[i] = 1
                for other in label_sets[i]:
                    count[other] += 1
    train = [i for i in range(len(label_sets)) if not held[i]]
    val = [i for i in range(len(label_sets)) if held[i]]
    return train, val


# --------------------------------------------------------------------------- example lists
class Official:
    """One official split as the task read it: one target per item and how to make its Example.

    ``targets`` is a sequence of class indices (an ``array('i')`` for the big sets) or, for a
    multi-label task, of sorted label tuples; ``make(j, target)`` builds item ``j``'s Example.
    """

    def __init__(self, targets: Sequence[Any], make: Callable[[int], Example]) -> None:
        self.targets = targets
        self.make = make

    def __len__(self) -> int:
        return len(self.targets)


def path_maker(root: Path, rel: Sequence[str], targets: Sequence[Any], multi_label: bool = False) -> Callable[[int], Example]:
    """``make(j)`` for a file-based split: image ``<root>/<rel[j]>`` (a string), id ``rel[j]``."""
    prefix = str(root).rstrip("/") + "/"

    def make(j: int) -> Example:
        target = list(targets[j]) if multi_label else int(targets[j])
        return Example(images=(prefix + rel[j],), target=target, id=rel[j])

    return make


def array_maker(images: Sequence[Any], targets: Sequence[int], id_prefix: str) -> Callable[[int], Example]:
    """``make(j)`` for an in-memory split: image ``images[j]`` (an array), id ``<id_prefix>-<j>``."""

    def make(j: int) -> Example:
        return Example(images=(images[j],), target=targets[j], id=f"{id_prefix}-{j}")

    return make


class ExampleList(Sequence[Example]):
    """A split as a lazy sequence: ``Official`` items at ``indices``, each Example made when indexed.

    Always the same order (the indices are sorted); equal to another list of the same Examples.
    """

    def __init__(self, official: Official, indices: Sequence[int]) -> None:
        self._official = official
        self._indices = array("l", indices) if not isinstance(indices, range) else indices

    def __len__(self) -> int:
        return len(self._indices)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self._official.make(j) for j in self._indices[i]]
        return self._official.make(self._indices[i])

    def __iter__(self) -> Iterator[Example]:
        return (self._official.make(j) for j in self._indices)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or len(other) != len(self):
            return False
        return all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]

    @property
    def indices(self) -> list[int]:
        """The split's positions in the official split it was cut from."""
        return list(self._indices)

    @property
    def targets(self) -> list[Any]:
        """The split's targets, without making Examples."""
        return [self._official.targets[j] for j in self._indices]

    def __repr__(self) -> str:
        return f"ExampleList({len(self)} examples)"


# --------------------------------------------------------------------------- the base task
class VisionTask(Task):
    """Base of the six tasks: splits carved from the official ones, read lazily, cached per task.

    Subclasses set :attr:`NAME`, :attr:`DEFAULT_OPTIONS`, :attr:`VAL_PER_CLASS`,
    :attr:`REQUIRED_FILES` and :attr:`FINGERPRINT_FILES` (or override :meth:`required_paths` and
    :meth:`data_files`, what the fingerprint hashes) and implement :meth:`read_official`
    (``"train"`` or ``"test"`` -> :class:`Official`).
    """

    NAME = ""
    DEFAULT_OPTIONS: Mapping[str, Any] = {}
    #: The release's files and folders, relative to :meth:`data_root` (:meth:`required_paths`).
    REQUIRED_FILES: Sequence[str] = ()
    #: Those whose sizes and mtimes make the fingerprint (``None``: all of :attr:`REQUIRED_FILES`).
    FINGERPRINT_FILES: Sequence[str] | None = None
    #: Images per class held out of the official train for val (CLiMB: 50).
    VAL_PER_CLASS = 50
    MULTI_LABEL = False

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__({**self.DEFAULT_OPTIONS, **(options or {})})
        self._official: dict[str, Official] = {}
        self._carved: tuple[list[int], list[int]] | None = None
        self._examples: dict[str, ExampleList] = {}

    # ------------------------------------------------------------------ folders
    def data_root(self) -> Path:
        """The release folder: the option ``data_dir``, else ``$CLIMB_DATA_ROOT/<name>`` (not checked).

        Raises:
            FileNotFoundError: When neither is set.
        """
        return data_dir(self.options.get("data_dir"), self.NAME, task=self.NAME).absolute()

    def required_paths(self) -> Sequence[Path]:
        """:attr:`REQUIRED_FILES` under :meth:`data_root`."""
        root = self.data_root()
        return [root / rel for rel in self.REQUIRED_FILES]

    def data_files(self) -> Sequence[Path]:
        """The files whose sizes and mtimes make the fingerprint (the annotation files)."""
        if self.FINGERPRINT_FILES is None:
            return list(self.required_paths())
        root = self.data_root()
        return [root / rel for rel in self.FINGERPRINT_FILES]

    # ------------------------------------------------------------------ the Task contract
    def examples(self, split: str) -> ExampleList:
        if split not in SPLITS:
            note = "val is held out of the official train, test is the official validation/test split"
            raise unknown_split(self.NAME, split, SPLITS, note)
        if split not in self._examples:
            self._examples[split] = self._load(split)
        return self._examples[split]

    def fingerprint(self) -> str:
        return data_fingerprint(f"{DISTRIBUTION} {__version__} task={self.NAME}", self.data_root,
                                lambda root: files_fingerprint(self.data_files()), self.options)

    # ------------------------------------------------------------------ for subclasses
    def read_official(self, source: str) -> Official:  # pragma: no cover - abstract
        raise NotImplementedError

    def official(self, source: str) -> Official:
        """The official split ``"train"`` or ``"test"``, read once per task (a data folder one level off
        is named, with the fix)."""
        if source not in self._official:
            try:
                self._official[source] = self.read_official(source)
            except MissingDataError as exc:
                layout = list(self.REQUIRED_FILES)
                hint = misplaced_hint(self.data_root(), layout) if layout else ""
                if hint:
                    raise MissingDataError(f"{exc} {hint}") from None
                raise
        return self._official[source]

    def carve(self, official: Official) -> tuple[list[int], list[int]]:
        """``(train, val)`` indices into the official train (CLiMB's per-class hold-out)."""
        seed = f"{DISTRIBUTION}/{self.NAME}/val"
        if self.MULTI_LABEL:
            return carve_multilabel(official.targets, self.VAL_PER_CLASS, seed)
        return carve_per_class(official.targets, self.VAL_PER_CLASS, seed)

    def split_indices(self, split: str) -> tuple[Official, Sequence[int]]:
        """The official split a harness split is cut from, and its indices in it."""
        if split == "test":
            official = self.official("test")
            return official, range(len(official))
        official = self.official("train")
        if self._carved is None:
            self._carved = self.carve(official)
        return official, self._carved[0] if split == "train" else self._carved[1]

    def _load(self, split: str) -> ExampleList:
        official, indices = self.split_indices(split)
        limit = self.options.get("max_train_examples" if split == "train" else "max_eval_examples")
        if limit is not None and limit < len(indices):
            strata = [_stratum(official.targets[j]) for j in indices]
            keep = stratified_sample(strata, limit, seed=f"{DISTRIBUTION}/{self.NAME}/{split}")
            indices = [indices[k] for k in keep]
        return ExampleList(official, indices)


def _stratum(target: Any) -> Any:
    """What a subsample stratifies on: the class, or a multi-label target's first (lowest) label."""
    if isinstance(target, tuple):
        return target[0] if target else -1
    return int(target)


class CategoryFileTask(VisionTask):
    """A task whose classes are the categories of its official train annotation file (COCO-style):
    class index = position of the category id among the file's sorted ids.

    Subclasses set :attr:`ANNOTATION_FILES` (what the fingerprint hashes); :meth:`read_official`
    reads :meth:`annotation_file` and, for ``"train"``, calls :meth:`set_categories`.
    """

    #: The official splits' annotation files (``"train"``, ``"test"``), relative to :meth:`data_root`.
    ANNOTATION_FILES: Mapping[str, str] = {}
    _categories: list[tuple[int, str]]
    _index: dict[int, int]

    def data_files(self) -> Sequence[Path]:
        root = self.data_root()
        return [root / self.ANNOTATION_FILES[source] for source in ("train", "test")]

    def annotation_file(self, source: str) -> Path:
        """The annotation file of the official ``source``; for ``"test"`` the train file is read first
        (the class index comes from its categories)."""
        root = self.data_root()
        if source == "test":
            self.official("train")
        return root / self.ANNOTATION_FILES[source]

    @property
    def class_names(self) -> list[str]:
        """The category names in class-index order (sorted category ids of the train file)."""
        self.official("train")
        return [name for _, name in self._categories]

    def set_categories(self, categories: list[tuple[int, str]]) -> None:
        """Keep the train file's ``[(id, name)]`` (sorted by id) and the class index of each id."""
        self._categories = categories
        self._index = {cid: i for i, (cid, _) in enumerate(categories)}
