"""What the language tasks share: the options, the errors, the val carving, the Task base class.

Standard library and :mod:`climb_harness.api` only (no torch): ``climb list`` imports the task
modules for their manifests.

Splits, as CLiMB built them for its unimodal tasks: the official releases have no labelled test
split (or, for IMDb, no validation split), so

* ``train`` = the official train split minus the carved-out val examples;
* ``val`` (model selection) = a random 30% of the official train split, seed 2022, **stratified by
  label** (see :func:`carve`);
* ``test`` (every reported score) = the official dev / validation split (IMDb: the official test).

``max_train_examples`` / ``max_eval_examples`` then keep a seeded, label-stratified sample
(:func:`climb_harness.api.stratified_sample`) of the carved split.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from climb_harness.api import (API_VERSION, DataError, DataFile, Example, MissingDataError, Task, data_dir,
                               data_fingerprint, data_options, files_fingerprint, misplaced_hint,
                               option_defaults, stratified_sample, unknown_split)
from climb_harness.api import clip_text as clip

__all__ = ["CLIMB_DEFAULTS", "SPLITS", "VAL_FRACTION", "VAL_SEED", "FileFormat", "JsonlTask",
           "LanguageDataError", "LanguageTask", "MissingDataError", "Record", "carve", "check_pairing",
           "clip", "default_options", "how_to_get", "manifest", "options_schema", "round_half_up"]

SPLITS = ("train", "val", "test")

T = TypeVar("T")

#: CLiMB's seed for the dev splits it carved out of the official train splits.
VAL_SEED = 2022
#: CLiMB's share of the official train split held out as dev (our val).
VAL_FRACTION = 0.3

#: CLiMB's low-shot training settings for its unimodal language tasks.
CLIMB_DEFAULTS: dict[str, Any] = {"epochs": 10, "lr": 4e-5, "batch_size": 32}


class LanguageDataError(DataError):
    """A data file of a language task is there but unusable: names the file, the line, the field, the fix."""


def options_schema(
    name: str,
    folder_description: str,
    *,
    null_means: str | None = None,
    train_sample: str = "the (carved) train split",
) -> dict[str, Any]:
    """The option schema every CLiMB language task has (:func:`climb_harness.api.data_options`).

    Args:
        name: The task's registry name (its default folder under $CLIMB_DATA_ROOT).
        folder_description: What ``data_dir`` holds.
        null_means: Where the task looks when ``data_dir`` is null (default ``$CLIMB_DATA_ROOT/<name>``).
        train_sample: What ``max_train_examples`` samples from.
    """
    null_means = null_means or f"$CLIMB_DATA_ROOT/{name}"
    return data_options(f"{folder_description}; null = {null_means}.",
                        max_train=f"Seeded, label-stratified sample of {train_sample} (null = all), for "
                        "short runs.")


#: ``{option: default}`` of an option schema.
default_options = option_defaults


def how_to_get(name: str, fetch: str, holds: str | None = None) -> str:
    """The fix for missing data: ``fetch`` (what to download) into the task's data_dir (which then ``holds``)."""
    then = f", which then holds {holds}" if holds else ""
    return (f"{fetch} into the task's data_dir (default $CLIMB_DATA_ROOT/{name}){then}; `climb data check {name}` "
            "lists what is missing")


def manifest(
    name: str,
    *,
    summary: str,
    description: str,
    max_text_length: int,
    head: dict[str, Any],
    data: dict[str, str],
    options: dict[str, Any],
) -> dict[str, Any]:
    """A language task's manifest: text only, accuracy, the three splits, CLiMB's training defaults.

    ``head`` is a classification head (``num_labels``) or a multiple-choice one (``num_choices``); the
    random baseline is 100 / that number, in percent, to 2 decimals. ``data`` holds the ``source``,
    ``license``, ``citation``, ``how_to_get`` and ``layout`` entries.
    """
    random_baseline = round(100 / head.get("num_labels", head.get("num_choices")), 2)
    return {
        "name": name,
        "api_version": API_VERSION,
        "summary": summary,
        "description": description,
        "modality": "language",
        "images_per_example": 0,
        "max_text_length": max_text_length,
        "head": head,
        "metric": "accuracy",
        "random_baseline": random_baseline,
        "splits": list(SPLITS),
        "defaults": dict(CLIMB_DEFAULTS),
        "data": data,
        "options": options,
    }


@dataclasses.dataclass(frozen=True)
class Record:
    """One labelled item of a release file: the text, the choices (multiple-choice) and the label index."""

    text: str
    label: int
    id: str
    choices: tuple[str, ...] = ()


def round_half_up(value: float) -> int:
    """``floor(value + 0.5)``: 1.5 -> 2, 2.5 -> 3 (Python's ``round`` would give 2 for both)."""
    return math.floor(value + 0.5)


def carve(labels: Sequence[Any], fractions: Sequence[tuple[str, float]], seed: int | str) -> dict[str, list[int]]:
    """Split item indices into named parts, stratified by label; what is left over is ``"train"``.

    For each label (in ``sorted(..., key=repr)`` order), its indices are shuffled with one
    ``random.Random(seed)`` (shared across labels, so the result is a function of the label sequence
    and the seed alone); the first ``round_half_up(fraction * count)`` go to the first named part,
    the next ones to the second, and so on; the rest go to ``"train"``. Every part keeps file order.

    Args:
        labels: One hashable label per item, in file order.
        fractions: ``[(part, fraction), ...]``, e.g. ``[("val", 0.3)]``; the fractions sum to below 1.
        seed: Seeds ``random.Random``.

    Returns:
        ``{"train": [...], part: [...], ...}``: sorted, disjoint index lists covering ``range(len(labels))``.

    Example:
        >>> parts = carve([0] * 10 + [1] * 10, [("val", 0.3)], seed=2022)
        >>> len(parts["train"]), len(parts["val"]), sorted(set(parts["train"]) | set(parts["val"])) == list(range(20))
        (14, 6, True)
    """
    rng = random.Random(seed)
    groups: dict[Any, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(label, []).append(index)
    parts: dict[str, list[int]] = {"train": [], **{name: [] for name, _ in fractions}}
    for label in sorted(groups, key=repr):
        order = list(groups[label])
        rng.shuffle(order)
        start = 0
        for name, fraction in fractions:
            count = round_half_up(fraction * len(order))
            parts[name].extend(order[start : start + count])
            start += count
        parts["train"].extend(order[start:])
    return {name: sorted(indices) for name, indices in parts.items()}


@dataclasses.dataclass(frozen=True)
class FileFormat:
    """How a task's errors describe its files: the error class, the data set's name, what a line holds, the fix."""

    error: type[LanguageDataError]
    title: str
    expected: str
    fix: str

    def file(self, path: Path | str) -> DataFile:
        """The toolkit's reader of one of the task's files, with these messages."""
        return DataFile(Path(path), f"{self.title} data file", self.expected, self.fix, self.error)

    def bad(self, path: Path | str, line: int | None, field: str | None, problem: str) -> DataError:
        """The error for an unusable record, naming the file, the 1-based line and the field."""
        return self.file(path).problem(problem, line=line, field=field)

    def lines(self, path: Path) -> Iterator[tuple[int, str]]:
        """``(line number, text)`` of every non-blank line of a UTF-8 text file, size-bounded (missing:
        MissingDataError)."""
        try:
            yield from self.file(path).text_lines()
        except FileNotFoundError:
            raise self.missing(path) from None

    def jsonl(self, path: Path) -> list[tuple[int, dict[str, Any]]]:
        """``(line number, object)`` of every non-blank line of a JSON-lines file (bounded); at least one."""
        try:
            rows = [(record.line or 0, record.value) for record in self.file(path).records()]
        except FileNotFoundError:
            raise self.missing(path) from None
        return self.nonempty(path, rows)

    def field(self, path: Path, line: int, row: Mapping[str, Any], field: str, *, label: str | None = None) -> Any:
        """``row[field]``; raises naming the field (``label``: how the message names it) when it is missing."""
        if field not in row:
            raise self.bad(path, line, label or field, "the field is missing")
        return row[field]

    def text_field(self, path: Path, line: int, row: Mapping[str, Any], field: str, *, label: str | None = None) -> str:
        """``row[field]`` as a non-empty string (``label``: how the message names the field)."""
        name = label or field
        value = self.field(path, line, row, field, label=name)
        if not isinstance(value, str) or not value.strip():
            raise self.bad(path, line, name, f"{clip(repr(value))} is not a non-empty string")
        return value

    def nonempty(self, path: Path, items: list[T]) -> list[T]:
        """``items``, the records (or labels) read from ``path``; raises :meth:`empty` when there are none."""
        if not items:
            raise self.empty(path)
        return items

    def empty(self, path: Path) -> LanguageDataError:
        return self.error(f"{self.title} data file {path} holds no records (it is empty). Fix: {self.fix}")

    def missing(self, path: Path) -> MissingDataError:
        return MissingDataError(f"{self.title} data not found: {path}. Fix: {self.fix}")


class LanguageTask(Task):
    """A CLiMB language task: subclasses say which files they read and how (:meth:`read_source`).

    Nothing is read in ``__init__``; each release file is parsed once, on the first ``examples()``
    of a split that needs it, and the splits are kept.
    """

    #: Registry name, and the folder under $CLIMB_DATA_ROOT.
    NAME: str = ""
    #: The options with their defaults (the module's ``DEFAULT_OPTIONS``).
    DEFAULTS: Mapping[str, Any] = {}
    #: Label names in head order for a classification task (``target`` indexes it); () otherwise.
    labels: tuple[str, ...] = ()
    #: What the release calls the split the harness reports on (``test``), for messages and ids.
    TEST_SOURCE: str = "dev"
    #: How the error for an unknown split describes the splits (None: val carved from train, test = TEST_SOURCE).
    SPLIT_NOTE: str | None = None

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__({**self.DEFAULTS, **(options or {})})
        self._examples: dict[str, list[Example]] = {}
        self._sources: dict[str, list[Record]] = {}

    # ------------------------------------------------------------------ subclass interface
    def source_paths(self, root: Path) -> list[Path]:  # pragma: no cover - abstract
        """Every file or folder the task reads under ``root``, in the release layout."""
        raise NotImplementedError

    def read_source(self, root: Path, source: str) -> list[Record]:  # pragma: no cover - abstract
        """The records of ``"train"`` (the official train split) or ``"test"`` (the split reported on)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ folders
    def data_root(self) -> Path:
        """The task's data folder (option data_dir, else ``$CLIMB_DATA_ROOT/<name>``), absolute; not checked.

        Raises:
            FileNotFoundError: When neither the option nor $CLIMB_DATA_ROOT is set.
        """
        return data_dir(self.options["data_dir"], self.NAME, task=self.NAME).expanduser().absolute()

    # ------------------------------------------------------------------ the Task contract
    def required_paths(self) -> Sequence[Path]:
        return self.source_paths(self.data_root())

    def examples(self, split: str) -> list[Example]:
        if split not in SPLITS:
            note = self.SPLIT_NOTE or (f"val is carved out of the official train split, test is the official "
                                       f"{self.TEST_SOURCE} split")
            raise unknown_split(self.NAME, split, SPLITS, note)
        if split not in self._examples:
            self._examples[split] = self._load(split)
        return self._examples[split]

    def fingerprint(self) -> str:
        from climb_language_tasks import __version__

        return data_fingerprint(f"climb-language-tasks {__version__} {self.NAME}", self.data_root,
                                lambda root: files_fingerprint(self.source_paths(root)), self.options)

    # ------------------------------------------------------------------ splits
    def source(self, source: str) -> list[Record]:
        """The records of one release split, parsed once (a folder one level off is named with the fix)."""
        if source not in self._sources:
            root = self.data_root()
            try:
                self._sources[source] = self.read_source(root, source)
            except MissingDataError as exc:
                layout = [str(p.relative_to(root)) for p in self.source_paths(root) if p.is_relative_to(root)]
                hint = misplaced_hint(root, layout)
                if hint:
                    raise MissingDataError(f"{exc} {hint}") from None
                raise
        return self._sources[source]

    def split_records(self, split: str) -> list[Record]:
        """The records of a harness split before subsampling (val carved out of the official train)."""
        if split == "test":
            return self.source("test")
        records = self.source("train")
        parts = carve([r.label for r in records], [("val", VAL_FRACTION)], seed=VAL_SEED)
        return [records[i] for i in parts[split]]

    def _load(self, split: str) -> list[Example]:
        records = self.split_records(split)
        limit = self.options["max_train_examples" if split == "train" else "max_eval_examples"]
        keep = stratified_sample([r.label for r in records], limit, seed=f"climb-language-tasks/{self.NAME}/{split}")
        return [Example(text=records[i].text, choices=records[i].choices, target=records[i].label, id=records[i].id)
                for i in keep]


class JsonlTask(LanguageTask):
    """A language task whose release splits are JSON-lines files under data_dir, one record a line.

    Subclasses set :attr:`FILES` and :attr:`FORMAT` and say how a line becomes a record (:meth:`parse`).
    """

    #: Harness source (``"train"``, ``"test"``) -> the release file under data_dir.
    FILES: Mapping[str, str] = {}
    #: How the task's errors describe its files.
    FORMAT: FileFormat

    def parse(self, path: Path, line: int, row: dict[str, Any]) -> Record:  # pragma: no cover - abstract
        """The record of one JSON object, line ``line`` of ``path``."""
        raise NotImplementedError

    def source_paths(self, root: Path) -> list[Path]:
        return [root / self.FILES[source] for source in self.FILES]

    def read_source(self, root: Path, source: str) -> list[Record]:
        path = root / self.FILES[source]
        return [self.parse(path, line, row) for line, row in self.FORMAT.jsonl(path)]


def check_pairing(fmt: FileFormat, records_file: Path, records: int, labels_file: Path, labels: int) -> None:
    """Raise when a records file and its line-by-line labels file hold different numbers of lines."""
    if records != labels:
        raise fmt.error(
            f"{fmt.title} data files {records_file} ({records} records) and {labels_file} ({labels} labels) do not "
            f"pair up line by line. Fix: {fmt.fix}"
        )
