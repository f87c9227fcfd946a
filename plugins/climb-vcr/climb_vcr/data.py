"""Reading VCR 1.0's annotation files, carving val out of train by movie, subsampling.

The layout (the official release, as CLiMB arranged it)::

    <root>/annotation/train.jsonl     one JSON record per line (see below)
    <root>/annotation/val.jsonl
    <root>/annotation/test.jsonl      unlabelled: not read
    <root>/vcr1images/<img_fn>        e.g. lsmdc_3001_21_JUMP_STREET/3001_21_JUMP_STREET_00.00.00.000-00.00.04.000@0.jpg

A record's fields used here: ``annot_id`` (str), ``objects`` (list of class names), ``question``
(token list), ``answer_choices`` (4 token lists), ``answer_label`` (0-3) and ``img_fn`` (str,
relative to ``vcr1images/``; its first folder is the movie). Other fields (``rationale_choices``,
``metadata_fn``, ...) are ignored. A line that is not JSON, a missing or mistyped field, an
answer_label outside 0-3 or an object reference outside ``objects`` raises :class:`VcrDataError`
(a ValueError) naming the file, the line and the field.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from climb_harness.api import DataError, files_fingerprint, stratified_sample  # noqa: F401 - re-exported for the tasks
from climb_vcr.plugin import HOW_TO_GET, LAYOUT
from climb_vcr.render import RenderError, render

#: Seed of the train/val movie split (CLiMB's seed for its carved dev splits).
VAL_SPLIT_SEED = 2022
NUM_CHOICES = 4
ANNOTATION_FILES = ("train.jsonl", "val.jsonl")


class VcrDataError(DataError):
    """An annotation record that cannot be used: names the file, the line and the field."""


@dataclasses.dataclass(frozen=True)
class Record:
    """One Q->A record, rendered; ``line`` is its 1-based line number in its file."""

    annot_id: str
    img_fn: str
    movie: str
    question: str
    choices: tuple[str, ...]
    label: int
    line: int


def annotation_path(root: Path, name: str) -> Path:
    return root / "annotation" / name


def images_dir(root: Path) -> Path:
    return root / "vcr1images"


def image_path(root: Path, img_fn: str) -> Path:
    return images_dir(root) / img_fn


def missing(path: Path, root: Path) -> FileNotFoundError:
    return FileNotFoundError(
        f"VCR data not found: {path}. The task reads the folder {root} (option data_dir, or "
        f"$CLIMB_DATA_ROOT/vcr), which must hold {LAYOUT}. How to get it: {HOW_TO_GET}"
    )


def _bad(path: Path | str, line: int, field: str, problem: str) -> VcrDataError:
    return VcrDataError(
        f"VCR annotation file {path}, line {line}, field {field!r}: {problem}. Each line must be one VCR 1.0 "
        "record (annot_id, objects, question, answer_choices, answer_label 0-3, img_fn). Fix: re-extract "
        "vcr1annots.zip, or point the task option data_dir at a good copy."
    )


def read_records(root: Path, name: str, *, distinguish_repeated: bool = False) -> list[Record]:
    """Parse ``<root>/annotation/<name>``; cached while the file is unchanged."""
    path = annotation_path(root, name)
    try:
        stat = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise missing(path, root) from None
    return list(_read_cached(str(path), stat.st_mtime_ns, stat.st_size, distinguish_repeated))


@functools.lru_cache(maxsize=8)
def _read_cached(path: str, _mtime_ns: int, _size: int, distinguish_repeated: bool) -> tuple[Record, ...]:
    records = []
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise _bad(path, number, "<line>", f"not valid JSON ({exc.msg} at column {exc.colno})") from None
            records.append(_record(path, number, row, distinguish_repeated))
    return tuple(records)


def _field(path: str, number: int, row: dict[str, Any], field: str) -> Any:
    if field not in row:
        raise _bad(path, number, field, "missing")
    return row[field]


def _record(path: str, number: int, row: Any, distinguish_repeated: bool) -> Record:
    if not isinstance(row, dict):
        raise _bad(path, number, "<line>", f"a JSON {type(row).__name__}, not an object")
    annot_id = _field(path, number, row, "annot_id")
    if not isinstance(annot_id, str) or not annot_id:
        raise _bad(path, number, "annot_id", f"{annot_id!r:.60} is not a non-empty string")
    img_fn = _field(path, number, row, "img_fn")
    if not isinstance(img_fn, str) or not img_fn or img_fn.startswith(("/", "\\")) or ".." in Path(img_fn).parts:
        raise _bad(path, number, "img_fn", f"{img_fn!r:.80} is not a relative path under vcr1images/")
    objects = _field(path, number, row, "objects")
    if not isinstance(objects, list) or not all(isinstance(o, str) for o in objects):
        raise _bad(path, number, "objects", f"{objects!r:.80} is not a list of class names")
    label = _field(path, number, row, "answer_label")
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < NUM_CHOICES:
        raise _bad(path, number, "answer_label", f"{label!r:.40} is not an integer 0-{NUM_CHOICES - 1}")
    answers = _field(path, number, row, "answer_choices")
    if not isinstance(answers, list) or len(answers) != NUM_CHOICES:
        raise _bad(path, number, "answer_choices", f"{answers!r:.80} is not a list of {NUM_CHOICES} token lists")
    try:
        question = render(_field(path, number, row, "question"), objects, distinguish_repeated=distinguish_repeated)
    except RenderError as exc:
        raise _bad(path, number, "question", str(exc)) from None
    choices = []
    for k, answer in enumerate(answers):
        try:
            choices.append(render(answer, objects, distinguish_repeated=distinguish_repeated))
        except RenderError as exc:
            raise _bad(path, number, f"answer_choices[{k}]", str(exc)) from None
    movie = img_fn.replace("\\", "/").split("/", 1)[0]
    return Record(annot_id, img_fn, movie, question, tuple(choices), label, number)


def val_movies(records: Sequence[Record], val_fraction: float, seed: int = VAL_SPLIT_SEED) -> frozenset[str]:
    """The train movies held out for val: a seeded random ``val_fraction`` of them (at least one, not all)."""
    movies = sorted({r.movie for r in records})
    if len(movies) < 2:
        raise VcrDataError(
            f"VCR's train.jsonl has {len(movies)} movie(s) (first folder of img_fn); at least 2 are needed to "
            "hold movies out as the val split. Fix: point the task option data_dir at the full VCR release."
        )
    n_val = min(len(movies) - 1, max(1, round(val_fraction * len(movies))))
    random.Random(seed).shuffle(movies)
    return frozenset(movies[:n_val])





def check_images(root: Path, img_fns: Iterable[str]) -> None:
    """Raise a :class:`FileNotFoundError` naming the first image the records need but lack
    (one directory listing per movie folder, not one stat per image)."""
    listings: dict[Path, frozenset[str]] = {}
    if not images_dir(root).is_dir():
        raise missing(images_dir(root), root)
    for img_fn in sorted(set(img_fns)):
        path = image_path(root, img_fn)
        folder = path.parent
        if folder not in listings:
            try:
                listings[folder] = frozenset(os.listdir(folder))
            except (FileNotFoundError, NotADirectoryError):
                listings[folder] = frozenset()
        if path.name not in listings[folder]:
            raise missing(path, root)


def data_digest(root: Path) -> str:
    """A short hash of the annotation files' sizes and modification times ("missing" for absent ones)."""
    return files_fingerprint(annotation_path(root, name) for name in ANNOTATION_FILES)
