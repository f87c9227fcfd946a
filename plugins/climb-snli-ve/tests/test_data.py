"""Reading the release layout: labels, hypothesis-only text, image paths, splits, subsampling, errors."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

LABEL_INDEX = {"entailment": 0, "contradiction": 1, "neutral": 2}


def _write(path: Path, records: list) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def _line_of(example) -> int:
    return int(example.id.rsplit("-", 1)[1])


# ---------------------------------------------------------------------------- labels, text, images
def test_label_mapping_is_climbs(make_task, snli_dir, tiny_records):
    t = make_task(data_dir=str(snli_dir))
    assert t.labels == ("entailment", "contradiction", "neutral")
    for split, source in (("train", "train"), ("val", "dev"), ("test", "test")):
        examples = t.examples(split)
        assert len(examples) == len(tiny_records[source])
        for e in examples:
            record = tiny_records[source][_line_of(e) - 1]
            assert e.target == LABEL_INDEX[record["gold_label"]]
            assert t.labels[e.target] == record["gold_label"]
    assert {e.target for e in t.examples("train")} == {0, 1, 2}


def test_text_is_the_hypothesis_only(make_task, snli_dir, tiny_records):
    t = make_task(data_dir=str(snli_dir))
    for e in t.examples("train"):
        record = tiny_records["train"][_line_of(e) - 1]
        assert e.text == record["sentence2"]
        assert "CAPTION" not in e.text  # sentence1 (the caption) is never shown: the image is the premise
        assert e.choices == ()


def test_image_paths_are_flickr30k_ids_as_jpg_strings(make_task, snli_dir, tiny_records):
    t = make_task(data_dir=str(snli_dir))
    for e in t.examples("train"):
        record = tiny_records["train"][_line_of(e) - 1]
        assert e.images == (str(snli_dir / "flickr30k_images" / f"{record['Flickr30K_ID']}.jpg"),)
        assert isinstance(e.images[0], str) and Path(e.images[0]).is_absolute()


def test_images_dir_option_moves_the_images(make_task, snli_dir, tmp_path):
    elsewhere = tmp_path / "flickr30k-images"  # the official archive's folder name
    (snli_dir / "flickr30k_images").rename(elsewhere)
    t = make_task(data_dir=str(snli_dir), images_dir=str(elsewhere))
    assert all(Path(e.images[0]).parent == elsewhere for e in t.examples("test"))
    assert t.required_paths()[-1] == elsewhere
    with pytest.raises(FileNotFoundError, match="flickr30k_images"):
        make_task(data_dir=str(snli_dir)).examples("test")


def test_integer_image_id_is_accepted(make_task, snli_dir, tiny_records):
    records = tiny_records["test"]
    records[0]["Flickr30K_ID"] = int(records[0]["Flickr30K_ID"])
    _write(snli_dir / "snli_ve_test.jsonl", records)
    e = make_task(data_dir=str(snli_dir)).examples("test")[0]
    assert e.images[0].endswith(f"{records[0]['Flickr30K_ID']}.jpg")


# ---------------------------------------------------------------------------- splits
def test_splits_map_to_the_release_files(make_task, snli_dir, tiny_records):
    t = make_task(data_dir=str(snli_dir))
    assert [e.text for e in t.examples("val")] == [r["sentence2"] for r in tiny_records["dev"]]
    assert [e.text for e in t.examples("test")] == [r["sentence2"] for r in tiny_records["test"]]
    assert [e.id for e in t.examples("train")] == [f"train-{i}" for i in range(1, 10)]
    assert [e.id for e in t.examples("val")] == ["dev-1", "dev-2", "dev-3"]
    images = {s: {e.images[0] for e in t.examples(s)} for s in ("train", "val", "test")}
    assert not images["train"] & images["val"] and not images["val"] & images["test"]


def test_split_is_read_lazily_and_cached(make_task, snli_dir, tmp_path):
    make_task(data_dir=str(tmp_path / "nowhere"))  # building reads nothing
    t = make_task(data_dir=str(snli_dir))
    first = t.examples("train")
    (snli_dir / "snli_ve_train.jsonl").unlink()
    assert t.examples("train") is first  # kept per split
    with pytest.raises(FileNotFoundError):
        make_task(data_dir=str(snli_dir)).examples("train")


def test_unknown_split_names_the_valid_ones(make_task, snli_dir):
    with pytest.raises(ValueError) as info:
        make_task(data_dir=str(snli_dir)).examples("dev")
    assert all(s in str(info.value) for s in ("'dev'", "train", "val", "test"))


def test_data_root_env_is_the_default(make_task, snli_dir, monkeypatch):
    monkeypatch.setenv("CLIMB_DATA_ROOT", str(snli_dir.parent))
    t = make_task()
    assert t.required_paths()[0] == snli_dir / "snli_ve_train.jsonl"
    assert len(t.examples("val")) == 3


def test_blank_trailing_lines_are_ignored(make_task, snli_dir):
    path = snli_dir / "snli_ve_dev.jsonl"
    path.write_text(path.read_text() + "\n  \n")
    assert len(make_task(data_dir=str(snli_dir)).examples("val")) == 3


# ---------------------------------------------------------------------------- subsampling
def test_subsample_is_seeded_and_label_stratified(make_task, snli_dir, tiny_records):
    records = [dict(tiny_records["train"][i % 9], sentence2=f"h{i}") for i in range(90)]
    _write(snli_dir / "snli_ve_train.jsonl", records)
    a = make_task(data_dir=str(snli_dir), max_train_examples=30).examples("train")
    b = make_task(data_dir=str(snli_dir), max_train_examples=30).examples("train")
    assert a == b and len(a) == 30
    assert Counter(e.target for e in a) == {0: 10, 1: 10, 2: 10}
    assert [e.text for e in a] != [f"h{i}" for i in range(30)]  # not the first N
    assert [_line_of(e) for e in a] == sorted(_line_of(e) for e in a)  # file order kept
    t = make_task(data_dir=str(snli_dir), max_eval_examples=2)
    assert len(t.examples("val")) == len(t.examples("test")) == 2 and len(t.examples("train")) == 90


# ---------------------------------------------------------------------------- required paths, fingerprint
def test_required_paths_name_the_release_files(make_task, snli_dir):
    t = make_task(data_dir=str(snli_dir))
    expected = [snli_dir / f"snli_ve_{s}.jsonl" for s in ("train", "dev", "test")] + [snli_dir / "flickr30k_images"]
    assert list(t.required_paths()) == expected
    assert all(p.is_absolute() and p.exists() for p in t.required_paths())


def test_required_paths_on_a_folder_with_one_file_missing(make_task, snli_dir):
    (snli_dir / "snli_ve_dev.jsonl").unlink()
    t = make_task(data_dir=str(snli_dir))
    assert [p for p in t.required_paths() if not p.exists()] == [snli_dir / "snli_ve_dev.jsonl"]
    assert len(t.examples("train")) == 9  # the other splits still read
    with pytest.raises(FileNotFoundError) as info:
        t.examples("val")
    message = str(info.value)
    assert str(snli_dir / "snli_ve_dev.jsonl") in message and "github.com/necla-ml/SNLI-VE" in message


def test_required_paths_without_any_data_folder(make_task, monkeypatch):
    monkeypatch.delenv("CLIMB_DATA_ROOT", raising=False)
    with pytest.raises(FileNotFoundError, match="CLIMB_DATA_ROOT"):
        make_task().required_paths()
    assert make_task().fingerprint().startswith("climb-snli-ve")  # never raises


def test_missing_image_names_the_image(make_task, snli_dir):
    (snli_dir / "flickr30k_images" / "1000366164.jpg").unlink()
    t = make_task(data_dir=str(snli_dir))
    assert len(t.examples("val")) == 3
    with pytest.raises(FileNotFoundError) as info:
        t.examples("test")
    assert str(snli_dir / "flickr30k_images" / "1000366164.jpg") in str(info.value)


def test_fingerprint_follows_data_and_options(make_task, snli_dir):
    base = make_task(data_dir=str(snli_dir)).fingerprint()
    assert base == make_task(data_dir=str(snli_dir)).fingerprint()
    assert base != make_task(data_dir=str(snli_dir), max_train_examples=3).fingerprint()
    path = snli_dir / "snli_ve_test.jsonl"
    path.write_text(path.read_text().splitlines()[0] + "\n")
    edited = make_task(data_dir=str(snli_dir)).fingerprint()
    assert edited != base  # another size
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert make_task(data_dir=str(snli_dir)).fingerprint() != edited  # same size, touched


# ---------------------------------------------------------------------------- corrupt records
def _corrupt_line(snli_dir: Path, line_text: str, source: str = "train") -> Path:
    path = snli_dir / f"snli_ve_{source}.jsonl"
    lines = path.read_text().splitlines()
    lines[3] = line_text  # line 4
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("label", ["-", "Entailment", "", None, 0])
def test_unknown_gold_label_is_refused_naming_file_and_line(make_task, snli_dir, tiny_records, label):
    record = dict(tiny_records["train"][3], gold_label=label)
    path = _corrupt_line(snli_dir, json.dumps(record))
    with pytest.raises(ValueError) as info:
        make_task(data_dir=str(snli_dir)).examples("train")
    message = str(info.value)
    assert f"{path}, line 4, field 'gold_label'" in message and "unknown label" in message, message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("change", "field", "expected"),
    [
        ({"drop": "sentence2"}, "sentence2", "missing"),
        ({"drop": "Flickr30K_ID"}, "Flickr30K_ID", "missing"),
        ({"drop": "gold_label"}, "gold_label", "missing"),
        ({"sentence2": 7}, "sentence2", "not a non-empty string"),
        ({"sentence2": "  "}, "sentence2", "not a non-empty string"),
        ({"Flickr30K_ID": ["1"]}, "Flickr30K_ID", "not an image id"),
        ({"Flickr30K_ID": "../etc/passwd"}, "Flickr30K_ID", "not an image id"),
        ({"Flickr30K_ID": True}, "Flickr30K_ID", "not an image id"),
    ],
)
def test_bad_field_names_file_line_and_field(make_task, snli_dir, tiny_records, change, field, expected):
    record = dict(tiny_records["train"][3])
    if "drop" in change:
        del record[change["drop"]]
    else:
        record.update(change)
    path = _corrupt_line(snli_dir, json.dumps(record))
    with pytest.raises(ValueError) as info:
        make_task(data_dir=str(snli_dir)).examples("train")
    message = str(info.value)
    assert f"{path}, line 4, field {field!r}" in message and expected in message, message


@pytest.mark.parametrize(("text", "expected"), [('{"gold_label": "neutral"', "not valid JSON"),
                                                ('["a", "b"]', "not an object")])
def test_bad_json_line_names_file_and_line(make_task, snli_dir, text, expected):
    path = _corrupt_line(snli_dir, text)
    with pytest.raises(ValueError) as info:
        make_task(data_dir=str(snli_dir)).examples("train")
    assert f"{path}, line 4" in str(info.value) and expected in str(info.value)


def test_non_utf8_line_names_file_and_line(make_task, snli_dir):
    path = snli_dir / "snli_ve_test.jsonl"
    path.write_bytes(path.read_bytes() + b'{"sentence2": "\xff"}\n')
    with pytest.raises(ValueError, match=r"line 4: it is not UTF-8"):
        make_task(data_dir=str(snli_dir)).examples("test")


def test_empty_file_is_refused_naming_it(make_task, snli_dir):
    path = snli_dir / "snli_ve_dev.jsonl"
    path.write_text("\n")
    with pytest.raises(ValueError, match="holds no records") as info:
        make_task(data_dir=str(snli_dir)).examples("val")
    assert str(path) in str(info.value)
