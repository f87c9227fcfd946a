"""Reading VCR 1.0's annotation files, carving val out of train by movie, subsampling.

The layout (the official release)::

    <root>/train.jsonl  <root>/val.jsonl  <root>/test.jsonl     vcr1annots.zip unpacked, a record a line
    <root>/vcr1images/<img_fn>        e.g. lsmdc_3001_21_JUMP_STREET/3001_21_JUMP_STREET_00.00.00.000-00.00.04.000@0.jpg

CLiMB's rearranged layout, with the three files in ``<root>/annotation/``, is read too (it wins when
both are there); test.jsonl has no labels and is not read.

A record's fields used here: ``annot_id`` (str), ``objects`` (list of class names), ``question``
(token list), ``answer_choices`` (4 token lists), ``answer_label`` (0-3) and ``img_fn`` (str,
relative to ``vcr1images/``; its first folder is the movie). Other fields (``rationale_choices``,
``metadata_fn``, ...) are ignored. A line that is not JSON within the harness's limits (not UTF-8,
too deep, ...), a missing or mistyped field, an answer_label outside 0-3, an ``img_fn`` that could
lead out of ``vcr1images/`` or an object reference outside ``objects`` raises :class:`VcrDataError`
(a ValueError) naming the file, the line and the field. Reading and rendering take time linear in
a line's size. An image that is a link out of ``vcr1images/`` is refused unless the task option
``allow_symlinks_out`` is true (``vcr1images/`` itself may be a link, as r2c's instructions make it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

from climb_harness.api import (DataError, DataFile, DataRecord, ImagePath, MissingDataError,
                               files_fingerprint, find_layout, held_out_groups, misplaced_hint, read_cached,
                               require_files, stratified_sample)
from climb_vcr.plugin import HOW_TO_GET, LAYOUT
from climb_vcr.render import RenderError, _Names, render

__all__ = ["ANNOTATION_FILES", "ANNOTATION_PLACES", "NUM_CHOICES", "Record", "VcrDataError",
           "annotation_path", "check_images", "data_digest", "image_path", "images_dir", "missing",
           "read_records", "stratified_sample", "val_movies"]

#: Seed of the train/val movie split (CLiMB's seed for its carved dev splits).
VAL_SPLIT_SEED = 2022
NUM_CHOICES = 4
ANNOTATION_FILES = ("train.jsonl", "val.jsonl")
#: Where the annotation files may be, relative to the data folder: CLiMB's annotation/, then the
#: folder itself (vcr1annots.zip unpacked flat beside vcr1images/, as r2c's data/README.md has it).
ANNOTATION_PLACES = ("annotation", "")

_EXPECTED = ("Each line must be one VCR 1.0 record (annot_id, objects, question, answer_choices, "
             "answer_label 0-3, img_fn).")
_FIX = "re-extract vcr1annots.zip, or point the task option data_dir at a good copy."


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
    """``name`` in the first of :data:`ANNOTATION_PLACES` that holds the release's files."""
    return find_layout(root, ANNOTATION_PLACES, ANNOTATION_FILES) / name


def images_dir(root: Path) -> Path:
    return root / "vcr1images"


def image_path(root: Path, img_fn: str, max_pixels: int | None = None) -> ImagePath:
    return ImagePath(images_dir(root) / img_fn, max_pixels)


def missing(path: Path, root: Path) -> MissingDataError:
    hint = misplaced_hint(root, list(ANNOTATION_FILES) + ["vcr1images"])
    return MissingDataError(
        f"VCR data not found: {path}. The task reads the folder {root} (option data_dir, or "
        f"$CLIMB_DATA_ROOT/vcr), which must hold {LAYOUT}. {hint + ' ' if hint else ''}How to get it: "
        f"{HOW_TO_GET}"
    )


def read_records(root: Path, name: str, *, distinguish_repeated: bool = False) -> list[Record]:
    """Parse the annotation file ``name``; cached while the file is unchanged."""
    path = annotation_path(root, name)
    parse = _parse_distinguishing if distinguish_repeated else _parse
    try:
        return list(read_cached(path, parse))
    except (FileNotFoundError, NotADirectoryError):
        raise missing(path, root) from None


def _parse(path: Path, distinguish_repeated: bool = False) -> tuple[Record, ...]:
    file = DataFile(path, "VCR annotation file", _EXPECTED, _FIX, VcrDataError)
    return tuple(_record(record, distinguish_repeated) for record in file.records())


def _parse_distinguishing(path: Path) -> tuple[Record, ...]:
    return _parse(path, distinguish_repeated=True)


def _img_fn(record: DataRecord) -> str:
    """``img_fn``: a relative path of plain parts under vcr1images/ (no ``..``, no NUL, no absolute path)."""
    img_fn = record.text("img_fn")
    parts = PurePosixPath(img_fn.replace("\\", "/")).parts
    bad = (img_fn.startswith(("/", "\\")) or not parts or any(p in (".", "..") for p in parts)
           or any(not c.isprintable() for c in img_fn))
    if bad:
        raise record.error(f"{img_fn!r:.80} is not a relative path under vcr1images/", "img_fn")
    return img_fn


def _record(record: DataRecord, distinguish_repeated: bool) -> Record:
    annot_id = record.text("annot_id")
    img_fn = _img_fn(record)
    objects = record.array("objects", of=str)
    label = record.integer("answer_label", minimum=0, maximum=NUM_CHOICES - 1)
    answers = record.array("answer_choices", length=NUM_CHOICES)
    names = _Names(objects, distinguish_repeated)
    try:
        question = render(record.field("question"), objects, names=names)
    except RenderError as exc:
        raise record.error(str(exc), "question") from None
    choices = []
    for k, answer in enumerate(answers):
        try:
            choices.append(render(answer, objects, names=names))
        except RenderError as exc:
            raise record.error(str(exc), f"answer_choices[{k}]") from None
    movie = img_fn.replace("\\", "/").split("/", 1)[0]
    return Record(annot_id, img_fn, movie, question, tuple(choices), label, int(record.line or 0))


def val_movies(records: Sequence[Record], val_fraction: float, seed: int = VAL_SPLIT_SEED) -> frozenset[str]:
    """The train movies held out for val: a seeded random ``val_fraction`` of them (at least one, not all)."""
    return held_out_groups((r.movie for r in records), val_fraction, seed, too_few=lambda n: VcrDataError(
        f"VCR's train.jsonl has {n} (movies: the first folder of img_fn), so none can be held out as the val "
        "split. Fix: point the task option data_dir at the full VCR release."))


def check_images(root: Path, img_fns: Iterable[str], allow_outside: bool = False) -> None:
    """Raise naming the first image the records need but lack (MissingDataError), or that is a link
    leading out of vcr1images/ (DataError, unless ``allow_outside``); one listing per movie folder."""
    top = images_dir(root)
    if not top.is_dir():
        raise missing(top, root)
    for img_fn in sorted(set(img_fns)):
        path = top / img_fn
        require_files(path.parent, [path.name], lambda p: missing(path, root), boundary=top,
                      allow_outside=allow_outside, named_by=f"img_fn {img_fn!r}")


def data_digest(root: Path) -> str:
    """A short hash of the annotation files' sizes and modification times ("missing" for absent ones)."""
    return files_fingerprint(annotation_path(root, name) for name in ANNOTATION_FILES)
