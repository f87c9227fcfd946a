"""Shared fixtures: build the task as the harness does, and write a tiny VQAv2 folder in the official layout."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep the vocabulary cache of each test in its own folder."""
    folder = tmp_path_factory.mktemp("climb-cache")
    monkeypatch.setenv("CLIMB_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def make_task() -> Callable[..., Any]:
    from climb_harness.testing import build_component
    from climb_vqav2.plugin import climb_tasks

    return lambda **options: build_component(climb_tasks()[0], **options)


def _answers(counts: dict[str, int]) -> list[dict[str, Any]]:
    answers = [a for a, n in counts.items() for _ in range(n)]
    assert len(answers) == 10
    return [{"answer": a, "answer_confidence": "yes", "answer_id": i + 1} for i, a in enumerate(answers)]


def make_split(source: str, n_images: int, first_qid: int) -> tuple[list[dict], list[dict]]:
    """Three questions per image; answers chosen so that counts are known (see TINY_MC)."""
    questions, annotations = [], []
    qid = first_qid
    for image in range(n_images):
        image_id = 1000 * (source == "val2014") + image + 1
        for kind in range(3):
            qid += 1
            if kind == 0:  # "how many": number words must normalise to digits
                mc, answers = "Two", {"2": 4, "two": 3, "3": 2, "three.": 1}
            elif kind == 1:  # yes/no
                mc, answers = ("yes", {"yes": 9, "no": 1}) if image % 2 else ("no", {"no": 10})
            else:  # what: articles and punctuation
                mc, answers = "A Dog!", {"dog": 2, "the dog": 1, "cat": 3, "a cat": 1, "rare answer": 3}
            questions.append({"question_id": qid, "image_id": image_id, "question": f"question {kind} about {image_id}?"})
            annotations.append({"question_id": qid, "image_id": image_id, "question_type": "what",
                                "answer_type": "other", "multiple_choice_answer": mc, "answers": _answers(answers)})
    return questions, annotations


def write_folder(root: Path, n_train_images: int = 8, n_val_images: int = 4) -> Path:
    from PIL import Image

    root.mkdir(parents=True, exist_ok=True)
    for source, n, first in (("train2014", n_train_images, 0), ("val2014", n_val_images, 100000)):
        questions, annotations = make_split(source, n, first)
        (root / f"v2_OpenEnded_mscoco_{source}_questions.json").write_text(json.dumps(
            {"info": {}, "task_type": "Open-Ended", "data_type": "mscoco", "license": {}, "data_subtype": source,
             "questions": questions}))
        (root / f"v2_mscoco_{source}_annotations.json").write_text(json.dumps(
            {"info": {}, "license": {}, "data_subtype": source, "annotations": annotations}))
        (root / source).mkdir(exist_ok=True)
        for image_id in sorted({q["image_id"] for q in questions}):
            Image.new("RGB", (40, 32), (image_id * 37 % 256, 90, 160)).save(
                root / source / f"COCO_{source}_{image_id:012d}.jpg")
    return root


@pytest.fixture
def tiny_root(tmp_path: Path) -> Path:
    """8 train2014 images and 4 val2014 images, 3 questions each, in the official layout."""
    return write_folder(tmp_path / "vqav2")
