"""iNaturalist 2019: labels from the COCO-style json, paths relative to the data folder, the carving."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from climb_vision_tasks.inaturalist import INaturalistDataError


def _edit(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_labels_and_paths(make_task, release, assert_carving):
    root = release("inaturalist2019")
    data = json.loads((root / "train2019.json").read_text())
    label = {a["image_id"]: a["category_id"] for a in data["annotations"]}
    t = make_task("inaturalist2019", data_dir=str(root))
    by_name = {i["file_name"]: label[i["id"]] for i in data["images"]}
    for e in [*t.examples("train"), *t.examples("val")]:
        assert e.target == by_name[e.id] and e.images == (str(root / e.id),) and e.text is None
    assert [e.target for e in t.examples("test")] == [2, 0, 1]
    assert t.class_names == ["Species 0", "Species 1", "Species 2"]
    assert_carving(t)
    assert Counter(e.target for e in t.examples("val")) == {0: 2, 1: 2, 2: 2}  # half of 4 per class


def test_category_ids_map_sorted_to_indices(make_task, release):
    root = release("inaturalist2019")

    def shift(data):  # ids 0,1,2 -> 10,20,30
        for c in data["categories"]:
            c["id"] = 10 * (c["id"] + 1)
        for a in data["annotations"]:
            a["category_id"] = 10 * (a["category_id"] + 1)

    _edit(root / "train2019.json", shift)
    _edit(root / "val2019.json", shift)
    assert [e.target for e in make_task("inaturalist2019", data_dir=str(root)).examples("test")] == [2, 0, 1]


def test_val_category_unknown_to_train_is_refused(make_task, release):
    root = release("inaturalist2019")
    _edit(root / "val2019.json", lambda d: d["annotations"][0].update(category_id=7))
    with pytest.raises(INaturalistDataError, match=r"val2019.json.*category_id 7"):
        make_task("inaturalist2019", data_dir=str(root)).examples("test")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["annotations"].pop(), "has no annotation"),
        (lambda d: d["annotations"].append(dict(d["annotations"][0])), "second annotation"),
        (lambda d: d["images"][0].pop("file_name"), r"images\[0\]: the field 'file_name' is missing"),
        (lambda d: d.pop("categories"), "'categories' is missing"),
    ],
)
def test_malformed_json_names_file_and_record(make_task, release, change, expected):
    root = release("inaturalist2019")
    _edit(root / "train2019.json", change)
    with pytest.raises(INaturalistDataError, match=expected) as info:
        make_task("inaturalist2019", data_dir=str(root)).examples("train")
    assert str(root / "train2019.json") in str(info.value)


def test_missing_file_and_required_paths(make_task, release):
    from climb_harness.api import DataError

    root = release("inaturalist2019")
    t = make_task("inaturalist2019", data_dir=str(root))
    assert list(t.required_paths()) == [root / "train2019.json", root / "val2019.json", root / "train_val2019"]
    (root / "val2019.json").unlink()
    assert [p for p in t.required_paths() if not p.exists()] == [root / "val2019.json"]
    with pytest.raises(DataError, match=str(root / "val2019.json")):
        t.examples("test")
    (root / "train2019.json").write_text("{not json")
    with pytest.raises(INaturalistDataError, match="not valid JSON"):
        make_task("inaturalist2019", data_dir=str(root)).examples("train")
