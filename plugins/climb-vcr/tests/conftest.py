"""Shared fixtures: build the task as the harness does, and write a tiny VCR folder in the official layout."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
import json
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

#: Movies (first folder of img_fn) of the tiny train.jsonl; val.jsonl uses a movie of its own.
TRAIN_MOVIES = ("lsmdc_0001_American_Beauty", "lsmdc_0002_As_Good_As_It_Gets", "movieclips_A_Fistful_of_Dollars",
                "movieclips_Bad_Teacher", "lsmdc_1004_Juno")
VAL_MOVIE = "lsmdc_3001_21_JUMP_STREET"


def record(split: str, index: int, movie: str, label: int) -> dict[str, Any]:
    """One VCR 1.0 record (the fields of the release, rationale ones included)."""
    objects = ["person", "person", "car", "person", "dog", "dog"]
    frame = f"{movie.split('_', 1)[1]}_00.00.{index:02d}.000-00.00.{index + 4:02d}.000@{index % 3}"
    return {
        "movie": movie,
        "objects": objects,
        "interesting_scores": [0],
        "answer_likelihood": "likely",
        "img_fn": f"{movie}/{frame}.jpg",
        "metadata_fn": f"{movie}/{frame}.json",
        "answer_orig": "orig",
        "question_orig": "orig",
        "rationale_orig": "orig",
        "question": ["What", "is", [0], "doing", "with", [2], f"q{index}", "?"],
        "answer_match_iter": [0, 1, 2],
        "answer_sources": [1, 2, 3, 4],
        "answer_choices": [
            [[0, 1], "are", "talking", "."],
            [[0], "is", "driving", [2], "."],
            [[0, 1, 3], "'s", "dogs", "bark", "at", [4, 5], "."],
            ["Nothing", ",", "really", "."],
        ],
        "answer_label": label,
        "rationale_choices": [["Because", "."]] * 4,
        "rationale_sources": [1, 2, 3, 4],
        "rationale_match_iter": [0, 1, 2],
        "rationale_label": 0,
        "img_id": f"{split}-{index}",
        "question_number": 0,
        "annot_id": f"{split}-{index}",
        "match_fold": f"{split}-0",
        "match_index": 0,
    }


def _tiny_records() -> dict[str, list[dict[str, Any]]]:
    train = [record("train", i, TRAIN_MOVIES[i % len(TRAIN_MOVIES)], i % 4) for i in range(20)]
    val = [record("val", i, VAL_MOVIE, (i + 1) % 4) for i in range(8)]
    test = [{k: v for k, v in r.items() if k not in ("answer_label", "rationale_label")}
            for r in (record("test", i, VAL_MOVIE, 0) for i in range(2))]
    return {"train": train, "val": val, "test": test}


def write_folder(root: Path, records: dict[str, list[dict[str, Any]]]) -> Path:
    from PIL import Image

    (root / "annotation").mkdir(parents=True)
    for split, rows in records.items():
        with open(root / "annotation" / f"{split}.jsonl", "w", encoding="utf-8") as file:
            file.writelines(json.dumps(row) + "\n" for row in rows)
        for n, row in enumerate(rows):
            path = root / "vcr1images" / row["img_fn"]
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (48, 32), (n * 30 % 256, 90, 160)).save(path, format="JPEG")
    return root



@pytest.fixture
def tiny_data_dir(tmp_path: Path) -> Path:
    """A small folder in VCR 1.0's layout: annotation/{train,val,test}.jsonl, vcr1images/<movie>/<frame>.jpg."""
    return write_folder(tmp_path / "vcr", _tiny_records())


@pytest.fixture
def make_task() -> Callable[..., Any]:
    """``make_task(data_dir=..., max_train_examples=...)``: built from the plugin's hook as the harness does."""
    from climb_vcr.plugin import climb_tasks

    from climb_harness.testing import build_component

    return lambda **options: build_component(climb_tasks()[0], **options)


@pytest.fixture
def tiny_records() -> dict[str, list[dict[str, Any]]]:
    """The records :func:`tiny_data_dir` writes, per file (train, val, test)."""
    return _tiny_records()


@pytest.fixture
def tiny_movies() -> tuple[tuple[str, ...], str]:
    """(the movies of the tiny train.jsonl, the movie of its val.jsonl)."""
    return TRAIN_MOVIES, VAL_MOVIE
