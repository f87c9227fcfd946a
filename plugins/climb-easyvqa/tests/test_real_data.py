"""The installed easy-VQA data: question types, splits by image, labels, subsampling."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from climb_easyvqa.data import default_data_dir, read_questions
from climb_easyvqa.labels import ANSWERS, TASK_NAMES, question_type
from easy_vqa import get_answers, get_test_questions, get_train_image_paths, get_train_questions

NAMES = list(TASK_NAMES.values())


def _counts(answers):
    return Counter(question_type(a) for a in answers)


def test_question_type_counts_on_real_data():
    # easy-VQA's own README: 38,575 train questions of which 28,407 yes/no; 9,673 test, 7,136 yes/no.
    train = _counts(get_train_questions()[1])
    test = _counts(get_test_questions()[1])
    assert train == {"yesno": 28_407, "color": 5_166, "shape": 5_002}
    assert test == {"yesno": 7_136, "color": 1_280, "shape": 1_257}
    assert None not in train and None not in test


def test_answer_sets_cover_easy_vqa_answers():
    assert sorted(a for answers in ANSWERS.values() for a in answers) == sorted(get_answers())
    colours = set(get_train_questions()[1]) - set(ANSWERS["shape"]) - set(ANSWERS["yesno"])
    assert colours == set(ANSWERS["color"])


def test_question_type_agrees_with_the_wording():
    """The answer-based type matches what the question asks (an independent check)."""
    texts, answers, _ = get_train_questions()
    for text, answer in zip(texts, answers):
        qtype = question_type(answer)
        if qtype == "yesno":
            assert not text.startswith("what"), text
        elif qtype == "color":
            assert re.match(r"what (color|is the color)", text), text
        else:
            assert re.match(r"what (shape|is the \w+ shape)", text), text


def test_reader_matches_easy_vqa():
    root = default_data_dir()
    for source, expected in (("train", get_train_questions()), ("test", get_test_questions())):
        rows = read_questions(root, source)
        assert [q.text for q in rows] == expected[0]
        assert [q.answer for q in rows] == expected[1]
        assert [q.image_id for q in rows] == expected[2]


@pytest.fixture(scope="module")
def full_tasks():
    import importlib

    from climb_easyvqa.plugin import climb_tasks

    tasks = {}
    for c in climb_tasks():
        module, attr = c.factory.split(":")
        t = getattr(importlib.import_module(module), attr)(
            {"max_train_examples": None, "max_eval_examples": None}
        )
        t.manifest = c.manifest
        tasks[c.name] = t
    return tasks


def test_full_splits_partition_the_data(full_tasks):
    train_counts = _counts(get_train_questions()[1])
    test_counts = _counts(get_test_questions()[1])
    for name, t in full_tasks.items():
        qtype = t.question_type
        assert len(t.examples("train")) + len(t.examples("val")) == train_counts[qtype]
        assert len(t.examples("test")) == test_counts[qtype]
        ids = [e.id for s in ("train", "val", "test") for e in t.examples(s)]
        assert len(ids) == len(set(ids)), name


def test_splits_disjoint_by_image(full_tasks):
    images = {s: set() for s in ("train", "val", "test")}
    for t in full_tasks.values():
        for split in images:
            split_images = {e.images[0] for e in t.examples(split)}
            assert all(len(e.images) == 1 for e in t.examples(split))
            images[split] |= split_images
    # across all three tasks, no image is in two splits
    assert not images["train"] & images["val"]
    assert not images["train"] & images["test"]
    assert not images["val"] & images["test"]
    # val is about 10% of the 4,000 train images
    n_train_images = len(get_train_image_paths())
    assert len(images["val"]) == pytest.approx(0.1 * n_train_images, abs=5)
    assert len(images["train"]) + len(images["val"]) == n_train_images


def test_val_images_change_with_fraction(make_task):
    small = {
        e.images[0]
        for e in make_task("easyvqa-yesno", max_eval_examples=None, val_fraction=0.05).examples("val")
    }
    large = {
        e.images[0]
        for e in make_task("easyvqa-yesno", max_eval_examples=None, val_fraction=0.2).examples("val")
    }
    assert 150 <= len(small) <= 200 and 750 <= len(large) <= 800


def test_labels_within_head_and_all_used(full_tasks):
    for t in full_tasks.values():
        num_labels = t.manifest["head"]["num_labels"]
        for split in ("train", "val", "test"):
            targets = {e.target for e in t.examples(split)}
            assert targets == set(range(num_labels)), (t.name, split)


def test_targets_name_the_right_answer(full_tasks):
    texts, answers, _ = get_test_questions()
    for t in full_tasks.values():
        for e in t.examples("test"):
            index = int(e.id.removeprefix("test-"))
            assert e.text == texts[index]
            assert t.labels[e.target] == answers[index]


def test_default_subsample_is_small_deterministic_and_stratified(make_task, full_tasks):
    for name in NAMES:
        first = make_task(name)
        second = make_task(name)
        for split, limit in (
            ("train", first.options["max_train_examples"]),
            ("val", first.options["max_eval_examples"]),
            ("test", first.options["max_eval_examples"]),
        ):
            sample = first.examples(split)
            assert len(sample) == limit
            assert sample == second.examples(split)
            full = full_tasks[name].examples(split)
            full_ids = [e.id for e in full]
            assert {e.id for e in sample} <= set(full_ids)
            assert [e.id for e in sample] != full_ids[:limit]  # not the first N
            full_share = Counter(e.target for e in full)
            sample_share = Counter(e.target for e in sample)
            for label, count in full_share.items():
                assert abs(sample_share[label] - limit * count / len(full)) <= 1, (name, split, label)


def test_subsample_size_follows_options(make_task):
    t = make_task("easyvqa-color", max_train_examples=50, max_eval_examples=20)
    assert (len(t.examples("train")), len(t.examples("val")), len(t.examples("test"))) == (50, 20, 20)
