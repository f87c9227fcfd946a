"""ImageNet: class index from the sorted train folders, val labels from LOC_val_solution.csv, the carving."""

from __future__ import annotations

import shutil
from collections import Counter

import pytest

from climb_vision_tasks.imagenet import ImageNetDataError
from climb_vision_tasks.sample import EXPECTED

WNIDS = EXPECTED["imagenet"]["wnids"]


def test_class_index_is_the_sorted_wnids_with_names(make_task, release):
    t = make_task("imagenet", data_dir=str(release("imagenet")))
    assert t.wnids == sorted(WNIDS) and t.class_names[1] == "goldfish, Carassius auratus"
    for e in [*t.examples("train"), *t.examples("val")]:
        wnid = e.id.split("/")[1]
        assert e.target == WNIDS.index(wnid) and e.images[0].endswith(e.id) and e.text is None


def test_val_labels_come_from_the_first_wnid_of_the_solution_csv(make_task, release):
    root = release("imagenet")
    t = make_task("imagenet", data_dir=str(root))
    test = t.examples("test")
    assert [e.id for e in test] == [f"val/ILSVRC2012_val_{n:08d}.JPEG" for n in range(1, 7)]  # sorted by ImageId
    assert [e.target for e in test] == [WNIDS.index(EXPECTED["imagenet"]["val_labels"][n]) for n in range(1, 7)]
    assert test[0].images == (str(root / "val" / "ILSVRC2012_val_00000001.JPEG"),)


def test_val_is_held_out_of_train_per_class(make_task, release, assert_carving):
    t = make_task("imagenet", data_dir=str(release("imagenet")))
    assert_carving(t)
    # 5 images per class: under 2 x 50, so half (2) of each class is held out
    assert Counter(e.target for e in t.examples("val")) == {0: 2, 1: 2, 2: 2}
    assert len(t.examples("train")) == 9


def test_listing_without_the_synset_mapping_and_files_sorted(make_task, release):
    root = release("imagenet")
    (root / "LOC_synset_mapping.txt").unlink()
    t = make_task("imagenet", data_dir=str(root))
    assert t.class_names == sorted(WNIDS)
    names = [t.official("train").make(j).id for j in range(len(t.official("train")))]
    assert len(names) == 15 and names == sorted(names)
    # numeric suffixes sort as strings (the official file order): n01440764_10 before n01440764_17
    assert names[:2] == ["train/n01440764/n01440764_10.JPEG", "train/n01440764/n01440764_17.JPEG"]


def test_a_csv_wnid_that_is_not_a_class_is_refused_naming_file_and_line(make_task, release):
    root = release("imagenet")
    path = root / "LOC_val_solution.csv"
    lines = path.read_text().splitlines()
    lines[2] = "ILSVRC2012_val_00000005,n99999999 1 2 3 4"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ImageNetDataError, match=r"LOC_val_solution.csv, line 3, field 'PredictionString'.*n99999999"):
        make_task("imagenet", data_dir=str(root)).examples("test")


def test_a_bad_csv_header_is_refused(make_task, release):
    root = release("imagenet")
    path = root / "LOC_val_solution.csv"
    path.write_text("image,label\n" + "\n".join(path.read_text().splitlines()[1:]) + "\n")
    with pytest.raises(ImageNetDataError, match="ImageId,PredictionString"):
        make_task("imagenet", data_dir=str(root)).examples("test")


def test_a_class_folder_missing_from_the_mapping_is_named(make_task, release):
    root = release("imagenet")
    shutil.rmtree(root / "train" / WNIDS[1])
    with pytest.raises(FileNotFoundError, match=str(root / "train" / WNIDS[1])):
        make_task("imagenet", data_dir=str(root)).examples("train")


def test_missing_files_raise_a_data_error_naming_them(make_task, release):
    from climb_harness.api import DataError

    root = release("imagenet")
    (root / "LOC_val_solution.csv").unlink()
    t = make_task("imagenet", data_dir=str(root))
    assert [p for p in t.required_paths() if not p.exists()] == [root / "LOC_val_solution.csv"]
    assert len(t.examples("train")) == 9
    with pytest.raises(DataError) as info:
        t.examples("test")
    assert isinstance(info.value, FileNotFoundError)
    assert str(root / "LOC_val_solution.csv") in str(info.value) and "image-net.org" in str(info.value)
    (root / "val" / "ILSVRC2012_val_00000003.JPEG").unlink()
    release("imagenet")  # rewrite the csv (and the image)
    (root / "val" / "ILSVRC2012_val_00000003.JPEG").unlink()
    with pytest.raises(FileNotFoundError, match="ILSVRC2012_val_00000003.JPEG"):
        make_task("imagenet", data_dir=str(root)).examples("test")


def test_required_paths(make_task, release, monkeypatch):
    root = release("imagenet")
    t = make_task("imagenet", data_dir=str(root))
    assert list(t.required_paths()) == [root / "train", root / "val", root / "LOC_val_solution.csv"]
    monkeypatch.setenv("CLIMB_DATA_ROOT", str(root.parent))
    assert make_task("imagenet").required_paths()[0] == root / "train"
    monkeypatch.delenv("CLIMB_DATA_ROOT")
    with pytest.raises(FileNotFoundError, match="CLIMB_DATA_ROOT"):
        make_task("imagenet").required_paths()
    assert make_task("imagenet").fingerprint().startswith("climb-vision-tasks")


def test_subsample_is_seeded_and_stratified(make_task, release):
    root = release("imagenet")
    a = make_task("imagenet", data_dir=str(root), max_train_examples=3, max_eval_examples=3)
    b = make_task("imagenet", data_dir=str(root), max_train_examples=3, max_eval_examples=3)
    assert a.examples("train") == b.examples("train")
    assert sorted(e.target for e in a.examples("train")) == [0, 1, 2]
    assert len(a.examples("test")) == 3 and len(a.examples("val")) == 3
    assert a.fingerprint() != make_task("imagenet", data_dir=str(root)).fingerprint()
