"""Places365-Standard scene classification, 365 classes, read from the official list files.

Layout (the Places365-Standard small-image release, 256x256)::

    <data_dir>/categories_places365.txt          "/a/airfield 0" per line: category path and index
    <data_dir>/places365_train_standard.txt      "/a/airfield/00000001.jpg 0" per line (1,803,460 lines)
    <data_dir>/places365_val.txt                 "Places365_val_00000001.jpg 165" per line (36,500 lines)
    <data_dir>/data_256/a/airfield/00000001.jpg  train images (train_256_places365standard.tar)
    <data_dir>/val_256/Places365_val_00000001.jpg  val images (val_256.tar)

The label is the list file's integer (the official index, = the line of categories_places365.txt).
"""

from __future__ import annotations

from array import array
from pathlib import Path
from typing import Any

from climb_vision_tasks._common import (
    Official,
    VisionDataError,
    VisionTask,
    clip,
    defaults_of,
    options_schema,
    path_maker,
    read_lines,
    release_manifest,
    require_dir,
)

NAME = "places365"
NUM_CLASSES = 365
CATEGORIES = "categories_places365.txt"
LISTS = {"train": "places365_train_standard.txt", "test": "places365_val.txt"}
IMAGES = {"train": "data_256", "test": "val_256"}

LAYOUT = (
    "<data_dir>/categories_places365.txt, <data_dir>/places365_train_standard.txt and <data_dir>/places365_val.txt "
    "(lines '<relative path> <label>'), train images under <data_dir>/data_256/ and val images under <data_dir>/val_256/"
)
HOW_TO_GET = (
    "download filelist_places365-standard.tar, train_256_places365standard.tar and val_256.tar from "
    "http://places2.csail.mit.edu/download.html and unpack them into the data folder ($CLIMB_DATA_ROOT/places365 "
    "or the option data_dir)"
)

OPTIONS_SCHEMA = options_schema(NAME, "1,785,210 (1,803,460 minus 50 per class held out for val)")
DEFAULT_OPTIONS = defaults_of(OPTIONS_SCHEMA)

MANIFEST: dict[str, Any] = release_manifest(
    name=NAME,
    summary="Places365-Standard scene classification into 365 classes (CLiMB's vision task).",
    description=(
        "One image, no text (the encoder supplies its stand-in text). Labels are the official indices of "
        "categories_places365.txt. Splits: test = the official validation list places365_val.txt (36,500 images, "
        "val_256/); val (model selection) = 50 images per class held out of places365_train_standard.txt "
        "(CLiMB's), chosen by a seeded random.Random per class (a class with fewer than 100 gives half); train = "
        "the rest (1,785,210 images, data_256/). Train and val are disjoint and together are the official train."
    ),
    num_labels=NUM_CLASSES,
    random_baseline=round(100 / NUM_CLASSES, 4),
    source="Places365-Standard (Zhou et al. 2017), http://places2.csail.mit.edu/: 1,803,460 train and 36,500 "
    "validation images of 365 scene categories (256x256 version).",
    license="Places terms of use: non-commercial research and educational use only.",
    citation="Zhou, B., Lapedriza, A., Khosla, A., Oliva, A., & Torralba, A. (2017). Places: A 10 Million Image "
    "Database for Scene Recognition. IEEE TPAMI 40(6), 1452-1464.",
    how_to_get=HOW_TO_GET,
    layout=LAYOUT,
    options=OPTIONS_SCHEMA,
)


class Places365DataError(VisionDataError):
    """A Places365 list file of the wrong form: names the file and the line."""


def read_categories(path: Path) -> list[str]:
    """``categories_places365.txt`` -> category names (``/a/airfield`` -> ``airfield``) by index."""
    names: dict[int, str] = {}
    for number, line in enumerate(read_lines(path, NAME, LAYOUT, HOW_TO_GET), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            raise Places365DataError(f"Places365 file {path}, line {number}: {clip(line)!r} is not '<category> <index>'.")
        index = int(parts[1])
        if index in names or index >= NUM_CLASSES:
            raise Places365DataError(f"Places365 file {path}, line {number}: index {index} is repeated or not in 0..{NUM_CLASSES - 1}.")
        names[index] = parts[0].lstrip("/")[2:] if parts[0].startswith("/") else parts[0]
    if sorted(names) != list(range(len(names))) or not names:
        raise Places365DataError(f"Places365 file {path}: the category indices are not 0..N-1.")
    return [names[i] for i in range(len(names))]


def read_list(path: Path, num_classes: int) -> tuple[list[str], array]:
    """A ``places365_*.txt`` list -> ``(relative image paths, labels)``, in file order."""
    rel: list[str] = []
    labels = array("i")
    for number, line in enumerate(read_lines(path, NAME, LAYOUT, HOW_TO_GET), start=1):
        if not line.strip():
            continue
        name, _, label = line.strip().rpartition(" ")
        if not name or not label.isdigit():
            raise Places365DataError(f"Places365 file {path}, line {number}: {clip(line)!r} is not '<image path> <label>'.")
        if int(label) >= num_classes:
            raise Places365DataError(
                f"Places365 file {path}, line {number}: label {label} is not one of the {num_classes} categories of {CATEGORIES}."
            )
        name = name.lstrip("/")
        if ".." in name.split("/"):
            raise Places365DataError(f"Places365 file {path}, line {number}: {name!r} is not a relative path.")
        rel.append(name)
        labels.append(int(label))
    if not rel:
        raise Places365DataError(f"Places365 file {path} holds no lines.")
    return rel, labels


class Places365Task(VisionTask):
    """Places365-Standard: targets index :attr:`class_names` (categories_places365.txt)."""

    NAME = NAME
    DEFAULT_OPTIONS = DEFAULT_OPTIONS
    REQUIRED_FILES = (CATEGORIES, LISTS["train"], LISTS["test"], IMAGES["train"], IMAGES["test"])
    FINGERPRINT_FILES = (CATEGORIES, LISTS["train"], LISTS["test"])

    @property
    def class_names(self) -> list[str]:
        """The 365 category names in index order."""
        if not hasattr(self, "_names"):
            self._names = read_categories(self.data_root() / CATEGORIES)
        return self._names

    def read_official(self, source: str) -> Official:
        root = self.data_root()
        rel, labels = read_list(root / LISTS[source], len(self.class_names))
        images = require_dir(root / IMAGES[source], NAME, LAYOUT, HOW_TO_GET)
        return Official(labels, path_maker(images, rel, labels))
