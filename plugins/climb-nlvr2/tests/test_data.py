"""A tiny release written in NLVR2's official format: file names, labels, splits, fields, errors."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from climb_nlvr2.data import CorruptDataError, image_names, pair_stem
from PIL import Image


def test_identifier_to_file_names():
    assert pair_stem("train-10171-0-0") == "train-10171-0"
    assert image_names("train-10171-0-0") == ("train-10171-0-img0.png", "train-10171-0-img1.png")
    assert image_names("dev-850-0-3") == ("dev-850-0-img0.png", "dev-850-0-img1.png")
    assert image_names("test1-0-1-12") == ("test1-0-1-img0.png", "test1-0-1-img1.png")
    with pytest.raises(ValueError):
        pair_stem("train")


def test_splits_map_to_release_files(make_task, tiny_root, tiny_records):
    t = make_task(data_dir=str(tiny_root))
    for split, source in (("train", "train"), ("val", "dev"), ("test", "test1")):
        examples = t.examples(split)
        assert [e.id for e in examples] == [r[0] for r in tiny_records[source]]  # the release's order
        assert [e.text for e in examples] == [r[1] for r in tiny_records[source]]
    assert t.examples("train") is t.examples("train")  # cached per split


def test_labels_false_0_true_1(make_task, tiny_root, tiny_records):
    t = make_task(data_dir=str(tiny_root))
    assert t.labels == ("False", "True")
    for split, source in (("train", "train"), ("val", "dev"), ("test", "test1")):
        assert [e.target for e in t.examples(split)] == [int(r[2] == "True") for r in tiny_records[source]]


def test_train_images_in_numbered_folders(make_task, tiny_root):
    t = make_task(data_dir=str(tiny_root))
    by_id = {e.id: e for e in t.examples("train")}
    train = tiny_root / "images" / "train"
    assert by_id["train-10171-0-0"].images == (str(train / "3" / "train-10171-0-img0.png"),
                                               str(train / "3" / "train-10171-0-img1.png"))
    assert by_id["train-77-3-1"].images[1] == str(train / "12" / "train-77-3-img1.png")  # "12" as a string
    # no directory field: found by searching the numbered folders (written to 5 by the record before it)
    assert by_id["train-9-0-1"].images == (str(train / "5" / "train-9-0-img0.png"),
                                           str(train / "5" / "train-9-0-img1.png"))
    for e in by_id.values():
        assert len(e.images) == 2 and all(isinstance(p, str) and Path(p).is_absolute() for p in e.images)
        assert Path(e.images[0]).name.endswith("-img0.png") and Path(e.images[1]).name.endswith("-img1.png")


def test_wrong_directory_falls_back_to_search(make_task, release_writer, tmp_path):
    root = release_writer(tmp_path / "r", {"train": [("train-1-0-0", "x y", "True", 4)],
                                           "dev": [("dev-1-0-0", "a", "True", None)],
                                           "test1": [("test1-1-0-0", "b", "False", None)]})
    lines = (root / "train.json").read_text().splitlines()
    row = json.loads(lines[0]) | {"directory": 9}
    (root / "train.json").write_text(json.dumps(row) + "\n")
    e = make_task(data_dir=str(root)).examples("train")[0]
    assert e.images[0] == str(root / "images" / "train" / "4" / "train-1-0-img0.png")


def test_dev_and_test1_images_are_flat(make_task, tiny_root):
    t = make_task(data_dir=str(tiny_root))
    for split, source in (("val", "dev"), ("test", "test1")):
        for e in t.examples(split):
            stem = e.id.rsplit("-", 1)[0]
            assert e.images == (str(tiny_root / source / f"{stem}-img0.png"),
                                str(tiny_root / source / f"{stem}-img1.png"))
    # two sentences about one pair share its images
    dev = t.examples("val")
    assert dev[0].images == dev[1].images
    with Image.open(dev[0].images[1]) as img:
        assert img.size == (32, 20)  # the right image (img1) as written


def test_data_dir_defaults_to_climb_data_root(make_task, tiny_root, monkeypatch):
    monkeypatch.setenv("CLIMB_DATA_ROOT", str(tiny_root.parent))
    t = make_task()
    assert t.root() == tiny_root
    assert len(t.examples("test")) == 3
    monkeypatch.delenv("CLIMB_DATA_ROOT")
    with pytest.raises(FileNotFoundError, match="CLIMB_DATA_ROOT"):
        make_task().examples("train")


def test_required_paths_and_a_missing_file(make_task, tiny_root):
    t = make_task(data_dir=str(tiny_root))
    paths = t.required_paths()
    expected = [tiny_root / n for n in ("train.json", "dev.json", "test1.json", "images/train", "dev", "test1")]
    assert [Path(p) for p in paths] == expected
    assert all(Path(p).is_absolute() and Path(p).exists() for p in paths)
    (tiny_root / "test1.json").unlink()
    assert [p for p in t.required_paths() if not Path(p).exists()] == [tiny_root / "test1.json"]
    assert len(t.examples("train")) == 8  # other splits still load
    with pytest.raises(FileNotFoundError) as info:
        t.examples("test")
    assert str(tiny_root / "test1.json") in str(info.value) and "lil-lab/nlvr" in str(info.value)


def test_required_paths_reads_nothing(make_task, tmp_path):
    paths = make_task(data_dir=str(tmp_path / "absent")).required_paths()
    assert len(paths) == 6 and not any(Path(p).exists() for p in paths)


def test_missing_image_names_the_file(make_task, tiny_root):
    (tiny_root / "dev" / "dev-12-2-img1.png").unlink()
    with pytest.raises(FileNotFoundError) as info:
        make_task(data_dir=str(tiny_root)).examples("val")
    assert str(tiny_root / "dev" / "dev-12-2-img1.png") in str(info.value)
    (tiny_root / "images" / "train" / "7" / "train-9-0-img0.png").unlink()
    # the record without directory is searched for; its image now exists in no numbered folder
    (tiny_root / "images" / "train" / "5" / "train-9-0-img0.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"train-9-0-img0\.png"):
        make_task(data_dir=str(tiny_root)).examples("train")


def test_missing_image_folder(make_task, tiny_root):
    import shutil

    shutil.rmtree(tiny_root / "test1")
    with pytest.raises(FileNotFoundError, match="test1"):
        make_task(data_dir=str(tiny_root)).examples("test")


CORRUPT = {
    "bad json": ('{"identifier": "train-1-0-0", "sentence": ', "not valid JSON", None),
    "not an object": ('["train-1-0-0", "x", "True"]', "not an object", None),
    "missing label": ('{"identifier": "train-1-0-0", "sentence": "x"}', "'label' is missing", "label"),
    "missing sentence": ('{"identifier": "train-1-0-0", "label": "True"}', "'sentence' is missing", "sentence"),
    "unknown label": ('{"identifier": "train-1-0-0", "sentence": "x", "label": "true"}', "'label' is 'true'", "label"),
    "label not a string": ('{"identifier": "train-1-0-0", "sentence": "x", "label": true}', "not a string", "label"),
    "bad identifier": ('{"identifier": "train", "sentence": "x", "label": "True"}', "does not end in", "identifier"),
    "bad directory": ('{"identifier": "train-1-0-0", "sentence": "x", "label": "True", "directory": "a"}',
                      "'directory'", "directory"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupt_record_names_file_line_and_field(make_task, tiny_root, case):
    line, expected, field = CORRUPT[case]
    path = tiny_root / "train.json"
    lines = path.read_text().splitlines()
    lines.insert(2, line)  # becomes line 3
    path.write_text("\n".join(lines) + "\n")
    t = make_task(data_dir=str(tiny_root))
    with pytest.raises(CorruptDataError) as info:
        t.examples("train")
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert f"{path}, line 3" in message and expected in message, message
    if field:
        assert repr(field) in message
    assert "\n" not in message and "data_dir" in message
    assert len(t.examples("val")) == 4  # the other files still read


def test_empty_annotation_file(make_task, tiny_root):
    (tiny_root / "dev.json").write_text("\n")
    with pytest.raises(CorruptDataError, match="no records"):
        make_task(data_dir=str(tiny_root)).examples("val")


def test_unknown_split_names_valid_ones(make_task, tiny_root):
    with pytest.raises(ValueError) as info:
        make_task(data_dir=str(tiny_root)).examples("dev")
    assert all(s in str(info.value) for s in ("'dev'", "train", "val", "test"))


def test_nothing_is_read_in_init(make_task, tmp_path):
    t = make_task(data_dir=str(tmp_path / "absent"))  # builds without data
    with pytest.raises(FileNotFoundError):
        t.examples("val")


def test_subsample_is_seeded_and_stratified(make_task, release_writer, tmp_path):
    rows = [(f"train-{i}-0-{j}", f"sentence {i} {j}", "True" if (i + j) % 3 else "False", i % 4)
            for i in range(30) for j in range(2)]
    evals = [(f"dev-{i}-0-0", f"s {i}", "True" if i % 2 else "False", None) for i in range(20)]
    root = release_writer(tmp_path / "big", {"train": rows, "dev": evals, "test1": [
        (f"test1-{i}-0-0", f"t {i}", "False" if i % 4 else "True", None) for i in range(20)]})
    a = make_task(data_dir=str(root), max_train_examples=15, max_eval_examples=8)
    b = make_task(data_dir=str(root), max_train_examples=15, max_eval_examples=8)
    full = make_task(data_dir=str(root))
    for split, n in (("train", 15), ("val", 8), ("test", 8)):
        sample = a.examples(split)
        assert len(sample) == n and sample == b.examples(split)
        full_ids = [e.id for e in full.examples(split)]
        ids = [e.id for e in sample]
        assert set(ids) <= set(full_ids) and ids == sorted(ids, key=full_ids.index)
        share = Counter(e.target for e in full.examples(split))
        got = Counter(e.target for e in sample)
        for label, count in share.items():
            assert abs(got[label] - n * count / len(full_ids)) <= 1
    assert [e.id for e in a.examples("train")] != [e.id for e in full.examples("train")][:15]


def test_fingerprint_follows_options_and_data(make_task, tiny_root):
    base = make_task(data_dir=str(tiny_root)).fingerprint()
    assert base == make_task(data_dir=str(tiny_root)).fingerprint()
    assert base != make_task(data_dir=str(tiny_root), max_train_examples=4).fingerprint()
    path = tiny_root / "dev.json"
    path.write_text(path.read_text() + json.dumps({"identifier": "dev-1-0-0", "sentence": "s", "label": "True"}))
    assert make_task(data_dir=str(tiny_root)).fingerprint() != base
    assert isinstance(make_task(data_dir=str(tiny_root / "absent")).fingerprint(), str)
