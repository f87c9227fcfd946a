"""Reading easy-VQA's files, carving the val split and subsampling (standard library only).

The layout is the one the ``easy-vqa`` package ships and reads (``easy_vqa/data``)::

    <root>/train/questions.json       [[question, answer, image_id], ...]
    <root>/train/images/<image_id>.png
    <root>/test/questions.json
    <root>/test/images/<image_id>.png

Image ids are numbered per split (train image 3 and test image 3 are different pictures), so an
image is identified by its split and id, i.e. by its path.

A ``questions.json`` that cannot be used (not JSON within the harness's limits, not a list of rows,
a row without its three fields, a negative image id) raises :class:`CorruptDataError`, a
``climb_harness.api.DataError`` (a RunError) (the run stops with one paragraph naming the file and
the fix) that is also a ValueError, as these errors always were. An image that is a link out of its
folder is refused unless the task option ``allow_symlinks_out`` is true.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from climb_harness.api import (DataError, DataFile, ImagePath, MissingDataError, clip_repr, held_out_groups,
                               misplaced_hint, read_cached, require_files, stratified_sample)
from climb_easyvqa.labels import question_type

__all__ = ["SOURCES", "CorruptDataError", "Question", "check_images", "data_digest", "default_data_dir",
           "image_path", "read_questions", "resolve_data_dir", "stratified_sample", "val_image_ids"]

#: easy-VQA's own splits; the harness's val split is carved out of "train".
SOURCES = ("train", "test")

#: Seed of the train/val image split (CLiMB's seed for its carved dev splits).
VAL_SPLIT_SEED = 2022

_LAYOUT = "{train,test}/questions.json and {train,test}/images/<image_id>.png"


class CorruptDataError(DataError):
    """A data file of the wrong form: names the file, what is wrong and how to get a good copy."""


def _file(path: Path) -> DataFile:
    return DataFile(
        path, "easy-VQA data file",
        expected="It must hold a JSON list of [question, answer, image_id] rows, as the easy-vqa package "
        "ships it.",
        fix="re-extract the data (pip install --force-reinstall easy-vqa), or point the task option data_dir "
        "at a good copy (null: the data installed with easy-vqa).",
        error=CorruptDataError,
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


def _missing(path: Path, root: Path) -> MissingDataError:
    layout = [f"{source}/{part}" for source in SOURCES for part in ("questions.json", "images")]
    hint = misplaced_hint(root, layout)
    return MissingDataError(
        f"easy-VQA data file not found: {path}. The task reads the folder {root} (option data_dir), "
        f"which must hold {_LAYOUT}, as the easy-vqa package ships it. {hint + ' ' if hint else ''}Fix: "
        "point data_dir at such a folder, or set data_dir to null to use the data installed with "
        "`pip install easy-vqa`."
    )


def questions_path(root: Path, source: str) -> Path:
    return root / source / "questions.json"


def image_path(root: Path, source: str, image_id: int, max_pixels: int | None = None) -> ImagePath:
    return ImagePath(root / source / "images" / f"{image_id}.png", max_pixels)


def read_questions(root: Path, source: str) -> list[Question]:
    """Parse ``<root>/<source>/questions.json``; cached while the file is unchanged."""
    path = questions_path(root, source)
    try:
        return list(read_cached(path, _read_questions))
    except (FileNotFoundError, NotADirectoryError):
        raise _missing(path, root) from None


def _read_questions(path: Path) -> tuple[Question, ...]:
    file = _file(path)
    rows = file.read_json()
    if not isinstance(rows, list):
        raise file.problem(f"it holds a JSON {type(rows).__name__}, not a list")
    return tuple(_question(file, index, row) for index, row in enumerate(rows))


def _question(file: DataFile, index: int, row: object) -> Question:
    """One row ``[question, answer, image_id]``, checked field by field."""
    if not (isinstance(row, list) and len(row) == 3 and isinstance(row[0], str) and isinstance(row[1], str)):
        raise file.problem(f"row {index} is {clip_repr(row, 120)}, not [question, answer, image_id]")
    text, answer, image_id = row
    if question_type(answer) is None:
        raise file.problem(
            f"row {index} has the answer {clip_repr(answer, 60)}, which is not one of easy-VQA's 13 "
            "answers (circle/rectangle/triangle, the eight colours, yes/no)",
        )
    bad_id = f"row {index} has the image id {clip_repr(image_id, 60)}; expected an integer 0 or more"
    if isinstance(image_id, str) and image_id.isascii() and image_id.isdigit() and len(image_id) <= 18:
        image_id = int(image_id)
    if isinstance(image_id, bool) or not isinstance(image_id, int) or image_id < 0:
        raise file.problem(bad_id)
    return Question(text, answer, image_id, index)


def check_images(root: Path, source: str, image_ids: Iterable[int], allow_outside: bool = False) -> None:
    """Raise naming the first image the questions need but lack (MissingDataError), or that is a link
    leading out of its folder (DataError, unless ``allow_outside``)."""
    names = [f"{image_id}.png" for image_id in sorted(set(image_ids))]
    require_files(root / source / "images", names, lambda path: _missing(path, root),
                  allow_outside=allow_outside, named_by=f"{source}/questions.json")


def val_image_ids(
    train_questions: Sequence[Question], val_fraction: float, seed: int = VAL_SPLIT_SEED
) -> frozenset[int]:
    """The train images held out for val: a seeded random ``val_fraction`` of all of them.

    Chosen over every train question (not one question type) so that no image is in the train
    split of one task and the val split of another.
    """
    def too_few(n: str) -> CorruptDataError:
        return CorruptDataError(f"The easy-VQA train split has {n}, so no val images can be carved out. "
                                "Fix: point the task option data_dir at the full data (null: the data "
                                "installed with easy-vqa).")

    return held_out_groups((q.image_id for q in train_questions), val_fraction, seed, too_few=too_few)





def data_digest(root: Path) -> str:
    """A short hash of both ``questions.json`` files (the images follow their ids)."""
    digest = hashlib.sha256()
    for source in SOURCES:
        path = questions_path(root, source)
        try:
            digest.update(read_cached(path, _file_sha256).encode())
        except (FileNotFoundError, NotADirectoryError):
            raise _missing(path, root) from None
    return digest.hexdigest()[:16]


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as file:
        return hashlib.sha256(file.read()).hexdigest()
