"""Reading SNLI-VE's official files (standard library only: no torch, no PIL).

The release (https://github.com/necla-ml/SNLI-VE) is three JSON-lines files, one record per line::

    <data_dir>/snli_ve_train.jsonl
    <data_dir>/snli_ve_dev.jsonl
    <data_dir>/snli_ve_test.jsonl
    <images_dir>/<Flickr30K_ID>.jpg        (images_dir default: <data_dir>/flickr30k_images, or
                                            flickr30k-images as the official Flickr30k archive unpacks)

Each record carries SNLI's fields (``sentence1`` the caption, ``sentence2`` the hypothesis,
``gold_label``, ``annotator_labels``, ``pairID``, parses, ...) plus ``Flickr30K_ID``. The task reads
only ``Flickr30K_ID``, ``sentence2`` and ``gold_label``; the image, not the caption, is the premise.

A record that cannot be used (not JSON within the harness's limits, not an object, a missing or
mistyped field, an image id that cannot name a file (a separator, a NUL or other control
character), a gold_label other than entailment / contradiction / neutral) raises
:class:`SnliVeDataError` (a ValueError) naming the file, the line (1-based) and the field. An image
that is a link out of the images folder is refused unless the task option ``allow_symlinks_out``.
The official release holds no record with SNLI's no-consensus label ``-`` (its split counts add up to
the three labels alone), so such a line is refused, not skipped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

from climb_harness.api import (DataError, DataFile, DataRecord, ImagePath, MissingDataError,
                               files_fingerprint, misplaced_hint, read_cached, require_files,
                               stratified_sample)
from climb_snli_ve.plugin import LABELS, LAYOUT

__all__ = ["FIELDS", "IMAGE_FOLDERS", "SOURCES", "Record", "SnliVeDataError", "annotation_path",
           "check_images", "data_digest", "default_images_dir", "image_path", "missing", "parse_record",
           "read_records", "stratified_sample"]

#: The release's split names, in file-name order.
SOURCES = ("train", "dev", "test")

#: Fields read from each record.
FIELDS = ("Flickr30K_ID", "sentence2", "gold_label")

#: The images folder under the data folder when images_dir is null, in order of preference: the name
#: the AllenNLP-hosted archive (SNLI-VE's download script) unpacks to, then the official Flickr30k
#: archive's (flickr30k-images.tar.gz).
IMAGE_FOLDERS = ("flickr30k_images", "flickr30k-images")

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


def default_images_dir(root: Path) -> Path:
    """The first of :data:`IMAGE_FOLDERS` under ``root`` that exists (the first when none does)."""
    return next((root / name for name in IMAGE_FOLDERS if (root / name).is_dir()), root / IMAGE_FOLDERS[0])


def image_path(images_dir: Path, image_id: str, max_pixels: int | None = None) -> ImagePath:
    """``<images_dir>/<Flickr30K_ID>.jpg``, as Flickr30k names its images."""
    return ImagePath(images_dir / f"{image_id}.jpg", max_pixels)


def missing(path: Path, root: Path | None = None) -> MissingDataError:
    """The error for a missing file or folder, naming it, the layout and how to get the data."""
    layout = [annotation_path(Path(), s).name for s in SOURCES] + [IMAGE_FOLDERS[0]]
    hint = misplaced_hint(root, layout) if root is not None else ""
    return MissingDataError(f"SNLI-VE data not found: {path}. Expected layout: {LAYOUT}. "
                            f"{hint + ' ' if hint else ''}{_HOW_TO_GET}.")


def _file(path: Path) -> DataFile:
    return DataFile(
        path, "SNLI-VE data file",
        expected=f"Each line must be a JSON object with Flickr30K_ID, sentence2 and gold_label (one of "
        f"{', '.join(LABELS)}), as the SNLI-VE release ships it.",
        fix="re-download the file from https://github.com/necla-ml/SNLI-VE, or point data_dir at a good "
        "copy.",
        error=SnliVeDataError,
    )


def read_records(root: Path, source: str) -> list[Record]:
    """Parse ``<root>/snli_ve_<source>.jsonl``; cached while the file's size and mtime are unchanged."""
    path = annotation_path(root, source)
    try:
        return list(read_cached(path, _parse))
    except (FileNotFoundError, NotADirectoryError):
        raise missing(path, root) from None


def _parse(path: Path) -> tuple[Record, ...]:
    file = _file(path)
    records = tuple(parse_record(record) for record in file.records())
    if not records:
        raise SnliVeDataError(
            f"SNLI-VE data file {path} holds no records (it is empty). Fix: re-download it from "
            "https://github.com/necla-ml/SNLI-VE, or point data_dir at a good copy."
        )
    return records


def parse_record(record: DataRecord) -> Record:
    """One JSON line, checked field by field."""
    for field in FIELDS:
        if field not in record.value:
            raise record.error("the field is missing", field)
    image_id = record.value["Flickr30K_ID"]
    if isinstance(image_id, bool) or not isinstance(image_id, (str, int)):
        raise record.error(f"{image_id!r:.80} is not an image id (a string)", "Flickr30K_ID")
    image_id = str(image_id).strip()
    unsafe = any(c in "/\\" or not c.isprintable() for c in image_id)
    if not image_id or unsafe or image_id in (".", "..") or len(image_id) > 200:
        raise record.error(f"{record.value['Flickr30K_ID']!r:.80} is not an image id (it cannot name a "
                           "file: a separator, a NUL or other control character, or a folder reference)",
                           "Flickr30K_ID")
    hypothesis = record.value["sentence2"]
    if not isinstance(hypothesis, str) or not hypothesis.strip() or "\x00" in hypothesis:
        raise record.error(f"{hypothesis!r:.80} is not a non-empty string (without NUL characters)",
                           "sentence2")
    gold = record.value["gold_label"]
    if not isinstance(gold, str) or gold not in LABELS:
        raise record.error(f"unknown label {gold!r:.40}", "gold_label")
    return Record(image_id, hypothesis, LABELS[gold], int(record.line or 0))


def check_images(images_dir: Path, image_ids: Iterable[str], allow_outside: bool = False) -> None:
    """Raise naming the first image the records need but the folder lacks (MissingDataError), or that is
    a link leading out of the folder (DataError, unless ``allow_outside``)."""
    names = [f"{image_id}.jpg" for image_id in sorted(set(image_ids))]
    require_files(images_dir, names, missing, allow_outside=allow_outside, named_by="a Flickr30K_ID")


def data_digest(root: Path) -> str:
    """A short hash of the three annotation files' sizes and mtimes (``missing`` for an absent one)."""
    return files_fingerprint(annotation_path(root, source) for source in SOURCES)
