"""A data folder of one's own: loading, clear errors for missing files, split names, fingerprint."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from climb_easyvqa.labels import question_type
from PIL import Image


def test_custom_data_dir_loads(make_task, tiny_data_dir, tiny_questions):
    expected = {"shape": 10, "color": 10, "yesno": 10}
    expected_test = Counter(question_type(row[1]) for row in tiny_questions["test"])
    for qtype, name in (("shape", "easyvqa-shape"), ("color", "easyvqa-color"), ("yesno", "easyvqa-yesno")):
        t = make_task(name, data_dir=str(tiny_data_dir), val_fraction=0.2)
        train, val, test = (t.examples(s) for s in ("train", "val", "test"))
        assert len(train) + len(val) == expected[qtype]
        assert len(test) == expected_test[qtype]
        assert len(val) == 2  # 2 of the 10 train images hold one question of each type
        for e in train + val + test:
            path = Path(e.images[0])
            assert path.is_file() and path.is_relative_to(tiny_data_dir)
            with Image.open(path) as img:
                assert img.size == (64, 64)
            source, index = e.id.split("-")
            row = tiny_questions[source][int(index)]
            assert (e.text, t.labels[e.target]) == (row[0], row[1])
            assert path.name == f"{row[2]}.png" and path.parent.parent.name == source
        assert not {e.images[0] for e in train} & {e.images[0] for e in val}


def test_missing_questions_file_names_path_and_fix(make_task, tmp_path):
    t = make_task("easyvqa-shape", data_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        t.examples("train")
    message = str(info.value)
    assert str(tmp_path / "train" / "questions.json") in message
    assert "data_dir" in message and "pip install easy-vqa" in message


def test_missing_test_questions_file(make_task, tiny_data_dir):
    (tiny_data_dir / "test" / "questions.json").unlink()
    t = make_task("easyvqa-color", data_dir=str(tiny_data_dir))
    assert len(t.examples("train")) > 0
    with pytest.raises(FileNotFoundError, match=r"test[/\\]questions\.json"):
        t.examples("test")


def test_missing_image_names_the_image(make_task, tiny_data_dir):
    (tiny_data_dir / "test" / "images" / "2.png").unlink()
    t = make_task("easyvqa-yesno", data_dir=str(tiny_data_dir))
    with pytest.raises(FileNotFoundError) as info:
        t.examples("test")
    assert str(tiny_data_dir / "test" / "images" / "2.png") in str(info.value)


def test_unknown_answer_is_reported(make_task, tiny_data_dir):
    path = tiny_data_dir / "train" / "questions.json"
    rows = json.loads(path.read_text()) + [["what is it?", "purple", 0]]
    path.write_text(json.dumps(rows))
    with pytest.raises(ValueError, match="purple"):
        make_task("easyvqa-color", data_dir=str(tiny_data_dir)).examples("train")


def test_unknown_split_names_valid_ones(make_task, tiny_data_dir):
    t = make_task("easyvqa-shape", data_dir=str(tiny_data_dir))
    with pytest.raises(ValueError) as info:
        t.examples("dev")
    assert all(s in str(info.value) for s in ("'dev'", "train", "val", "test"))


def test_fingerprint_follows_options_and_data(make_task, tiny_data_dir, tmp_path):
    base = make_task("easyvqa-shape").fingerprint()
    assert base == make_task("easyvqa-shape").fingerprint()
    assert base != make_task("easyvqa-color").fingerprint()
    assert base != make_task("easyvqa-shape", max_train_examples=100).fingerprint()
    assert base != make_task("easyvqa-shape", val_fraction=0.2).fingerprint()
    custom = make_task("easyvqa-shape", data_dir=str(tiny_data_dir)).fingerprint()
    assert custom != base
    # same folder, edited questions -> new fingerprint
    path = tiny_data_dir / "test" / "questions.json"
    path.write_text(json.dumps(json.loads(path.read_text())[:2]))
    assert make_task("easyvqa-shape", data_dir=str(tiny_data_dir)).fingerprint() != custom
