"""Reading SNLI-VE's official files (standard library only: no torch, no PIL).

The release (https://github.com/necla-ml/SNLI-VE) is three JSON-lines files, one record per line::

    <data_dir>/snli_ve_train.jsonl
    <data_dir>/snli_ve_dev.jsonl
    <data_dir>/snli_ve_test.jsonl
    <images_dir>/<Flickr30K_ID>.jpg        (images_dir default: <data_dir>/flickr30k_images)

Each record carries SNLI's fields (``sentence1`` the caption, ``sentence2`` the hypothesis,
``gold_label``, ``annotator_labels``, ``pairID``, parses, ...) plus ``Flickr30K_ID``. The task reads
only ``Flickr30K_ID``, ``sentence2`` and ``gold_label``; the image, not the caption, is the premise.

A record that cannot be used (not JSON, not an object, a missing or mistyped field, a gold_label
other than entailment / contradiction / neutral) raises :class:`SnliVeDataError` (a ValueError)
naming the file, the line (1-based) and the field. The official release holds no record with
SNLI's no-consensus label ``-`` (its split counts add up to the three labels alone), so such a
line is refused, not skipped.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from climb_harness.api import DataError, files_fingerprint, stratified_sample  # noqa: F401 - re-exported for the tasks
from climb_snli_ve.plugin import LABELS, LAYOUT

#: The release's split names, in file-name order.
SOURCES = ("train", "dev", "test")

#: Fields read from each record.
FIELDS = ("Flickr30K_ID", "sentence2", "gold_label")

_HOW_TO_GET = (
    "Fix: download snli_ve_{train,dev,test}.jsonl from https://github.com/necla-ml/SNLI-VE into the task's "
    "data_dir (default $CLIMB_DATA_ROOT/snli-ve) and the Flickr30k images into <data_dir>/flickr30k_images "
    "(or set the option images_dir); `climb data check snli-ve` lists what is missing"
)


class SnliVeDataError(DataError):
    """An SNLI-VE file of the wrong form: names the file, the line, the field and the fix."""


@dataclasses.dataclass(frozen=True)
class Record:
    """The fields the task uses of one line of a ``snli_ve_*.jsonl`` (``line`` is 1-based)."""

    image_id: str
    hypothesis: str
    label: int
    line: int


def annotation_path(root: Path, source: str) -> Path:
    """``<root>/snli_ve_<source>.jsonl``."""
    return root / f"snli_ve_{source}.jsonl"


def image_path(images_dir: Path, image_id: str) -> Path:
    """``<images_dir>/<Flickr30K_ID>.jpg``, as Flickr30k names its images."""
    return images_dir / f"{image_id}.jpg"


def missing(path: Path) -> FileNotFoundError:
    """The error for a missing file or folder, naming it, the layout and how to get the data."""
    return FileNotFoundError(f"SNLI-VE data not found: {path}. Expected layout: {LAYOUT}. {_HOW_TO_GET}.")


def _clip(text: object, limit: int = 80) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _corrupt(path: str, line: int, field: str | None, problem: str) -> SnliVeDataError:
    where = f"{path}, line {line}" + (f", field {field!r}" if field else "")
    return SnliVeDataError(
        f"SNLI-VE data file unusable at {where}: {problem}. Each line must be a JSON object with "
        f"Flickr30K_ID, sentence2 and gold_label (one of {', '.join(LABELS)}), as the SNLI-VE release ships "
        "it. Fix: re-download the file from https://github.com/necla-ml/SNLI-VE, or point data_dir at a good copy."
    )


def read_records(root: Path, source: str) -> list[Record]:
    """Parse ``<root>/snli_ve_<source>.jsonl``; cached while the file's size and mtime are unchanged."""
    path = annotation_path(root, source)
    try:
        stat = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise missing(path) from None
    return list(_read_cached(str(path), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=6)
def _read_cached(path: str, _mtime_ns: int, _size: int) -> tuple[Record, ...]:
    records: list[Record] = []
    with open(path, "rb") as file:
        for number, raw in enumerate(file, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _corrupt(path, number, None, f"it is not UTF-8 text ({_clip(exc)})") from None
            if not text.strip():
                continue  # a blank line (e.g. a trailing newline) holds no record
            records.append(parse_record(path, number, text))
    if not records:
        raise SnliVeDataError(
            f"SNLI-VE data file {path} holds no records (it is empty). Fix: re-download it from "
            "https://github.com/necla-ml/SNLI-VE, or point data_dir at a good copy."
        )
    return tuple(records)


def parse_record(path: str, line: int, text: str) -> Record:
    """One JSON line, checked field by field."""
    try:
        row = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _corrupt(path, line, None, f"it is not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(row, dict):
        raise _corrupt(path, line, None, f"it holds a JSON {type(row).__name__}, not an object")
    for field in FIELDS:
        if field not in row:
            raise _corrupt(path, line, field, "the field is missing")
    image_id = row["Flickr30K_ID"]
    if isinstance(image_id, bool) or not isinstance(image_id, (str, int)):
        raise _corrupt(path, line, "Flickr30K_ID", f"{_clip(repr(image_id))} is not an image id (a string)")
    image_id = str(image_id).strip()
    if not image_id or any(sep in image_id for sep in ("/", "\\")) or image_id in (".", ".."):
        raise _corrupt(path, line, "Flickr30K_ID", f"{_clip(repr(row['Flickr30K_ID']))} is not an image id")
    hypothesis = row["sentence2"]
    if not isinstance(hypothesis, str) or not hypothesis.strip():
        raise _corrupt(path, line, "sentence2", f"{_clip(repr(hypothesis))} is not a non-empty string")
    gold = row["gold_label"]
    if not isinstance(gold, str) or gold not in LABELS:
        raise _corrupt(path, line, "gold_label", f"unknown label {_clip(repr(gold))}")
    return Record(image_id, hypothesis, LABELS[gold], line)


def check_images(images_dir: Path, image_ids: Iterable[str]) -> None:
    """Raise a :class:`FileNotFoundError` naming the first image the records need but the folder lacks."""
    try:
        present = set(os.listdir(images_dir))
    except (FileNotFoundError, NotADirectoryError):
        raise missing(images_dir) from None
    for image_id in sorted(set(image_ids)):
        if f"{image_id}.jpg" not in present:
            raise missing(image_path(images_dir, image_id))





def data_digest(root: Path) -> str:
    """A short hash of the three annotation files' sizes and mtimes (``missing`` for an absent one)."""
    return files_fingerprint(annotation_path(root, source) for source in SOURCES)
