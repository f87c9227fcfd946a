"""VQAv2 from hand-written files in the official layout: normalisation, vocabulary, soft targets, splits, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from climb_vqav2 import data as D
from climb_vqav2.normalize import normalize_answer


@pytest.mark.parametrize(("raw", "expected"), [
    ("Yes", "yes"), ("yes!", "yes"), ("  no\t", "no"),            # case, punctuation, whitespace
    ("t-shirt", "t shirt"), ("hot dog?", "hot dog"), ("10,000", "10000"), ("2.5", "2.5"),
    ("mr. smith", "mr smith"), ("(left)", "left"), ("fire hydrant.", "fire hydrant"),
    ("A Dog", "dog"), ("the red one", "red 1"), ("an apple", "apple"),      # articles, number words
    ("none", "0"), ("zero", "0"), ("Three", "3"), ("ten", "10"), ("eleven", "eleven"),
    ("dont", "don't"), ("isnt", "isn't"), ("whats", "what's"), ("youre", "you're"),  # contractions
    ("Im", "im"),  # the official map's capitalised keys never match lower-cased words
])
def test_official_normalisation(raw, expected):
    assert normalize_answer(raw) == expected


def test_soft_scores():
    assert [D.soft_score(n) for n in range(7)] == [0.0, 0.3, 0.6, 0.9, 1.0, 1.0, 1.0]
    label_of = {"2": 0, "3": 1, "cat": 2, "dog": 3}
    answers = ["2"] * 4 + ["3"] * 3 + ["cat"] * 2 + ["dog"] + ["unseen"]
    assert D.soft_target(answers, label_of) == {0: 1.0, 1: 0.9, 2: 0.6, 3: 0.3}


def test_vocabulary_keeps_answers_seen_min_count_times_by_count_then_string():
    counts = {"yes": 30, "no": 30, "2": 9, "dog": 9, "cat": 8, "a": 100}
    assert D.build_vocabulary(counts, 9) == ["a", "no", "yes", "2", "dog"]
    assert D.build_vocabulary(counts, 10) == ["a", "no", "yes"]


def test_vocabulary_on_files_counts_normalised_mc_over_train_and_val(make_task, tiny_root):
    # 12 images x 3 questions: mc "Two" -> "2" 12x, "A Dog!" -> "dog" 12x, "yes" 6x (odd train/val images), "no" 6x
    assert make_task(data_dir=str(tiny_root), min_answer_count=9).labels == ["2", "dog"]
    assert make_task(data_dir=str(tiny_root), min_answer_count=6).labels == ["2", "dog", "no", "yes"]
    assert make_task(data_dir=str(tiny_root), min_answer_count=6, num_answers=3).labels == ["2", "dog", "no"]


def test_targets_and_fields(make_task, tiny_root):
    t = make_task(data_dir=str(tiny_root), min_answer_count=6, num_answers=8)
    assert t.info.head.num_labels == 8 and t.info.head.type == "soft-score"
    labels = t.labels
    test = t.examples("test")
    assert len(test) == 12
    questions = json.loads((tiny_root / "v2_OpenEnded_mscoco_val2014_questions.json").read_text())["questions"]
    for example, q in zip(test, questions):
        assert example.id == f"val2014-{q['question_id']}" and example.text == q["question"]
        assert example.images == (str(tiny_root.absolute() / "val2014" / f"COCO_val2014_{q['image_id']:012d}.jpg"),)
        assert Path(example.images[0]).is_file()
    by_text = {e.text: {labels[i]: s for i, s in e.target.items()} for e in test}
    # "2" x4 and "two" x3 are one answer (7 -> 1.0); "3" x2 + "three." x1 -> 0.9
    assert by_text["question 0 about 1001?"] == {"2": 1.0}  # "3" is not in the vocabulary
    assert by_text["question 1 about 1002?"] == {"yes": 1.0, "no": 0.3}
    assert by_text["question 1 about 1001?"] == {"no": 1.0}
    assert by_text["question 2 about 1001?"] == {"dog": 0.9}  # "dog" x2 + "the dog" x1; cat not in vocab


def test_every_soft_score_from_files(make_task, tiny_root):
    # only multiple_choice_answer strings enter the vocabulary: "3" and "cat" never do
    path = tiny_root / "v2_mscoco_val2014_annotations.json"
    data = json.loads(path.read_text())
    data["annotations"][1]["answers"] = [{"answer": a} for a in ["No", "no."] + ["yes"] * 8]  # image 1001, yes/no
    path.write_text(json.dumps(data))
    t = make_task(data_dir=str(tiny_root), min_answer_count=1)
    assert t.labels == ["2", "dog", "no", "yes"]
    scores = {e.text: {t.labels[i]: s for i, s in e.target.items()} for e in t.examples("test")}
    assert scores["question 1 about 1001?"] == {"no": 0.6, "yes": 1.0}
    assert scores["question 1 about 1002?"] == {"no": 0.3, "yes": 1.0}
    assert scores["question 2 about 1001?"] == {"dog": 0.9}
    assert scores["question 0 about 1001?"] == {"2": 1.0}


def test_splits_by_image_and_seeded(make_task, tiny_root):
    t = make_task(data_dir=str(tiny_root), val_fraction=0.25, min_answer_count=6)
    train, val, test = (t.examples(s) for s in ("train", "val", "test"))
    image = lambda e: Path(e.images[0]).name  # noqa: E731
    assert len({image(e) for e in val}) == 2 and len({image(e) for e in train}) == 6
    assert not {image(e) for e in train} & {image(e) for e in val}
    assert all("train2014" in image(e) for e in train + val) and all("val2014" in image(e) for e in test)
    assert len(train) + len(val) == 24  # nothing dropped: every question has a vocabulary answer
    again = make_task(data_dir=str(tiny_root), val_fraction=0.25)
    assert [e.id for e in again.examples("val")] == [e.id for e in val]
    small = make_task(data_dir=str(tiny_root), max_train_examples=5, max_eval_examples=3)
    assert len(small.examples("train")) == 5 and len(small.examples("test")) == 3
    assert {e.id for e in small.examples("train")} <= {e.id for e in make_task(data_dir=str(tiny_root)).examples("train")}


def test_unanswerable_train_questions_dropped_only_from_train(make_task, tiny_root):
    # min count 12: vocabulary ["2", "dog"]; yes/no questions have no vocabulary answer
    t = make_task(data_dir=str(tiny_root), min_answer_count=12, val_fraction=0.25)
    assert all(e.target for e in t.examples("train")) and len(t.examples("train")) == 12
    assert len(t.examples("val")) == 6 and any(e.target == {} for e in t.examples("val"))
    assert len(make_task(data_dir=str(tiny_root), min_answer_count=12, val_fraction=0.25,
                         drop_unanswerable_train=False).examples("train")) == 18


def test_vocabulary_cache_keyed_by_annotation_contents(make_task, tiny_root, _private_cache):
    t = make_task(data_dir=str(tiny_root))
    key = D.annotation_key(tiny_root)
    assert t.labels == ["2", "dog"]
    cached = D.vocabulary_cache_path(key, 9)
    assert cached.parent == _private_cache / "vqav2" and cached.is_file()
    assert json.loads(cached.read_text())["answers"] == ["2", "dog"]
    # the cache is used: a doctored cache file is what the next task reads
    cached.write_text(json.dumps({"key": key, "answers": ["from-cache"]}))
    assert make_task(data_dir=str(tiny_root)).labels == ["from-cache"]
    # change one annotation file's contents -> a new key, a fresh vocabulary
    path = tiny_root / "v2_mscoco_val2014_annotations.json"
    data = json.loads(path.read_text())
    for a in data["annotations"]:
        a["multiple_choice_answer"] = "cat"
    path.write_text(json.dumps(data))
    assert D.annotation_key(tiny_root) != key
    assert make_task(data_dir=str(tiny_root)).labels == ["cat"]  # cat 12 (val), "2" and "dog" 8 each (train)
    assert make_task(data_dir=str(tiny_root), min_answer_count=8).labels == ["cat", "2", "dog"]


def test_required_paths_and_one_missing_file(make_task, tiny_root):
    t = make_task(data_dir=str(tiny_root))
    paths = t.required_paths()
    assert all(p.is_absolute() and p.exists() for p in paths) and len(paths) == 6
    assert {p.name for p in paths} == {
        "v2_OpenEnded_mscoco_train2014_questions.json", "v2_OpenEnded_mscoco_val2014_questions.json",
        "v2_mscoco_train2014_annotations.json", "v2_mscoco_val2014_annotations.json", "train2014", "val2014"}
    gone = tiny_root / "v2_mscoco_val2014_annotations.json"
    gone.unlink()
    assert [p for p in make_task(data_dir=str(tiny_root)).required_paths() if not p.exists()] == [gone.absolute()]
    with pytest.raises(FileNotFoundError) as info:
        make_task(data_dir=str(tiny_root)).examples("test")
    assert str(gone.absolute()) in str(info.value) and "visualqa.org" in str(info.value)


def test_data_root_env_and_missing_folder(make_task, tmp_path, monkeypatch):
    monkeypatch.setenv("CLIMB_DATA_ROOT", str(tmp_path))
    t = make_task()
    assert t.required_paths()[0] == tmp_path / "vqav2" / "v2_OpenEnded_mscoco_train2014_questions.json"
    with pytest.raises(FileNotFoundError, match="visualqa.org"):
        t.examples("train")
    assert "data=missing" in t.fingerprint()


def test_missing_image_is_named(make_task, tiny_root):
    image = tiny_root / "val2014" / "COCO_val2014_000000001003.jpg"
    image.unlink()
    with pytest.raises(FileNotFoundError) as info:
        make_task(data_dir=str(tiny_root)).examples("test")
    assert str(image.absolute()) in str(info.value)


def _edit(path: Path, key: str, index: int, change) -> None:
    data = json.loads(path.read_text())
    change(data[key][index])
    path.write_text(json.dumps(data, indent=1))


def test_corrupt_json_names_file_and_line(make_task, tiny_root):
    path = tiny_root / "v2_OpenEnded_mscoco_train2014_questions.json"
    path.write_text('{"questions": [\n{"question_id": 1,,}\n]}')
    with pytest.raises(ValueError) as info:
        make_task(data_dir=str(tiny_root)).examples("train")
    assert str(path.absolute()) in str(info.value) and "line 2" in str(info.value)


def test_missing_field_names_file_record_and_field(make_task, tiny_root):
    path = tiny_root / "v2_OpenEnded_mscoco_val2014_questions.json"
    _edit(path, "questions", 4, lambda q: q.pop("image_id"))
    with pytest.raises(ValueError) as info:
        make_task(data_dir=str(tiny_root)).examples("test")
    message = str(info.value)
    assert str(path.absolute()) in message and "questions[4]" in message and "field 'image_id'" in message


def test_bad_answer_record_and_unknown_question(make_task, tiny_root):
    path = tiny_root / "v2_mscoco_train2014_annotations.json"
    _edit(path, "annotations", 2, lambda a: a["answers"].__setitem__(3, {"answer_id": 4}))
    with pytest.raises(ValueError, match=r"annotations\[2\].*answers\[3\]\.answer"):
        make_task(data_dir=str(tiny_root)).examples("train")
    write_ok = json.loads(path.read_text())
    write_ok["annotations"][2]["answers"][3] = {"answer": "no"}
    del write_ok["annotations"][5]
    path.write_text(json.dumps(write_ok))
    with pytest.raises(ValueError, match="question_id 6"):
        make_task(data_dir=str(tiny_root)).examples("train")


def test_unknown_split(make_task, tiny_root):
    with pytest.raises(ValueError, match="valid splits: train, val, test"):
        make_task(data_dir=str(tiny_root)).examples("dev")


def test_fingerprint_follows_data_and_options(make_task, tiny_root):
    base = make_task(data_dir=str(tiny_root)).fingerprint()
    assert base == make_task(data_dir=str(tiny_root)).fingerprint()
    assert base != make_task(data_dir=str(tiny_root), num_answers=10).fingerprint()
    path = tiny_root / "v2_mscoco_train2014_annotations.json"
    path.write_text(path.read_text() + "\n")
    assert make_task(data_dir=str(tiny_root)).fingerprint() != base


def test_nothing_read_in_init(make_task, tmp_path):
    t = make_task(data_dir=str(tmp_path / "nowhere"))  # must not raise
    assert t.required_paths()[-1] == (tmp_path / "nowhere" / "val2014").absolute()
