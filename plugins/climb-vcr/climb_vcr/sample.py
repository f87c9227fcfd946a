"""A tiny VCR 1.0 release in the official layout, for trying the task and for tests.

:func:`write_sample_release` writes ``annotation/{train,val,test}.jsonl`` and
``vcr1images/<movie>/<frame>.jpg`` (48x32 JPEGs). The records carry every field of the release,
rationale ones included. The values are synthetic: the images are flat colours and the answers
follow no pattern, so a model trained on it learns nothing; it only exercises the task end to end.

Torch-free; PIL is imported only when writing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["write_sample_release"]

#: Movies (first folder of img_fn) of the tiny train.jsonl; val.jsonl uses a movie of its own.
_TRAIN_MOVIES = ("lsmdc_0001_American_Beauty", "lsmdc_0002_As_Good_As_It_Gets", "movieclips_A_Fistful_of_Dollars",
                 "movieclips_Bad_Teacher", "lsmdc_1004_Juno")
_VAL_MOVIE = "lsmdc_3001_21_JUMP_STREET"


def _record(split: str, index: int, movie: str, label: int) -> dict[str, Any]:
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


def _records() -> dict[str, list[dict[str, Any]]]:
    """The records written, per file: train.jsonl (20, 5 movies, labels 0-3 five times each),
    val.jsonl (8, one movie, labels 0-3 twice each) and the unlabelled test.jsonl (2)."""
    train = [_record("train", i, _TRAIN_MOVIES[i % len(_TRAIN_MOVIES)], i % 4) for i in range(20)]
    val = [_record("val", i, _VAL_MOVIE, (i + 1) % 4) for i in range(8)]
    test = [{k: v for k, v in r.items() if k not in ("answer_label", "rationale_label")}
            for r in (_record("test", i, _VAL_MOVIE, 0) for i in range(2))]
    return {"train": train, "val": val, "test": test}


def _write(root: Path, records: dict[str, list[dict[str, Any]]]) -> Path:
    from PIL import Image

    (root / "annotation").mkdir(parents=True, exist_ok=True)
    for split, rows in records.items():
        with open(root / "annotation" / f"{split}.jsonl", "w", encoding="utf-8") as file:
            file.writelines(json.dumps(row) + "\n" for row in rows)
        for n, row in enumerate(rows):
            path = root / "vcr1images" / row["img_fn"]
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (48, 32), (n * 30 % 256, 90, 160)).save(path, format="JPEG")
    return root


def write_sample_release(root: Path) -> Path:
    """Write a tiny release of vcr in its official layout under ``root`` (created if missing) and
    return the folder to pass as the task's ``data_dir`` option.

    ``annotation/train.jsonl`` has 20 records over 5 movies (each answer_label 0-3 five times),
    ``annotation/val.jsonl`` 8 records of a sixth movie (each label twice), ``annotation/test.jsonl``
    2 unlabelled records, and ``vcr1images/`` one 48x32 JPEG per ``img_fn``. With the default
    ``val_fraction`` the task's train split is 4 of the train movies, its val the fifth, and its test
    the 8 records of ``val.jsonl``; every split is non-empty. Existing files of the same names are
    overwritten.
    """
    return _write(Path(root), _records())
