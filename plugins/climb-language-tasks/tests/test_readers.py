"""Each reader against the raw files: label / choice mapping exactly, and a clear DataError naming file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from climb_harness.api import DataError


def _all(t):
    return {e.id: e for s in ("train", "val", "test") for e in t.examples(s)}


def _rewrite_line(path: Path, number: int, text: str) -> None:
    lines = path.read_text().splitlines()
    lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n")


def _error(t, split="train") -> str:
    with pytest.raises(DataError) as info:
        t.examples(split)
    assert not isinstance(info.value, FileNotFoundError)
    assert "\n" not in str(info.value) and "Fix:" in str(info.value)
    return str(info.value)


# ----------------------------------------------------------------------------- imdb
def test_imdb_labels_are_the_folders_and_text_the_file(task_at, sample_root):
    t = task_at("imdb")
    assert t.labels == ("neg", "pos")
    examples = _all(t)
    root = sample_root / "imdb" / "aclImdb"
    files = [p for split in ("train", "test") for label in ("neg", "pos") for p in (root / split / label).iterdir()]
    assert len(examples) == len(files) == 14  # train/unsup and urls_pos.txt are not read
    for path in files:
        e = examples[f"{path.parent.parent.name}/{path.parent.name}/{path.name}"]
        assert e.target == {"neg": 0, "pos": 1}[path.parent.name] and e.text == path.read_text()
        assert e.choices == () and e.images == ()
    assert not any("UNSUP" in e.text for e in examples.values())
    assert "<br /><br />" in examples["train/neg/10_1.txt"].text  # kept, as the release has it


@pytest.mark.parametrize(("name", "expected"), [("review.txt", "not <id>_<rating>.txt"), ("3_8.txt", "rating 8"),
                                                ("3_5.txt", "rating 5")])
def test_imdb_bad_file_name_or_rating_names_the_file(task_at, sample_root, name, expected):
    bad = sample_root / "imdb" / "aclImdb" / "train" / "neg" / name
    bad.write_text("Some review.")
    message = _error(task_at("imdb"))
    assert str(bad) in message and expected in message


def test_imdb_empty_or_non_utf8_review_names_the_file(task_at, sample_root):
    bad = sample_root / "imdb" / "aclImdb" / "test" / "pos" / "0_9.txt"
    bad.write_bytes(b"\xff\xfe bad")
    assert f"{bad}, line 1" in _error(task_at("imdb"), "test") and "UTF-8" in _error(task_at("imdb"), "test")
    bad.write_text("   ")
    assert "empty" in _error(task_at("imdb"), "test")


# ----------------------------------------------------------------------------- sst2
def test_sst2_labels_and_sentences_exactly(task_at, sample_root):
    examples = _all(task_at("sst2"))
    for stem in ("train", "dev"):
        lines = (sample_root / "sst2" / "SST-2" / f"{stem}.tsv").read_text().splitlines()
        for number, line in enumerate(lines[1:], start=2):
            sentence, label = line.rsplit("\t", 1)
            e = examples[f"{stem}-{number}"]
            assert (e.text, e.target) == (sentence.strip(), int(label))
    assert len(examples) == 21  # test.tsv (unlabelled) is not read


@pytest.mark.parametrize(("line", "number", "expected"), [
    ("sentence\tscore", 1, "header"), ("a fine film\t2", 3, "unknown label '2'"), ("a fine film", 3, "no tab"),
    ("  \t1", 3, "sentence is empty"), ("a fine film\tpositive", 3, "unknown label"),
])
def test_sst2_bad_line_names_file_and_line(task_at, sample_root, line, number, expected):
    path = sample_root / "sst2" / "SST-2" / "train.tsv"
    _rewrite_line(path, number, line)
    message = _error(task_at("sst2"))
    assert f"{path}, line {number}" in message and expected in message, message


def test_sst2_header_only_file_is_refused(task_at, sample_root):
    path = sample_root / "sst2" / "SST-2" / "dev.tsv"
    path.write_text("sentence\tlabel\n")
    assert "holds no records" in _error(task_at("sst2"), "test")


# ----------------------------------------------------------------------------- piqa
def test_piqa_goal_choices_and_labels_exactly(task_at, sample_root):
    examples = _all(task_at("piqa"))
    for stem in ("train", "valid"):
        rows = [json.loads(x) for x in (sample_root / "piqa" / f"{stem}.jsonl").read_text().splitlines()]
        labels = (sample_root / "piqa" / f"{stem}-labels.lst").read_text().split()
        for number, (row, label) in enumerate(zip(rows, labels), start=1):
            e = examples[f"{stem}-{number}"]
            assert (e.text, e.choices, e.target) == (row["goal"], (row["sol1"], row["sol2"]), int(label))
    assert examples["train-1"].target == 1 and examples["train-1"].choices[1] == "Pour it into a jar"


def test_piqa_bad_label_and_bad_record_name_file_and_line(task_at, sample_root):
    labels = sample_root / "piqa" / "train-labels.lst"
    _rewrite_line(labels, 5, "2")
    assert f"{labels}, line 5" in _error(task_at("piqa"))
    _rewrite_line(labels, 5, "0")
    records = sample_root / "piqa" / "train.jsonl"
    _rewrite_line(records, 3, json.dumps({"goal": "g", "sol1": "a"}))
    assert f"{records}, line 3, field 'sol2'" in _error(task_at("piqa"))
    _rewrite_line(records, 3, "{not json")
    assert f"{records}, line 3" in _error(task_at("piqa")) and "not valid JSON" in _error(task_at("piqa"))


def test_piqa_labels_that_do_not_pair_up_are_refused(task_at, sample_root):
    labels = sample_root / "piqa" / "valid-labels.lst"
    labels.write_text("0\n1\n0\n")
    message = _error(task_at("piqa"), "test")
    assert str(labels) in message and "(4 records)" in message and "(3 labels)" in message


# ----------------------------------------------------------------------------- hellaswag
def test_hellaswag_ctx_endings_label_exactly(task_at, sample_root):
    examples = _all(task_at("hellaswag"))
    for stem in ("hellaswag_train", "hellaswag_val"):
        rows = [json.loads(x) for x in (sample_root / "hellaswag" / f"{stem}.jsonl").read_text().splitlines()]
        for number, row in enumerate(rows, start=1):
            e = examples[f"{stem}-{number}"]
            assert (e.text, e.choices, e.target) == (row["ctx"], tuple(row["endings"]), row["label"])
            assert "right" in e.choices[e.target]
    assert len(examples) == 16  # hellaswag_test.jsonl is not read


@pytest.mark.parametrize(("change", "field", "expected"), [
    ({"label": 4}, "label", "unknown label 4"), ({"label": None}, "label", "unknown label"),
    ({"endings": ["a", "b", "c"]}, "endings", "not a list of 4 strings"), ({"ctx": ""}, "ctx", "non-empty string"),
    ({"drop": "label"}, "label", "missing"),
])
def test_hellaswag_bad_field_names_file_line_and_field(task_at, sample_root, change, field, expected):
    path = sample_root / "hellaswag" / "hellaswag_train.jsonl"
    row = json.loads(path.read_text().splitlines()[3])
    row.pop(change.pop("drop", None), None)
    row.update(change)
    _rewrite_line(path, 4, json.dumps(row))
    message = _error(task_at("hellaswag"))
    assert f"{path}, line 4, field {field!r}" in message and expected in message, message


# ----------------------------------------------------------------------------- commonsenseqa
def test_commonsenseqa_stem_choices_answer_exactly(task_at, sample_root):
    examples = _all(task_at("commonsenseqa"))
    for stem in ("train_rand_split", "dev_rand_split"):
        for line in (sample_root / "commonsenseqa" / f"{stem}.jsonl").read_text().splitlines():
            row = json.loads(line)
            e = examples[row["id"]]
            assert e.text == row["question"]["stem"]
            assert e.choices == tuple(c["text"] for c in row["question"]["choices"])
            assert e.choices[e.target] == f"choice {int(row['id'], 16)}{row['answerKey']}"
    assert len(examples) == 15


def test_commonsenseqa_choices_are_put_in_label_order(task_at, sample_root):
    path = sample_root / "commonsenseqa" / "dev_rand_split.jsonl"
    row = json.loads(path.read_text().splitlines()[0])
    row["question"]["choices"].reverse()  # E, D, C, B, A
    _rewrite_line(path, 1, json.dumps(row))
    e = task_at("commonsenseqa").examples("test")[0]
    assert e.choices == tuple(f"choice 100{c}" for c in "ABCDE") and e.choices[e.target] == "choice 100E"


@pytest.mark.parametrize(("edit", "field", "expected"), [
    (lambda r: r.update(answerKey="F"), "answerKey", "unknown answer 'F'"),
    (lambda r: r["question"]["choices"].pop(), "question.choices", "not A-E"),
    (lambda r: r["question"].update(stem=" "), "question.stem", "non-empty string"),
    (lambda r: r["question"]["choices"][1].update(label="A"), "question.choices[1].label", "repeated"),
    (lambda r: r.pop("question"), "question", "missing"),
])
def test_commonsenseqa_bad_field_names_file_line_and_field(task_at, sample_root, edit, field, expected):
    path = sample_root / "commonsenseqa" / "train_rand_split.jsonl"
    row = json.loads(path.read_text().splitlines()[6])
    edit(row)
    _rewrite_line(path, 7, json.dumps(row))
    message = _error(task_at("commonsenseqa"))
    assert f"{path}, line 7, field {field!r}" in message and expected in message, message
