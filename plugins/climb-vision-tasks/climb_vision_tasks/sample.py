"""Tiny releases in the official layouts, to try the tasks (and test them) without the real data.

``write_sample_release(root, task)`` writes one task's release under ``root`` and returns the folder
to pass as its ``data_dir`` option; ``write_sample_release(root)`` writes every file-based task's
under ``root/<task>`` and returns ``root`` (a ``$CLIMB_DATA_ROOT``). Images are tiny JPEGs / PNGs
(Pillow); Fashion-MNIST gets real gzipped idx files (numpy). ``digits`` needs no files.

:data:`EXPECTED` records what each sample holds, for the tests.
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Any

__all__ = ["COCO_CATEGORIES", "EXPECTED", "TASKS", "write_sample_release"]

#: The file-based tasks a sample release exists for.
TASKS = ("imagenet", "inaturalist2019", "places365", "coco-cls", "fashion-mnist")

#: COCO 2014's 80 instance categories: (id, name); ids 1..90 with ten gaps.
_COCO_NAMES = (
    "person bicycle car motorcycle airplane bus train truck boat traffic_light fire_hydrant stop_sign parking_meter "
    "bench bird cat dog horse sheep cow elephant bear zebra giraffe backpack umbrella handbag tie suitcase frisbee skis "
    "snowboard sports_ball kite baseball_bat baseball_glove skateboard surfboard tennis_racket bottle wine_glass cup "
    "fork knife spoon bowl banana apple sandwich orange broccoli carrot hot_dog pizza donut cake chair couch "
    "potted_plant bed dining_table toilet tv laptop mouse remote keyboard cell_phone microwave oven toaster sink "
    "refrigerator book clock vase scissors teddy_bear hair_drier toothbrush"
).split()
_COCO_GAPS = {12, 26, 29, 30, 45, 66, 68, 69, 71, 83}
COCO_CATEGORIES = tuple(zip([i for i in range(1, 91) if i not in _COCO_GAPS], [n.replace("_", " ") for n in _COCO_NAMES]))

_WNIDS = ("n01440764", "n01443537", "n01484850")
_WNID_NAMES = ("tench, Tinca tinca", "goldfish, Carassius auratus", "great white shark, white shark")
#: ImageNet val image number -> wnid (the CSV lists them out of order, with several boxes each).
_IMAGENET_VAL = {1: "n01484850", 2: "n01440764", 3: "n01443537", 4: "n01440764", 5: "n01484850", 6: "n01443537"}

#: COCO sample: file -> category ids (an empty tuple: an image without annotations).
_COCO_TRAIN = {
    "COCO_train2014_000000000009.jpg": (1, 90, 1),
    "COCO_train2014_000000000025.jpg": (25,),
    "COCO_train2014_000000000030.jpg": (3, 1),
    "COCO_train2014_000000000034.jpg": (),
    "COCO_train2014_000000000036.jpg": (90,),
    "COCO_train2014_000000000049.jpg": (25, 3),
    "COCO_train2014_000000000061.jpg": (1,),
    "COCO_train2014_000000000064.jpg": (3,),
}
_COCO_VAL = {
    "COCO_val2014_000000000042.jpg": (18, 1),
    "COCO_val2014_000000000073.jpg": (),
    "COCO_val2014_000000000074.jpg": (90, 3, 25),
    "COCO_val2014_000000000133.jpg": (1,),
}

#: What each sample holds (official split sizes and class counts).
EXPECTED: dict[str, dict[str, Any]] = {
    "imagenet": {"wnids": _WNIDS, "train_per_class": 5, "val_labels": _IMAGENET_VAL},
    "inaturalist2019": {"category_ids": (0, 1, 2), "train_per_class": 4, "val_per_class": 1},
    "places365": {"categories": 3, "train_per_class": 4, "val_per_class": 2},
    "coco-cls": {"train": _COCO_TRAIN, "val": _COCO_VAL},
    "fashion-mnist": {"train_per_class": 4, "test_per_class": 2},
}


def _image(path: Path, shade: int, fmt: str | None = None) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (12, 10), (shade % 256, 90, 200 - shade % 200)).save(path, format=fmt)


def _imagenet(root: Path) -> None:
    for c, wnid in enumerate(_WNIDS):
        for n in range(EXPECTED["imagenet"]["train_per_class"]):
            _image(root / "train" / wnid / f"{wnid}_{10 + 7 * n}.JPEG", 40 * c + n, "JPEG")
    (root / "LOC_synset_mapping.txt").write_text("".join(f"{w} {n}\n" for w, n in zip(_WNIDS, _WNID_NAMES)), encoding="utf-8")
    rows = []
    for number, wnid in sorted(_IMAGENET_VAL.items(), key=lambda kv: -kv[0]):  # not in ImageId order
        image_id = f"ILSVRC2012_val_{number:08d}"
        _image(root / "val" / f"{image_id}.JPEG", 20 * number, "JPEG")
        # the release's boxes of one image share its wnid; here a second box names another wnid, so that
        # reading any but the first wnid shows in the tests
        other = _WNIDS[(_WNIDS.index(wnid) + 1) % len(_WNIDS)]
        rows.append([image_id, f"{wnid} 10 20 30 40 {other} 1 2 3 4 "])
    with open(root / "LOC_val_solution.csv", "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["ImageId", "PredictionString"])
        writer.writerows(rows)


def _inaturalist(root: Path) -> None:
    categories = [{"id": i, "name": f"Species {i}", "kingdom": "Plants", "supercategory": "Plants"} for i in (0, 1, 2)]
    for source, per_class, name in (("train", 4, "train2019.json"), ("val", 1, "val2019.json")):
        images, annotations = [], []
        for category in (2, 0, 1):  # not in category order
            for n in range(per_class):
                image_id = len(images) + (0 if source == "train" else 1000)
                file_name = f"train_val2019/Plants/{category}/{source}{category}x{n}.jpg"
                _image(root / file_name, 30 * category + n, "JPEG")
                images.append({"id": image_id, "file_name": file_name, "width": 12, "height": 10, "license": 0})
                annotations.append({"id": image_id, "image_id": image_id, "category_id": category})
        data = {"info": {"year": 2019}, "images": images, "annotations": annotations, "categories": categories,
                "licenses": []}
        (root / name).write_text(json.dumps(data), encoding="utf-8")


def _places365(root: Path) -> None:
    categories = ["/a/airfield", "/b/bakery/shop", "/c/canyon"]
    (root / "categories_places365.txt").write_text("".join(f"{c} {i}\n" for i, c in enumerate(categories)), encoding="utf-8")
    lines = []
    for n in range(EXPECTED["places365"]["train_per_class"]):
        for i, c in enumerate(categories):
            rel = f"{c}/{n + 1:08d}.jpg"
            _image(root / "data_256" / rel.lstrip("/"), 50 * i + n, "JPEG")
            lines.append(f"{rel} {i}\n")
    (root / "places365_train_standard.txt").write_text("".join(lines), encoding="utf-8")
    val = []
    for k, label in enumerate([2, 0, 1, 1, 0, 2], start=1):
        name = f"Places365_val_{k:08d}.jpg"
        _image(root / "val_256" / name, 25 * k, "JPEG")
        val.append(f"{name} {label}\n")
    (root / "places365_val.txt").write_text("".join(val), encoding="utf-8")


def _coco(root: Path) -> None:
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    categories = [{"supercategory": "thing", "id": cid, "name": name} for cid, name in reversed(COCO_CATEGORIES)]
    for source, files in (("train2014", _COCO_TRAIN), ("val2014", _COCO_VAL)):
        images, annotations = [], []
        for file_name, cats in files.items():
            image_id = int(file_name.rsplit("_", 1)[1].split(".")[0])
            _image(root / source / file_name, image_id, "JPEG")
            images.append({"id": image_id, "file_name": file_name, "width": 12, "height": 10, "license": 1})
            for cid in cats:
                annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": cid,
                                    "iscrowd": 0, "area": 4.0, "bbox": [1, 1, 2, 2], "segmentation": [[1, 1, 2, 1, 2, 2]]})
        data = {"info": {"year": 2014}, "licenses": [], "images": images, "annotations": annotations,
                "categories": categories}
        (root / "annotations" / f"instances_{source}.json").write_text(json.dumps(data), encoding="utf-8")


def write_idx(path: Path, array: Any) -> None:
    """Write a uint8 numpy array as an idx file (gzipped when the name ends in .gz)."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as file:
        file.write(header + array.astype("uint8").tobytes())


def fashion_arrays(per_class: int) -> tuple[Any, Any]:
    """``(images, labels)``: ``per_class`` 28x28 images of each of the 10 labels, labels cycling 0..9."""
    import numpy as np

    labels = np.array([i % 10 for i in range(10 * per_class)], dtype=np.uint8)
    images = np.zeros((len(labels), 28, 28), dtype=np.uint8)
    for i, label in enumerate(labels):
        images[i, : 2 + int(label), :] = (i * 37) % 256  # each image differs, the label shows as a band
    return images, labels


def _fashion_mnist(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for prefix, per_class in (("train", 4), ("t10k", 2)):
        images, labels = fashion_arrays(per_class)
        write_idx(root / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(root / f"{prefix}-labels-idx1-ubyte.gz", labels)


_WRITERS = {"imagenet": _imagenet, "inaturalist2019": _inaturalist, "places365": _places365, "coco-cls": _coco,
            "fashion-mnist": _fashion_mnist}


def write_sample_release(root: Path, task: str | None = None) -> Path:
    """Write a tiny release of ``task`` in its official layout under ``root`` (created if missing) and
    return the folder to pass as the task's ``data_dir`` option (``root`` itself). Every split is
    non-empty and every class has training images.

    With ``task=None``, write every file-based task's sample under ``root/<task>`` and return ``root``,
    to use as ``$CLIMB_DATA_ROOT``.

    Samples: imagenet 3 classes x 5 train images (+ LOC_synset_mapping.txt), 6 val images listed out of
    order in LOC_val_solution.csv; inaturalist2019 3 categories x 4 train, x 1 val; places365 3 categories
    x 4 train, 6 val; coco-cls the real 80 category ids, 8 train images (one without annotations) and 4 val
    (one without); fashion-mnist gzipped idx files of 40 train and 20 test 28x28 images.
    """
    root = Path(root)
    if task is None:
        for name in TASKS:
            write_sample_release(root / name, name)
        return root
    if task not in _WRITERS:
        raise ValueError(f"no sample release for {task!r}; there is one for {', '.join(TASKS)}")
    root.mkdir(parents=True, exist_ok=True)
    _WRITERS[task](root)
    return root
