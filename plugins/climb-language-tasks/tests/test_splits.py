"""Every task: val is a seeded, label-stratified 30% of the official train split, train the rest, test the
official dev split; required_paths, missing files, subsampling, the data-root default, the fingerprint."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from climb_harness.api import DataError
from climb_language_tasks._common import carve, round_half_up

CLIMB_TASKS = ("imdb", "sst2", "piqa", "hellaswag", "commonsenseqa")


def _jsonl_ids(path: Path, prefix: str) -> list[str]:
    lines = path.read_text().splitlines()
    return [f"{prefix}-{n}" for n, line in enumerate(lines, start=1) if line.strip()]


def official(name: str, folder: Path, source: str) -> list[str]:
    """The ids of an official split, read straight from the sample files (independently of the task's reader)."""
    if name == "imdb":
        split = {"train": "train", "test": "test"}[source]
        return [f"{split}/{label}/{p.name}" for label in ("neg", "pos")
                for p in sorted((folder / "aclImdb" / split / label).iterdir(), key=lambda p: int(p.name.split("_")[0]))]
    if name == "sst2":
        stem = {"train": "train", "test": "dev"}[source]
        lines = (folder / "SST-2" / f"{stem}.tsv").read_text().splitlines()
        return [f"{stem}-{n}" for n in range(2, len(lines) + 1)]
    if name == "piqa":
        stem = {"train": "train", "test": "valid"}[source]
        return _jsonl_ids(folder / f"{stem}.jsonl", stem)
    if name == "hellaswag":
        stem = {"train": "hellaswag_train", "test": "hellaswag_val"}[source]
        return _jsonl_ids(folder / f"{stem}.jsonl", stem)
    stem = {"train": "train_rand_split", "test": "dev_rand_split"}[source]
    return [json.loads(line)["id"] for line in (folder / f"{stem}.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("name", CLIMB_TASKS)
def test_train_and_val_partition_the_official_train_split(task_at, sample_root, name):
    t = task_at(name)
    train, val, test = ([e.id for e in t.examples(s)] for s in ("train", "val", "test"))
    expected = official(name, sample_root / name, "train")
    assert not set(train) & set(val)
    assert sorted(train + val) == sorted(expected) and len(set(expected)) == len(expected)
    order = {i: k for k, i in enumerate(expected)}
    assert train == sorted(train, key=order.get) and val == sorted(val, key=order.get)  # file order kept
    assert test == official(name, sample_root / name, "test")  # the official dev / test split, whole, in order
    assert not set(test) & set(expected)


@pytest.mark.parametrize("name", CLIMB_TASKS)
def test_val_is_30_percent_of_each_label_seeded(task_at, name):
    t = task_at(name)
    train, val = t.examples("train"), t.examples("val")
    total = Counter(e.target for e in [*train, *val])
    assert Counter(e.target for e in val) == {y: round_half_up(0.3 * n) for y, n in total.items() if round_half_up(0.3 * n)}
    again = task_at(name)
    assert [e.id for e in again.examples("val")] == [e.id for e in val]  # deterministic


def test_carve_is_stratified_disjoint_and_covering():
    labels = [i % 3 for i in range(100)] + [7] * 5
    parts = carve(labels, [("val", 0.3)], seed=2022)
    assert sorted(parts["train"] + parts["val"]) == list(range(105)) and not set(parts["train"]) & set(parts["val"])
    assert Counter(labels[i] for i in parts["val"]) == {0: 10, 1: 10, 2: 10, 7: 2}  # 33*.3=9.9, 34*.3=10.2, 5*.3=1.5
    assert parts == carve(labels, [("val", 0.3)], seed=2022)
    assert parts != carve(labels, [("val", 0.3)], seed=2023)
    three = carve(labels, [("val", 0.15), ("test", 0.15)], seed=2022)
    assert sorted(three["train"] + three["val"] + three["test"]) == list(range(105))
    assert not set(three["val"]) & set(three["test"]) and all(p == sorted(p) for p in three.values())
    assert [round_half_up(x) for x in (0.5, 1.5, 2.5, 0.49)] == [1, 2, 3, 0]


def test_seed_2022_fixes_the_carving_of_sst2(task_at):
    """A frozen expectation: changing the seed, the fraction or the order of the carving fails here."""
    assert [e.id for e in task_at("sst2").examples("val")] == ["train-3", "train-10", "train-11", "train-12", "train-13"]


@pytest.mark.parametrize("name", CLIMB_TASKS)
def test_subsample_is_seeded_and_label_stratified(task_at, name):
    full = task_at(name)
    small, again = task_at(name, max_train_examples=3, max_eval_examples=2), task_at(name, max_train_examples=3, max_eval_examples=2)
    assert [e.id for e in small.examples("train")] == [e.id for e in again.examples("train")]
    assert len(small.examples("train")) == 3 and len(small.examples("val")) == len(small.examples("test")) == 2
    assert {e.id for e in small.examples("train")} <= {e.id for e in full.examples("train")}
    assert {e.id for e in small.examples("val")} <= {e.id for e in full.examples("val")}


EXPECTED_PATHS = {
    "imdb": ["aclImdb/train/neg", "aclImdb/train/pos", "aclImdb/test/neg", "aclImdb/test/pos"],
    "sst2": ["SST-2/train.tsv", "SST-2/dev.tsv"],
    "piqa": ["train.jsonl", "train-labels.lst", "valid.jsonl", "valid-labels.lst"],
    "hellaswag": ["hellaswag_train.jsonl", "hellaswag_val.jsonl"],
    "commonsenseqa": ["train_rand_split.jsonl", "dev_rand_split.jsonl"],
    "wordnet-supersense": ["data.noun"],
}


@pytest.mark.parametrize("name", list(EXPECTED_PATHS))
def test_required_paths_name_the_release_files(task_at, sample_root, name):
    paths = list(task_at(name).required_paths())
    assert paths == [sample_root / name / p for p in EXPECTED_PATHS[name]]
    assert all(p.is_absolute() and p.exists() for p in paths)


@pytest.mark.parametrize("name", CLIMB_TASKS)
def test_a_missing_test_file_fails_only_the_test_split(task_at, sample_root, name):
    import shutil

    victim = sample_root / name / EXPECTED_PATHS[name][-1]
    shutil.rmtree(victim) if victim.is_dir() else victim.unlink()
    t = task_at(name)
    assert [p for p in t.required_paths() if not p.exists()] == [victim]
    assert t.examples("train") and t.examples("val")  # the official train split still reads
    with pytest.raises(FileNotFoundError) as info:
        t.examples("test")
    assert isinstance(info.value, DataError) and str(victim) in str(info.value) and "Fix:" in str(info.value)


@pytest.mark.parametrize("name", CLIMB_TASKS)
def test_without_any_data_folder(make_task, monkeypatch, name):
    monkeypatch.delenv("CLIMB_DATA_ROOT", raising=False)
    with pytest.raises(FileNotFoundError, match="CLIMB_DATA_ROOT"):
        make_task(name).required_paths()
    with pytest.raises(FileNotFoundError):
        make_task(name).examples("train")
    assert make_task(name).fingerprint().startswith(f"climb-language-tasks 0.1.0 {name} dir=unset")


@pytest.mark.parametrize("name", CLIMB_TASKS)
def test_data_root_env_is_the_default(make_task, sample_root, monkeypatch, name):
    monkeypatch.setenv("CLIMB_DATA_ROOT", str(sample_root))
    t = make_task(name)
    assert t.required_paths()[0] == sample_root / name / EXPECTED_PATHS[name][0]
    assert len(t.examples("test")) >= 4


@pytest.mark.parametrize("name", list(EXPECTED_PATHS))
def test_unknown_split_names_the_valid_ones(task_at, name):
    with pytest.raises(ValueError) as info:
        task_at(name).examples("dev")
    assert all(s in str(info.value) for s in ("'dev'", "train", "val", "test"))


@pytest.mark.parametrize("name", list(EXPECTED_PATHS))
def test_building_reads_nothing_and_splits_are_cached(make_task, task_at, sample_root, tmp_path, name):
    make_task(name, data_dir=str(tmp_path / "nowhere"))  # no error: nothing read yet
    t = task_at(name)
    first = t.examples("train")
    assert t.examples("train") is first


@pytest.mark.parametrize("name", list(EXPECTED_PATHS))
def test_fingerprint_follows_data_and_options(task_at, sample_root, name):
    base = task_at(name).fingerprint()
    assert base == task_at(name).fingerprint()
    assert base != task_at(name, max_train_examples=3).fingerprint()
    path = sample_root / name / EXPECTED_PATHS[name][0]
    if path.is_dir():
        (path / "999_1.txt").write_text("Bad.")
    else:
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert task_at(name).fingerprint() != base
