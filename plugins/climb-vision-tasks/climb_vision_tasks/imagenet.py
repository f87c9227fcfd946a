"""ImageNet (ILSVRC2012) classification, 1000 classes, read from the official folder layout.

Layout (the ILSVRC2012 CLS-LOC release as ImageNet and Kaggle ship it)::

    <data_dir>/train/<wnid>/<wnid>_<n>.JPEG          1,281,167 images in 1000 class folders
    <data_dir>/val/ILSVRC2012_val_<8 digits>.JPEG    50,000 images, one flat folder
    <data_dir>/LOC_val_solution.csv                  ImageId,PredictionString ("wnid x1 y1 x2 y2 wnid ...")
    <data_dir>/LOC_synset_mapping.txt                optional: "<wnid> <names>" per line, for class names

Class index = position of the wnid among the sorted train folder names (the official order: the
synset mapping file lists them sorted, n01440764 first). When ``LOC_synset_mapping.txt`` is there, it
must name the same wnids as the train folders (so a missing folder cannot shift every label). A val
image's label is the first wnid of its PredictionString (all boxes of an image carry the same wnid).

Listing is linear: one ``os.scandir`` of ``train/`` and one of each class folder (names sorted), one
of ``val/`` checked against the CSV as a set.
"""

from __future__ import annotations

import csv
import io
import os
from array import array
from pathlib import Path
from typing import Any

from climb_vision_tasks._common import (
    MissingDataFile,
    Official,
    VisionDataError,
    VisionTask,
    clip,
    defaults_of,
    missing,
    options_schema,
    path_maker,
    read_lines,
    release_manifest,
)

NAME = "imagenet"
NUM_CLASSES = 1000
IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png")

LAYOUT = (
    "<data_dir>/train/<wnid>/<wnid>_<n>.JPEG (1000 class folders), <data_dir>/val/ILSVRC2012_val_<8 digits>.JPEG "
    "(flat), <data_dir>/LOC_val_solution.csv (ImageId,PredictionString; the first wnid is the label) and optionally "
    "<data_dir>/LOC_synset_mapping.txt (class names)"
)
HOW_TO_GET = (
    "download ILSVRC2012 (image-net.org, or Kaggle's 'ImageNet Object Localization Challenge', whose "
    "ILSVRC/Data/CLS-LOC/{train,val} and LOC_val_solution.csv / LOC_synset_mapping.txt are this layout) and "
    "put or link train/, val/ and the two files into the data folder ($CLIMB_DATA_ROOT/imagenet or the option data_dir)"
)

OPTIONS_SCHEMA = options_schema(NAME, "1,231,167 (1,281,167 minus 50 per class held out for val)")
DEFAULT_OPTIONS = defaults_of(OPTIONS_SCHEMA)

MANIFEST: dict[str, Any] = release_manifest(
    name=NAME,
    summary="ImageNet (ILSVRC2012) image classification into 1000 classes (CLiMB's vision task).",
    description=(
        "One image, no text (the encoder supplies its stand-in text, CLiMB's 'This is an image.'). Class index = "
        "position of the wnid among the sorted train folder names. Splits: test = the official 50,000 validation "
        "images, labelled by the first wnid of LOC_val_solution.csv's PredictionString; val (model selection) = 50 "
        "images per class held out of the official train (CLiMB's), chosen by a seeded random.Random per class "
        "(a class with fewer than 100 images gives half); train = the rest of the official train (1,231,167 "
        "images). Train and val are disjoint and together are the official train."
    ),
    num_labels=NUM_CLASSES,
    random_baseline=0.1,
    source="ILSVRC2012 classification (Russakovsky et al. 2015), https://image-net.org/challenges/LSVRC/2012/: "
    "1,281,167 train and 50,000 validation images, 1000 classes.",
    license="ImageNet terms of access: non-commercial research and educational use only.",
    citation="Russakovsky, O., Deng, J., Su, H., et al. (2015). ImageNet Large Scale Visual Recognition "
    "Challenge. IJCV 115(3), 211-252.",
    how_to_get=HOW_TO_GET,
    layout=LAYOUT,
    options=OPTIONS_SCHEMA,
)


class ImageNetDataError(VisionDataError):
    """An ImageNet file of the wrong form: names the file, the line and the fix."""


def _missing(path: Path) -> MissingDataFile:
    return missing(NAME, path, LAYOUT, HOW_TO_GET)


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES) and not name.startswith(".")


def list_classes(train: Path) -> list[str]:
    """The sorted wnid folder names under ``train/``."""
    try:
        with os.scandir(train) as entries:
            wnids = sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))
    except (FileNotFoundError, NotADirectoryError):
        raise _missing(train) from None
    if not wnids:
        raise ImageNetDataError(f"ImageNet train folder {train} holds no class folders. Expected layout: {LAYOUT}.")
    return wnids


def read_synset_mapping(path: Path) -> dict[str, str]:
    """``LOC_synset_mapping.txt``: ``<wnid> <comma-separated names>`` per line -> ``{wnid: names}``."""
    names: dict[str, str] = {}
    for number, line in enumerate(read_lines(path, NAME, LAYOUT, HOW_TO_GET, ImageNetDataError), start=1):
        if not line.strip():
            continue
        wnid, _, label = line.strip().partition(" ")
        if wnid in names:
            raise ImageNetDataError(f"ImageNet synset mapping {path}, line {number}: wnid {wnid!r} appears twice.")
        names[wnid] = label.strip()
    return names


def read_val_solution(path: Path, index: dict[str, int]) -> list[tuple[str, int]]:
    """``LOC_val_solution.csv`` -> ``[(ImageId, class index)]`` sorted by ImageId."""
    rows: list[tuple[str, int]] = []
    text = "\n".join(read_lines(path, NAME, LAYOUT, HOW_TO_GET, ImageNetDataError))
    with io.StringIO(text, newline="") as file:
        reader = csv.reader(file)
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:2]] != ["ImageId", "PredictionString"]:
            raise ImageNetDataError(
                f"ImageNet file {path}, line 1: the header is {clip(header)!s}, not 'ImageId,PredictionString' "
                "(the release's LOC_val_solution.csv). Re-download it."
            )
        seen: set[str] = set()
        for number, row in enumerate(reader, start=2):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 2 or not row[0].strip() or not row[1].split():
                raise ImageNetDataError(f"ImageNet file {path}, line {number}: {clip(row)!s} is not 'ImageId,wnid x1 y1 x2 y2 ...'.")
            image_id, wnid = row[0].strip(), row[1].split()[0]
            if wnid not in index:
                raise ImageNetDataError(
                    f"ImageNet file {path}, line {number}, field 'PredictionString': wnid {wnid!r} is not one of the "
                    f"{len(index)} train class folders."
                )
            if image_id in seen:
                raise ImageNetDataError(f"ImageNet file {path}, line {number}: ImageId {image_id!r} appears twice.")
            seen.add(image_id)
            rows.append((image_id, index[wnid]))
    if not rows:
        raise ImageNetDataError(f"ImageNet file {path} holds no rows.")
    rows.sort()
    return rows


class ImageNetTask(VisionTask):
    """ILSVRC2012 classification: targets index :attr:`wnids` (sorted train folders)."""

    NAME = NAME
    DEFAULT_OPTIONS = DEFAULT_OPTIONS
    REQUIRED_FILES = ("train", "val", "LOC_val_solution.csv")
    FINGERPRINT_FILES = ("LOC_val_solution.csv", "LOC_synset_mapping.txt", "train", "val")

    @property
    def wnids(self) -> list[str]:
        """The wnids in class-index order."""
        if not hasattr(self, "_wnids"):
            self._read_classes()
        return self._wnids

    @property
    def class_names(self) -> list[str]:
        """The class names in index order (``LOC_synset_mapping.txt``'s, else the wnids)."""
        if not hasattr(self, "_names"):
            self._read_classes()
        return self._names

    def _read_classes(self) -> None:
        root = self.data_root()
        wnids = list_classes(root / "train")
        mapping_path = root / "LOC_synset_mapping.txt"
        names = dict.fromkeys(wnids, "")
        if mapping_path.is_file():
            mapping = read_synset_mapping(mapping_path)
            if set(mapping) != set(wnids):
                extra = sorted(set(wnids) - set(mapping))
                if extra:
                    raise ImageNetDataError(
                        f"ImageNet train folder {root / 'train'} holds class folder(s) {', '.join(extra[:3])} that "
                        f"{mapping_path} does not list. Remove them, or fix the mapping file."
                    )
                raise _missing(root / "train" / sorted(set(mapping) - set(wnids))[0])
            names = mapping
        if len(wnids) > NUM_CLASSES:
            raise ImageNetDataError(
                f"ImageNet train folder {root / 'train'} holds {len(wnids)} class folders, more than the {NUM_CLASSES} "
                "of ILSVRC2012. Remove the extra folders."
            )
        self._wnids = wnids
        self._names = [names[w] or w for w in wnids]

    def read_official(self, source: str) -> Official:
        root = self.data_root()
        index = {wnid: i for i, wnid in enumerate(self.wnids)}
        rel: list[str] = []
        targets = array("i")
        if source == "train":
            for wnid, label in index.items():
                folder = root / "train" / wnid
                with os.scandir(folder) as entries:
                    files = sorted(e.name for e in entries if _is_image(e.name))
                rel.extend(f"train/{wnid}/{name}" for name in files)
                targets.extend([label] * len(files))
        else:
            rows = read_val_solution(root / "LOC_val_solution.csv", index)
            val = root / "val"
            try:
                with os.scandir(val) as entries:
                    present = {e.name for e in entries}
            except (FileNotFoundError, NotADirectoryError):
                raise _missing(val) from None
            for image_id, label in rows:
                name = next((image_id + s for s in (".JPEG", ".jpeg", ".jpg", ".png") if image_id + s in present), None)
                if name is None:
                    raise _missing(val / f"{image_id}.JPEG")
                rel.append(f"val/{name}")
                targets.append(label)
        return Official(targets, path_maker(root, rel, targets))
