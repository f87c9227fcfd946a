"""Places365-Standard: labels from the list files, data_256/ and val_256/, the carving."""

from __future__ import annotations

from collections import Counter

import pytest

from climb_vision_tasks.places365 import Places365DataError


def test_labels_paths_and_names(make_task, release, assert_carving):
    root = release("places365")
    lines = dict(l.split() for l in (root / "places365_train_standard.txt").read_text().splitlines())
    t = make_task("places365", data_dir=str(root))
    assert t.class_names == ["airfield", "bakery/shop", "canyon"]
    for e in [*t.examples("train"), *t.examples("val")]:
        assert e.target == int(lines["/" + e.id]) and e.images == (str(root / "data_256" / e.id),)
    test = t.examples("test")
    assert [e.target for e in test] == [2, 0, 1, 1, 0, 2]
    assert test[0].images == (str(root / "val_256" / "Places365_val_00000001.jpg"),)
    assert_carving(t)
    assert Counter(e.target for e in t.examples("val")) == {0: 2, 1: 2, 2: 2}


@pytest.mark.parametrize(("line", "expected"), [("/a/airfield/x.jpg 7", "label 7 is not one of the 3"),
                                                ("/a/airfield/x.jpg", "not '<image path> <label>'"),
                                                ("/a/../../x.jpg 0", "not a relative path")])
def test_bad_list_line_names_file_and_line(make_task, release, line, expected):
    root = release("places365")
    path = root / "places365_train_standard.txt"
    lines = path.read_text().splitlines()
    lines[1] = line
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(Places365DataError, match=expected) as info:
        make_task("places365", data_dir=str(root)).examples("train")
    assert f"{path}, line 2" in str(info.value)


def test_missing_files_and_required_paths(make_task, release):
    from climb_harness.api import DataError

    root = release("places365")
    t = make_task("places365", data_dir=str(root))
    assert list(t.required_paths()) == [root / n for n in ("categories_places365.txt", "places365_train_standard.txt",
                                                           "places365_val.txt", "data_256", "val_256")]
    (root / "val_256").rename(root / "elsewhere")
    assert [p for p in t.required_paths() if not p.exists()] == [root / "val_256"]
    with pytest.raises(DataError, match=str(root / "val_256")):
        t.examples("test")
    (root / "categories_places365.txt").unlink()
    with pytest.raises(FileNotFoundError, match="categories_places365.txt.*places2.csail.mit.edu"):
        make_task("places365", data_dir=str(root)).examples("train")
