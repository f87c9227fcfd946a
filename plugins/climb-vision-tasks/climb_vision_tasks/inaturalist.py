"""iNaturalist 2019 species classification, 1010 classes, read from the competition's COCO-style files.

Layout (the iNat 2019 FGVC6 release)::

    <data_dir>/train2019.json      images[].id, file_name; annotations[].image_id, category_id; categories[].id, name
    <data_dir>/val2019.json        the same, 3,030 images (3 per class)
    <data_dir>/train_val2019/<kingdom>/<category id>/<hash>.jpg    (file_name is relative to <data_dir>)

Class index = position of the category id among the sorted ids of train2019.json's categories (the
release's ids are already 0..1009). Every image must have exactly one annotation (as in the release).
"""

from __future__ import annotations

from array import array
from pathlib import Path
from typing import Any

from climb_vision_tasks._common import (
    CategoryFileTask,
    Official,
    VisionDataError,
    defaults_of,
    options_schema,
    path_maker,
    read_coco_style,
    record_field,
    release_manifest,
    require_dir,
)

NAME = "inaturalist2019"
NUM_CLASSES = 1010
FILES = {"train": "train2019.json", "test": "val2019.json"}
IMAGES = "train_val2019"

LAYOUT = (
    "<data_dir>/train2019.json and <data_dir>/val2019.json (COCO-style: images[].id/file_name, "
    "annotations[].image_id/category_id, categories[]) and the images <data_dir>/train_val2019/<kingdom>/<id>/<hash>.jpg "
    "(file_name is relative to <data_dir>)"
)
HOW_TO_GET = (
    "download train_val2019.tar.gz and train2019.json.tar.gz / val2019.json.tar.gz of the iNaturalist 2019 "
    "competition (https://github.com/visipedia/inat_comp/tree/master/2019) and unpack them into the data folder "
    "($CLIMB_DATA_ROOT/inaturalist2019 or the option data_dir)"
)

OPTIONS_SCHEMA = options_schema(NAME, "of the 265,213 official train images minus the val hold-out")
DEFAULT_OPTIONS = defaults_of(OPTIONS_SCHEMA)

MANIFEST: dict[str, Any] = release_manifest(
    name=NAME,
    summary="iNaturalist 2019 species classification into 1010 classes (CLiMB's vision task).",
    description=(
        "One image, no text (the encoder supplies its stand-in text). Class index = position of the category id "
        "among train2019.json's sorted category ids. Splits: test = the official val2019.json (3,030 images); val "
        "(model selection) = 50 images per class held out of train2019.json (CLiMB's), chosen by a seeded "
        "random.Random per class; a class with fewer than 100 training images gives half of them (rounded down); "
        "train = the rest. Train and val are disjoint and together are the official train."
    ),
    num_labels=NUM_CLASSES,
    random_baseline=round(100 / NUM_CLASSES, 4),
    source="iNaturalist 2019 (FGVC6 at CVPR 2019), https://github.com/visipedia/inat_comp/tree/master/2019: "
    "265,213 train and 3,030 validation images of 1010 species.",
    license="Images: their photographers' Creative Commons licences as listed in the release; annotations: "
    "the competition's terms (research use).",
    citation="Van Horn, G., Mac Aodha, O., Song, Y., et al. (2018). The iNaturalist Species Classification and "
    "Detection Dataset. CVPR 2018.",
    how_to_get=HOW_TO_GET,
    layout=LAYOUT,
    options=OPTIONS_SCHEMA,
)


class INaturalistDataError(VisionDataError):
    """An iNaturalist 2019 file of the wrong form: names the file, the record and the field."""


def _field(path: Path, where: str, record: Any, field: str, kind: type | tuple[type, ...]) -> Any:
    return record_field(INaturalistDataError, "iNaturalist 2019", path, where, record, field, kind)


def read_split(path: Path) -> tuple[list[tuple[int, str]], list[str], list[int]]:
    """One annotation file -> ``(categories [(id, name)] sorted by id, file names, category ids)``."""
    data, categories = read_coco_style(path, INaturalistDataError, "iNaturalist 2019", NAME, LAYOUT, HOW_TO_GET)
    label_of: dict[int, int] = {}
    for i, a in enumerate(data["annotations"]):
        image_id = _field(path, f"annotations[{i}]", a, "image_id", (int, str))
        category = _field(path, f"annotations[{i}]", a, "category_id", int)
        if image_id in label_of:
            raise INaturalistDataError(
                f"iNaturalist 2019 file {path}, annotations[{i}]: image {image_id!r} has a second annotation; each image "
                "of the release has exactly one."
            )
        label_of[image_id] = category
    names: list[str] = []
    labels: list[int] = []
    for i, image in enumerate(data["images"]):
        image_id = _field(path, f"images[{i}]", image, "id", (int, str))
        file_name = _field(path, f"images[{i}]", image, "file_name", str)
        if file_name.startswith("/") or ".." in file_name.split("/"):
            raise INaturalistDataError(f"iNaturalist 2019 file {path}, images[{i}], field 'file_name': {file_name!r} is not relative.")
        if image_id not in label_of:
            raise INaturalistDataError(f"iNaturalist 2019 file {path}, images[{i}]: image {image_id!r} has no annotation.")
        names.append(file_name)
        labels.append(label_of[image_id])
    if not names:
        raise INaturalistDataError(f"iNaturalist 2019 file {path} holds no images.")
    return categories, names, labels


class INaturalist2019Task(CategoryFileTask):
    """iNaturalist 2019: targets index :attr:`class_names` (train2019.json's sorted category ids)."""

    NAME = NAME
    DEFAULT_OPTIONS = DEFAULT_OPTIONS
    ANNOTATION_FILES = FILES
    REQUIRED_FILES = (FILES["train"], FILES["test"], IMAGES)

    def read_official(self, source: str) -> Official:
        root = self.data_root()
        path = self.annotation_file(source)
        categories, names, labels = read_split(path)
        if source == "train":
            if len(categories) > NUM_CLASSES:
                raise INaturalistDataError(f"iNaturalist 2019 file {path} lists {len(categories)} categories, more than {NUM_CLASSES}.")
            self.set_categories(categories)
        targets = array("i")
        for i, category in enumerate(labels):
            if category not in self._index:
                raise INaturalistDataError(
                    f"iNaturalist 2019 file {path}: the annotation of image {names[i]!r} has category_id {category}, "
                    f"which {FILES['train']} does not list."
                )
            targets.append(self._index[category])
        require_dir(root / IMAGES, NAME, LAYOUT, HOW_TO_GET)
        return Official(targets, path_maker(root, names, targets))
