"""``imdb``: IMDb movie-review sentiment (Maas et al. 2011), read from the official ``aclImdb`` release.

The release (``aclImdb_v1.tar.gz``) unpacks to::

    <data_dir>/aclImdb/train/pos/<id>_<rating>.txt   12,500 reviews rated 7-10
    <data_dir>/aclImdb/train/neg/<id>_<rating>.txt   12,500 reviews rated 1-4
    <data_dir>/aclImdb/test/pos/...  test/neg/...    25,000 more
    <data_dir>/aclImdb/train/unsup/                  50,000 unlabelled reviews: not read

One review per file (one line, with the release's ``<br />`` tags kept, as Hugging Face's
``imdb`` data set, which CLiMB loaded, keeps them). Labels: ``neg`` 0, ``pos`` 1 (the folder). A file
whose name is not ``<id>_<rating>.txt``, whose rating does not fit its folder (neg 1-4, pos 7-10),
that is empty or not UTF-8 raises :class:`ImdbDataError` naming the file. Files are read in
(folder neg then pos, numeric id) order. Splits: train / val = a seeded, label-stratified 70/30
carving of the official train split (seed 2022); test = the official test split.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any

from climb_harness.api import JsonLimits

from climb_language_tasks._common import (
    FileFormat,
    LanguageDataError,
    LanguageTask,
    Record,
    default_options,
    how_to_get,
    manifest,
    options_schema,
)

NAME = "imdb"
#: Folder -> class index; the folder is the label.
LABELS: dict[str, int] = {"neg": 0, "pos": 1}
#: The ratings each folder holds in the official release.
RATINGS: dict[str, range] = {"neg": range(1, 5), "pos": range(7, 11)}
#: Harness source -> the release's folder under aclImdb/.
SOURCES: dict[str, str] = {"train": "train", "test": "test"}

LAYOUT = (
    "<data_dir>/aclImdb/{train,test}/{neg,pos}/<id>_<rating>.txt (the official aclImdb_v1.tar.gz unpacked; "
    "train/unsup is not read)"
)
HOW_TO_GET = how_to_get(
    NAME,
    "download aclImdb_v1.tar.gz from https://ai.stanford.edu/~amaas/data/sentiment/ and unpack it",
    holds="aclImdb/",
)
_FILE_NAME = re.compile(r"^(\d+)_(\d+)\.txt$")
#: A review file is read whole, at most 1 MiB (the release's longest review is about 14 KB).
REVIEW_LIMITS = JsonLimits(max_bytes=2**20)

OPTIONS_SCHEMA = options_schema(NAME, "Folder holding aclImdb/ (the unpacked official release)")
DEFAULT_OPTIONS = default_options(OPTIONS_SCHEMA)

MANIFEST: dict[str, Any] = manifest(
    NAME,
    summary="IMDb movie-review sentiment: is a review negative (rated 1-4) or positive (7-10)?",
    description=(
        "One movie review as text; labels neg 0, pos 1 (the release folder). Splits as CLiMB built them: val "
        "(model selection) = a random 30% of the official train split (seed 2022, stratified by label), train = "
        "the other 70%, test (reported) = the official test split. The unlabelled train/unsup reviews are not "
        "read. Texts are the files' contents, <br /> tags kept; the encoder truncates to max_text_length."
    ),
    max_text_length=160,
    head={"type": "classification", "num_labels": len(LABELS)},
    data={
        "source": "Large Movie Review Dataset v1.0 (aclImdb), https://ai.stanford.edu/~amaas/data/sentiment/: "
        "25,000 train and 25,000 test reviews, balanced, at most 30 per movie, train and test movies disjoint.",
        "license": "No explicit licence; released by Stanford for research use (the reviews come from IMDb); cite "
        "the paper.",
        "citation": "Maas, A. L., Daly, R. E., Pham, P. T., Huang, D., Ng, A. Y., & Potts, C. (2011). Learning Word "
        "Vectors for Sentiment Analysis. ACL 2011.",
        "how_to_get": "Download aclImdb_v1.tar.gz from https://ai.stanford.edu/~amaas/data/sentiment/ and unpack it "
        "into the data folder (it makes aclImdb/).",
        "layout": LAYOUT,
    },
    options=OPTIONS_SCHEMA,
)


class ImdbDataError(LanguageDataError):
    """An IMDb review file that cannot be used: names the file."""


FORMAT = FileFormat(
    ImdbDataError,
    "IMDb",
    "Each review is one UTF-8 file <id>_<rating>.txt in aclImdb/<split>/neg (ratings 1-4) or pos (7-10).",
    HOW_TO_GET,
)


def folder(root: Path, source: str, label: str) -> Path:
    """``<root>/aclImdb/<train|test>/<neg|pos>``."""
    return root / "aclImdb" / SOURCES[source] / label


def read_folder(root: Path, source: str, label: str) -> list[Record]:
    """The reviews of one release folder, in numeric-id order."""
    where = folder(root, source, label)
    try:
        names = [n for n in os.listdir(where) if not n.startswith(".")]
    except (FileNotFoundError, NotADirectoryError):
        raise FORMAT.missing(where) from None
    keyed = []
    for name in names:
        match = _FILE_NAME.match(name)
        if not match:
            raise FORMAT.bad(where / name, None, None, "the file name is not <id>_<rating>.txt")
        review_id, rating = int(match[1]), int(match[2])
        if rating not in RATINGS[label]:
            allowed = f"{RATINGS[label].start}-{RATINGS[label].stop - 1}"
            raise FORMAT.bad(where / name, None, None, f"rating {rating} does not belong in {label}/ (ratings {allowed})")
        keyed.append((review_id, rating, name))
    if not keyed:
        raise FORMAT.error(f"IMDb folder {where} holds no reviews (it is empty). Fix: {HOW_TO_GET}")
    records = []
    for _, _, name in sorted(keyed):
        path = where / name
        try:
            text = dataclasses.replace(FORMAT.file(path), limits=REVIEW_LIMITS).read_text().strip()
        except FileNotFoundError:
            raise FORMAT.missing(path) from None
        if not text:
            raise FORMAT.bad(path, 1, None, "the review is empty")
        records.append(Record(text=text, label=LABELS[label], id=f"{SOURCES[source]}/{label}/{name}"))
    return records


class ImdbTask(LanguageTask):
    """IMDb sentiment: neg 0, pos 1."""

    NAME = NAME
    DEFAULTS = DEFAULT_OPTIONS
    labels = tuple(sorted(LABELS, key=LABELS.__getitem__))
    TEST_SOURCE = "test"

    def source_paths(self, root: Path) -> list[Path]:
        return [folder(root, source, label) for source in SOURCES for label in LABELS]

    def read_source(self, root: Path, source: str) -> list[Record]:
        return [record for label in LABELS for record in read_folder(root, source, label)]
