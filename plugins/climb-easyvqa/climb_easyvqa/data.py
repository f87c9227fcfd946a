"""Reading easy-VQA's files, carving the val split and subsampling (standard library only).

The layout is the one the ``easy-vqa`` package ships and reads (``easy_vqa/data``)::

    <root>/train/questions.json       [[question, answer, image_id], ...]
    <root>/train/images/<image_id>.png
    <root>/test/questions.json
    <root>/test/images/<image_id>.png

Image ids are numbered per split (train image 3 and test image 3 are different pictures), so an
image is identified by its split and id, i.e. by its path.

A ``questions.json`` that cannot be used (not JSON, not a list of rows, a row without its three
fields) raises :class:`CorruptDataError`, a ``climb_harness.api.DataError`` (a RunError) (the run stops with one
paragraph naming the file and the fix) that is also a ValueError, as these errors always were.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.util
import json
import os
import random
from collections.abc import Iterable, Sequence
from pathlib import Path

from climb_harness.api import DataError, stratified_sample  # noqa: F401 - re-exported for the tasks
from climb_easyvqa.labels import question_type

#: easy-VQA's own splits; the harness's val split is carved out of "train".
SOURCES = ("train", "test")

#: Seed of the train/val image split (CLiMB's seed for its carved dev splits).
VAL_SPLIT_SEED = 2022

_LAYOUT = "{train,test}/questions.json and {train,test}/images/<image_id>.png"


class CorruptDataError(DataError):
    """A data file of the wrong form: names the file, what is wrong and how to get a good copy."""


def _clip(text: object, limit: int = 160) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _corrupt(path: str | Path, problem: str) -> CorruptDataError:
    return CorruptDataError(
        f"easy-VQA data file {path} is unusable: {problem}. It must hold a JSON list of "
        "[question, answer, image_id] rows, as the easy-vqa package ships it. Fix: re-extract the data "
        "(pip install --force-reinstall easy-vqa), or point the task option data_dir at a good copy "
        "(null: the data installed with easy-vqa)."
    )


@dataclasses.dataclass(frozen=True)
class Question:
    """One row of a ``questions.json``; ``index`` is its position in that file."""

    text: str
    answer: str
    image_id: int
    index: int


def default_data_dir() -> Path:
    """The data folder shipped inside the installed ``easy-vqa`` package (found without importing it)."""
    spec = importlib.util.find_spec("easy_vqa")
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            "The easy-VQA data was not found: the Python package 'easy-vqa' is not installed. "
            "Fix: run `pip install easy-vqa` (it ships the data, ~20 MB, MIT licence), or set the task "
            f"option data_dir to a folder laid out as {_LAYOUT}."
        )
    return Path(spec.origin).parent / "data"


def resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    """``data_dir`` as an absolute path; ``None`` means the data shipped with ``easy-vqa``."""
    if data_dir is None:
        return default_data_dir()
    return Path(data_dir).expanduser().resolve()


def _missing(path: Path, root: Path) -> FileNotFoundError:
    return FileNotFoundError(
        f"easy-VQA data file not found: {path}. The task reads the folder {root} (option data_dir), "
        f"which must hold {_LAYOUT}, as the easy-vqa package ships it. Fix: point data_dir at such a "
        "folder, or set data_dir to null to use the data installed with `pip install easy-vqa`."
    )


def questions_path(root: Path, source: str) -> Path:
    return root / source / "questions.json"


def image_path(root: Path, source: str, image_id: int) -> Path:
    return root / source / "images" / f"{image_id}.png"


def read_questions(root: Path, source: str) -> list[Question]:
    """Parse ``<root>/<source>/questions.json``; cached while the file is unchanged."""
    path = questions_path(root, source)
    try:
        stat = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise _missing(path, root) from None
    return list(_read_questions_cached(str(path), stat.st_mtime_ns, stat.st_size))


def _load_json(path: str) -> object:
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except UnicodeDecodeError as exc:
        raise _corrupt(path, f"it is not UTF-8 text ({_clip(exc, 100)})") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise _corrupt(path, f"it is not valid JSON ({exc.msg} at {where})") from None
    except OSError as exc:
        reason = f"{type(exc).__name__}: {_clip(exc.strerror or exc, 100)}"
        raise _corrupt(path, f"it cannot be read ({reason})") from None


@functools.lru_cache(maxsize=8)
def _read_questions_cached(path: str, _mtime_ns: int, _size: int) -> tuple[Question, ...]:
    rows = _load_json(path)
    if not isinstance(rows, list):
        raise _corrupt(path, f"it holds a JSON {type(rows).__name__}, not a list")
    return tuple(_question(path, index, row) for index, row in enumerate(rows))


def _question(path: str, index: int, row: object) -> Question:
    """One row ``[question, answer, image_id]``, checked field by field."""
    if not (isinstance(row, list) and len(row) == 3 and isinstance(row[0], str) and isinstance(row[1], str)):
        raise _corrupt(path, f"row {index} is {_clip(repr(row), 120)}, not [question, answer, image_id]")
    text, answer, image_id = row
    if question_type(answer) is None:
        raise _corrupt(
            path,
            f"row {index} has the answer {_clip(repr(answer), 60)}, which is not one of easy-VQA's 13 "
            "answers (circle/rectangle/triangle, the eight colours, yes/no)",
        )
    bad_id = f"row {index} has the image id {_clip(repr(image_id), 60)}; expected an integer"
    if isinstance(image_id, bool) or not isinstance(image_id, (int, str)):
        raise _corrupt(path, bad_id)
    try:
        return Question(text, answer, int(image_id), index)
    except ValueError:
        raise _corrupt(path, bad_id) from None


def check_images(root: Path, source: str, image_ids: Iterable[int]) -> None:
    """Raise a clear :class:`FileNotFoundError` for the first image the questions need but lack."""
    folder = root / source / "images"
    try:
        present = set(os.listdir(folder))
    except FileNotFoundError:
        raise _missing(folder, root) from None
    for image_id in sorted(set(image_ids)):
        if f"{image_id}.png" not in present:
            raise _missing(image_path(root, source, image_id), root)


def val_image_ids(
    train_questions: Sequence[Question], val_fraction: float, seed: int = VAL_SPLIT_SEED
) -> frozenset[int]:
    """The train images held out for val: a seeded random ``val_fraction`` of all of them.

    Chosen over every train question (not one question type) so that no image is in the train
    split of one task and the val split of another.
    """
    images = sorted({q.image_id for q in train_questions})
    if len(images) < 2:
        raise CorruptDataError(
            f"The easy-VQA train split has {len(images)} image(s); at least 2 are needed to carve out val. "
            "Fix: point the task option data_dir at the full data (null: the data installed with easy-vqa)."
        )
    n_val = min(len(images) - 1, max(1, round(val_fraction * len(images))))
    random.Random(seed).shuffle(images)
    return frozenset(images[:n_val])





def data_digest(root: Path) -> str:
    """A short hash of both ``questions.json`` files (the images follow their ids)."""
    digest = hashlib.sha256()
    for source in SOURCES:
        path = questions_path(root, source)
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise _missing(path, root) from None
        digest.update(_file_sha256(str(path), stat.st_mtime_ns, stat.st_size).encode())
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=8)
def _file_sha256(path: str, _mtime_ns: int, _size: int) -> str:
    with open(path, "rb") as file:
        return hashlib.sha256(file.read()).hexdigest()
