"""COCO multi-label: 80 non-contiguous ids -> 0..79, sorted multi-label targets, unannotated images skipped."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from climb_vision_tasks.coco_cls import CocoDataError, coin_flip_micro_f1
from climb_vision_tasks.sample import COCO_CATEGORIES, EXPECTED

#: COCO id -> label index, written out: the ids skip 12, 26, 29, 30, 45, 66, 68, 69, 71 and 83.
KNOWN = {1: 0, 3: 2, 11: 10, 13: 11, 18: 16, 25: 23, 27: 24, 90: 79}


def test_category_ids_map_sorted_to_0_79(make_task, release):
    t = make_task("coco-cls", data_dir=str(release("coco-cls")))
    assert len(t.category_ids) == 80 and t.category_ids == sorted(t.category_ids)
    assert all(t.category_ids[index] == cid for cid, index in KNOWN.items())
    assert t.class_names[0] == "person" and t.class_names[79] == "toothbrush" and t.class_names[11] == "stop sign"
    assert dict(COCO_CATEGORIES)[13] == "stop sign"


def test_targets_are_sorted_label_lists_and_unannotated_images_skipped(make_task, release, assert_carving):
    root = release("coco-cls")
    t = make_task("coco-cls", data_dir=str(root))
    expected = {**EXPECTED["coco-cls"]["train"], **EXPECTED["coco-cls"]["val"]}
    seen = [*t.examples("train"), *t.examples("val"), *t.examples("test")]
    for e in seen:
        assert e.target == sorted({KNOWN[c] for c in expected[e.id]}) and isinstance(e.target, list)
    assert {e.id for e in seen} == {f for f, cats in expected.items() if cats}  # the two empty ones skipped
    assert t.skipped_unannotated == {"train": 1, "test": 1}
    test = {e.id: e for e in t.examples("test")}
    assert test["COCO_val2014_000000000074.jpg"].target == [2, 23, 79]
    assert test["COCO_val2014_000000000042.jpg"].images == (str(root / "val2014" / "COCO_val2014_000000000042.jpg"),)
    assert_carving(t)
    held = Counter(label for e in t.examples("val") for label in e.target)
    assert all(held[label] >= 1 for label in (0, 2, 23, 79)), held  # every label present held out once


def test_manifest_head_metric_and_baseline(make_task):
    m = make_task("coco-cls").manifest
    assert m["head"] == {"type": "multi-label", "num_labels": 80} and m["metric"] == "micro-f1"
    d = 2.9 / 80
    assert m["random_baseline"] == pytest.approx(100 * d / (d + 0.5), abs=0.01) == coin_flip_micro_f1()


def test_an_annotation_of_an_unknown_category_is_refused(make_task, release):
    root = release("coco-cls")
    path = root / "annotations" / "instances_train2014.json"
    data = json.loads(path.read_text())
    data["annotations"][2]["category_id"] = 12  # one of COCO's gaps
    path.write_text(json.dumps(data))
    with pytest.raises(CocoDataError, match=r"annotations\[2\], field 'category_id': 12") as info:
        make_task("coco-cls", data_dir=str(root)).examples("train")
    assert str(path) in str(info.value)


def test_a_file_without_80_categories_is_refused(make_task, release):
    root = release("coco-cls")
    path = root / "annotations" / "instances_train2014.json"
    data = json.loads(path.read_text())
    data["categories"] = [c for c in data["categories"] if c["id"] != 50]
    path.write_text(json.dumps(data))
    with pytest.raises(CocoDataError, match="79 categories"):
        make_task("coco-cls", data_dir=str(root)).examples("train")


def test_missing_files_and_required_paths(make_task, release):
    from climb_harness.api import DataError

    root = release("coco-cls")
    t = make_task("coco-cls", data_dir=str(root))
    assert list(t.required_paths()) == [root / "annotations/instances_train2014.json",
                                        root / "annotations/instances_val2014.json", root / "train2014", root / "val2014"]
    (root / "annotations/instances_val2014.json").unlink()
    assert [p for p in t.required_paths() if not p.exists()] == [root / "annotations/instances_val2014.json"]
    with pytest.raises(DataError, match="instances_val2014.json.*cocodataset.org"):
        t.examples("test")


def test_subsample_keeps_multi_label_targets(make_task, release):
    t = make_task("coco-cls", data_dir=str(release("coco-cls")), max_eval_examples=2)
    assert len(t.examples("test")) == 2 and all(isinstance(e.target, list) for e in t.examples("test"))
