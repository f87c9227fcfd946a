"""COCO 2014 multi-label image classification over the 80 object categories.

Layout (the COCO 2014 release)::

    <data_dir>/annotations/instances_train2014.json   images[].id/file_name, annotations[].image_id/category_id, categories[].id/name
    <data_dir>/annotations/instances_val2014.json
    <data_dir>/train2014/COCO_train2014_<12 digits>.jpg
    <data_dir>/val2014/COCO_val2014_<12 digits>.jpg

COCO's 80 category ids run from 1 to 90 with gaps; label index = position of the id among the sorted
ids (1 person -> 0, ..., 90 toothbrush -> 79). An image's target is the sorted list of the label
indices of all its instance annotations (crowd ones included). Images without any annotation (702 in
train2014, 367 in val2014) are skipped, as in CLiMB: a target with no label gives the BCE head nothing
to learn and micro-F1 nothing to score.

The random baseline: micro-F1 of guessing every label independently with probability 1/2 (the
multi-label analogue of uniform guessing). With label density ``d`` (the share of (image, label) pairs
that are positive) its precision is ``d``, its recall 1/2, so micro-F1 = ``d / (d + 1/2)``; COCO 2014
has about 2.9 labels per annotated image, d = 2.9 / 80, giving 6.76 (see :func:`coin_flip_micro_f1`).
"""

from __future__ import annotations

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

NAME = "coco-cls"
NUM_CLASSES = 80
FILES = {"train": "annotations/instances_train2014.json", "test": "annotations/instances_val2014.json"}
IMAGES = {"train": "train2014", "test": "val2014"}
#: Mean distinct categories per annotated COCO 2014 image (train and val alike).
LABELS_PER_IMAGE = 2.9


def coin_flip_micro_f1(labels_per_image: float = LABELS_PER_IMAGE, num_labels: int = NUM_CLASSES) -> float:
    """Expected micro-F1 (0-100) of predicting each label with probability 1/2.

    Example:
        >>> coin_flip_micro_f1()
        6.76
    """
    density = labels_per_image / num_labels
    return round(100 * density / (density + 0.5), 2)


LAYOUT = (
    "<data_dir>/annotations/instances_{train,val}2014.json (COCO instances: images[].id/file_name, "
    "annotations[].image_id/category_id, categories[]) and the images <data_dir>/train2014/ and <data_dir>/val2014/"
)
HOW_TO_GET = (
    "download train2014.zip, val2014.zip and annotations_trainval2014.zip from https://cocodataset.org/#download and "
    "unpack them into the data folder ($CLIMB_DATA_ROOT/coco-cls or the option data_dir)"
)

OPTIONS_SCHEMA = options_schema(NAME, "annotated train2014 images minus the val hold-out (about 78,100)")
DEFAULT_OPTIONS = defaults_of(OPTIONS_SCHEMA)

MANIFEST: dict[str, Any] = release_manifest(
    name=NAME,
    summary="COCO 2014 multi-label classification: which of the 80 object categories an image shows (CLiMB's).",
    description=(
        "One image, no text (the encoder supplies its stand-in text). Target = sorted list of the label indices "
        "of the image's instance annotations (crowd included); the 80 non-contiguous category ids map, sorted, to "
        "0..79. Images without annotations are skipped (CLiMB-like). Metric micro-F1 at sigmoid > 0.5. Splits: "
        "test = the annotated val2014 images (40,137); val (model selection) = held out of train2014: labels "
        "visited rarest first, images holding a label (seeded shuffle) held out until the hold-out holds it 50 "
        "times (half its images if it has fewer than 100), at most 4,000 images; train = the rest of the annotated "
        "train2014 images. Train and val are disjoint and together are the annotated official train. Random "
        "baseline 6.76 = micro-F1 of guessing each label with probability 1/2: d / (d + 0.5) with label density "
        "d = 2.9 / 80."
    ),
    head_type="multi-label",
    num_labels=NUM_CLASSES,
    metric="micro-f1",
    random_baseline=coin_flip_micro_f1(),
    source="Microsoft COCO 2014 (Lin et al. 2014), https://cocodataset.org/: 82,783 train and 40,504 val images, "
    "80 object categories; the multi-label targets are derived from the instance annotations.",
    license="Annotations: CC BY 4.0; images: their Flickr licences (see the COCO terms of use).",
    citation="Lin, T.-Y., Maire, M., Belongie, S., et al. (2014). Microsoft COCO: Common Objects in Context. ECCV 2014.",
    how_to_get=HOW_TO_GET,
    layout=LAYOUT,
    options=OPTIONS_SCHEMA,
)


class CocoDataError(VisionDataError):
    """A COCO annotation file of the wrong form: names the file, the record and the field."""


def _get(path: Path, where: str, record: Any, field: str, kind: type | tuple[type, ...]) -> Any:
    return record_field(CocoDataError, "COCO", path, where, record, field, kind)


def read_instances(path: Path) -> tuple[list[tuple[int, str]], list[str], list[tuple[int, ...]], int]:
    """An ``instances_*2014.json`` -> ``(categories [(id, name)] sorted by id, file names, category-id
    tuples (sorted, distinct) per annotated image in file order, images skipped for having no annotation)``."""
    data, categories = read_coco_style(path, CocoDataError, "COCO", NAME, LAYOUT, HOW_TO_GET)
    known = {cid for cid, _ in categories}
    present: dict[Any, set[int]] = {}
    for i, a in enumerate(data["annotations"]):
        image_id = _get(path, f"annotations[{i}]", a, "image_id", (int, str))
        category = _get(path, f"annotations[{i}]", a, "category_id", int)
        if category not in known:
            raise CocoDataError(
                f"COCO file {path}, annotations[{i}], field 'category_id': {category} is not one of the file's categories."
            )
        present.setdefault(image_id, set()).add(category)
    names: list[str] = []
    labels: list[tuple[int, ...]] = []
    skipped = 0
    for i, image in enumerate(data["images"]):
        image_id = _get(path, f"images[{i}]", image, "id", (int, str))
        file_name = _get(path, f"images[{i}]", image, "file_name", str)
        if "/" in file_name or "\\" in file_name or file_name in (".", ".."):
            raise CocoDataError(f"COCO file {path}, images[{i}], field 'file_name': {file_name!r} is not a file name.")
        if image_id not in present:
            skipped += 1
            continue
        names.append(file_name)
        labels.append(tuple(sorted(present[image_id])))
    if not names:
        raise CocoDataError(f"COCO file {path} holds no annotated images.")
    return categories, names, labels, skipped


class CocoClsTask(CategoryFileTask):
    """COCO multi-label: targets are sorted lists of indices into :attr:`class_names` (the 80 category
    names in label order: sorted category ids)."""

    NAME = NAME
    DEFAULT_OPTIONS = DEFAULT_OPTIONS
    MULTI_LABEL = True
    ANNOTATION_FILES = FILES
    REQUIRED_FILES = (FILES["train"], FILES["test"], IMAGES["train"], IMAGES["test"])

    @property
    def category_ids(self) -> list[int]:
        """COCO's category id of each label index."""
        self.official("train")
        return [cid for cid, _ in self._categories]

    #: Images skipped for having no annotation, per official split (filled when read).
    skipped_unannotated: dict[str, int]

    def read_official(self, source: str) -> Official:
        root = self.data_root()
        path = self.annotation_file(source)
        categories, names, category_sets, skipped = read_instances(path)
        if source == "train":
            if len(categories) != NUM_CLASSES:
                raise CocoDataError(
                    f"COCO file {path} lists {len(categories)} categories, not the {NUM_CLASSES} of COCO 2014 instances."
                )
            self.set_categories(categories)
        elif [cid for cid, _ in categories] != [cid for cid, _ in self._categories]:
            raise CocoDataError(f"COCO file {path} lists other categories than {root / FILES['train']}.")
        self.__dict__.setdefault("skipped_unannotated", {})[source] = skipped
        targets = [tuple(self._index[c] for c in cats) for cats in category_sets]
        images = require_dir(root / IMAGES[source], NAME, LAYOUT, HOW_TO_GET)
        return Official(targets, path_maker(images, names, targets, multi_label=True))
