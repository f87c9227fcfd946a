"""Reading a tiny folder in VCR 1.0's layout: splits, labels, fields, image paths, errors, fingerprint."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from climb_harness.api import DATA_ROOT_ENV


def test_splits_train_val_by_movie_and_test_is_official_val(make_task, tiny_data_dir, tiny_records, tiny_movies):
    TRAIN_MOVIES, VAL_MOVIE = tiny_movies
    t = make_task(data_dir=str(tiny_data_dir), val_fraction=0.2)
    train, val, test = (t.examples(s) for s in ("train", "val", "test"))
    records = tiny_records
    assert len(train) + len(val) == len(records["train"]) and len(test) == len(records["val"])
    assert {e.id for e in test} == {r["annot_id"] for r in records["val"]}
    movie = lambda e: Path(e.images[0]).parent.name  # noqa: E731
    assert {movie(e) for e in val} & {movie(e) for e in train} == set()
    assert len({movie(e) for e in val}) == 1  # round(0.2 * 5 movies)
    assert {movie(e) for e in train} | {movie(e) for e in val} == set(TRAIN_MOVIES)
    assert {movie(e) for e in test} == {VAL_MOVIE}
    # the held-out movies are a seeded choice: the same every time
    assert [e.id for e in make_task(data_dir=str(tiny_data_dir), val_fraction=0.2).examples("val")] == [e.id for e in val]
    assert len(make_task(data_dir=str(tiny_data_dir), val_fraction=0.6).examples("val")) == 12


def test_labels_text_choices_and_image_paths(make_task, tiny_data_dir, tiny_records):
    t = make_task(data_dir=str(tiny_data_dir))
    rows = {r["annot_id"]: r for rs in tiny_records.values() for r in rs}
    for split in ("train", "val", "test"):
        for e in t.examples(split):
            row = rows[e.id]
            assert e.target == row["answer_label"] and isinstance(e.target, int)
            assert len(e.images) == 1 and isinstance(e.images[0], str)
            path = Path(e.images[0])
            assert path.is_absolute() and path == tiny_data_dir.resolve() / "vcr1images" / row["img_fn"]
            with Image.open(path) as img:
                assert img.size == (48, 32)
            index = e.id.split("-")[1]
            assert e.text == f"What is Casey doing with the gray car q{index}?"
            assert e.choices == (
                "Casey and Riley are talking.",
                "Casey is driving the gray car.",
                "Casey, Riley and Jackie's dogs bark at the gray dog and the gray dog.",
                "Nothing, really.",
            )
    assert Counter(e.target for e in t.examples("test")) == Counter(r["answer_label"] for r in tiny_records["val"])


def test_distinguish_repeated_objects_option(make_task, tiny_data_dir):
    e = make_task(data_dir=str(tiny_data_dir), distinguish_repeated_objects=True).examples("test")[0]
    assert e.choices[2].endswith("at the gray dog 1 and the gray dog 2.")


def test_subsample_is_seeded_and_stratified(make_task, tiny_data_dir):
    full = make_task(data_dir=str(tiny_data_dir), val_fraction=0.2).examples("train")
    small = make_task(data_dir=str(tiny_data_dir), val_fraction=0.2, max_train_examples=8, max_eval_examples=4)
    sample = small.examples("train")
    assert len(sample) == 8 and {e.id for e in sample} <= {e.id for e in full}
    assert sample == make_task(data_dir=str(tiny_data_dir), val_fraction=0.2, max_train_examples=8).examples("train")
    assert sorted(Counter(e.target for e in sample).values()) == [2, 2, 2, 2]
    assert len(small.examples("test")) == 4 and len(small.examples("val")) == 4


def test_nothing_is_read_in_init_and_splits_are_cached(make_task, tmp_path):
    t = make_task(data_dir=str(tmp_path / "nowhere"))  # no error yet: the data is read lazily
    with pytest.raises(FileNotFoundError):
        t.examples("train")


def test_splits_cached_per_task(make_task, tiny_data_dir):
    t = make_task(data_dir=str(tiny_data_dir))
    assert t.examples("train") is t.examples("train")


def test_unknown_split(make_task, tiny_data_dir):
    with pytest.raises(ValueError, match="'dev'.*train, val, test"):
        make_task(data_dir=str(tiny_data_dir)).examples("dev")


def test_required_paths_with_one_file_missing(make_task, tiny_data_dir):
    (tiny_data_dir / "annotation" / "val.jsonl").unlink()
    t = make_task(data_dir=str(tiny_data_dir))
    paths = list(t.required_paths())
    root = tiny_data_dir.resolve()
    assert paths == [root / "annotation" / "train.jsonl", root / "annotation" / "val.jsonl", root / "vcr1images"]
    assert all(p.is_absolute() for p in paths)
    assert [p for p in paths if not p.exists()] == [root / "annotation" / "val.jsonl"]
    assert len(t.examples("train")) > 0
    with pytest.raises(FileNotFoundError) as info:
        t.examples("test")
    message = str(info.value)
    assert str(root / "annotation" / "val.jsonl") in message and "visualcommonsense.com" in message


def test_data_root_environment_variable(make_task, tiny_data_dir, monkeypatch):
    monkeypatch.setenv(DATA_ROOT_ENV, str(tiny_data_dir.parent))
    t = make_task()
    assert t.required_paths()[0] == tiny_data_dir.resolve() / "annotation" / "train.jsonl"
    assert len(t.examples("test")) == 8
    monkeypatch.delenv(DATA_ROOT_ENV)
    with pytest.raises(FileNotFoundError, match=DATA_ROOT_ENV):
        make_task().examples("train")
    assert "dir=unset" in make_task().fingerprint()  # fingerprint never fails for missing data


def test_missing_image_names_the_image(make_task, tiny_data_dir, tiny_records):
    row = tiny_records["val"][3]
    (tiny_data_dir / "vcr1images" / row["img_fn"]).unlink()
    with pytest.raises(FileNotFoundError) as info:
        make_task(data_dir=str(tiny_data_dir)).examples("test")
    assert str(tiny_data_dir.resolve() / "vcr1images" / row["img_fn"]) in str(info.value)


def _rewrite_line(path: Path, number: int, text: str) -> None:
    lines = path.read_text().splitlines()
    lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda r: r.pop("answer_label"), "answer_label"),
        (lambda r: r.update(answer_label=4), "answer_label"),
        (lambda r: r.update(answer_label="1"), "answer_label"),
        (lambda r: r.update(answer_label=True), "answer_label"),
        (lambda r: r.pop("img_fn"), "img_fn"),
        (lambda r: r.pop("objects"), "objects"),
        (lambda r: r.pop("annot_id"), "annot_id"),
        (lambda r: r["answer_choices"].pop(), "answer_choices"),
        (lambda r: r.update(question=["Who", "is", [7], "?"]), "question"),
        (lambda r: r["answer_choices"][2].append([42]), "answer_choices[2]"),
    ],
)
def test_corrupt_record_names_file_line_and_field(make_task, tiny_data_dir, tiny_records, change, field):
    path = tiny_data_dir / "annotation" / "val.jsonl"
    row = tiny_records["val"][2]
    change(row)
    _rewrite_line(path, 3, json.dumps(row))
    with pytest.raises(ValueError) as info:
        make_task(data_dir=str(tiny_data_dir)).examples("test")
    message = str(info.value)
    assert str(path) in message and "line 3" in message and f"field {field!r}" in message


def test_bad_json_line(make_task, tiny_data_dir):
    path = tiny_data_dir / "annotation" / "train.jsonl"
    _rewrite_line(path, 5, '{"annot_id": "train-4", ')
    with pytest.raises(ValueError, match=r"train\.jsonl, line 5.*not valid JSON"):
        make_task(data_dir=str(tiny_data_dir)).examples("val")


def test_fingerprint_follows_options_and_data(make_task, tiny_data_dir):
    base = make_task(data_dir=str(tiny_data_dir)).fingerprint()
    assert base == make_task(data_dir=str(tiny_data_dir)).fingerprint()
    assert base != make_task(data_dir=str(tiny_data_dir), max_train_examples=3).fingerprint()
    path = tiny_data_dir / "annotation" / "train.jsonl"
    path.write_text(path.read_text().splitlines()[0] + "\n")
    assert make_task(data_dir=str(tiny_data_dir)).fingerprint() != base
