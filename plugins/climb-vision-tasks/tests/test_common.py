"""The split carving and the lazy example lists shared by every task."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from climb_harness.api import Example
from climb_vision_tasks._common import ExampleList, MissingDataFile, Official, carve_multilabel, carve_per_class


def test_carve_per_class_holds_out_exactly_k_per_class_and_covers_train():
    labels = [i % 7 for i in range(7 * 120)]
    train, val = carve_per_class(labels, 50, seed="s")
    assert Counter(labels[i] for i in val) == dict.fromkeys(range(7), 50)
    assert sorted(train + val) == list(range(len(labels))) and not set(train) & set(val)
    assert (train, val) == carve_per_class(labels, 50, seed="s")  # deterministic
    assert val != carve_per_class(labels, 50, seed="other")[1]
    assert val != sorted(i for i in range(len(labels)) if i < 350)  # not the first ones


def test_carve_per_class_takes_half_of_a_small_class():
    labels = [0] * 9 + [1] * 200 + [2]
    _, val = carve_per_class(labels, 50, seed="s")
    assert Counter(labels[i] for i in val) == {0: 4, 1: 50}  # a lone image stays in train


def test_carve_multilabel_reaches_each_quota_rarest_first():
    rng = random.Random(0)
    sets = [tuple(sorted(rng.sample(range(10), rng.randint(1, 3)))) for _ in range(600)]
    train, val = carve_multilabel(sets, 5, seed="s")
    assert sorted(train + val) == list(range(600)) and not set(train) & set(val)
    counts = Counter(label for i in val for label in sets[i])
    assert all(counts[label] >= 5 for label in range(10)), counts
    assert len(val) <= 50
    assert (train, val) == carve_multilabel(sets, 5, seed="s")


def test_example_list_is_lazy_indexable_and_comparable():
    made = []

    def make(j):
        made.append(j)
        return Example(images=(f"img{j}",), target=j % 2, id=str(j))

    items = ExampleList(Official([0, 1, 0, 1, 0], make), [1, 3, 4])
    assert made == [] and len(items) == 3
    assert items[0].id == "1" and items[-1].id == "4" and [e.id for e in items[1:]] == ["3", "4"]
    assert items.targets == [1, 1, 0] and items.indices == [1, 3, 4]
    assert items == [make(1), make(3), make(4)] and items != [make(1)]


def test_missing_data_file_is_a_data_error_and_a_file_not_found_error():
    from climb_harness.api import DataError

    error = MissingDataFile("x is missing")
    assert isinstance(error, DataError) and isinstance(error, FileNotFoundError) and str(error) == "x is missing"
    with pytest.raises(FileNotFoundError):
        raise error
