"""A tiny VQAv2 release in the official layout, to try the task (and test it) without the real data.

``write_sample_release(root)`` writes the four official JSON files and the two image folders
(8 train2014 images and 4 val2014 images, 40x32 JPEGs, three questions each) and returns the folder
to pass as the task's ``data_dir`` option. The answers are chosen so that the counts are known:
per image a "how many" question (``multiple_choice_answer`` "Two"; answers 2 x4, two x3, 3 x2,
three. x1: number words normalise to digits), a yes/no question ("yes" 9/1 on odd images, "no" 10/10
on even ones) and a "what" question ("A Dog!"; dog x2, the dog x1, cat x3, a cat x1, rare answer x3:
articles and punctuation). Normalised ``multiple_choice_answer`` counts over train2014 + val2014:
"2" 12, "dog" 12, "yes" 6, "no" 6, so the default ``min_answer_count`` (9) gives the vocabulary
["2", "dog"]. Imports nothing heavy (PIL only, inside the function).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["write_sample_release"]

_N_TRAIN_IMAGES = 8
_N_VAL_IMAGES = 4


def _answers(counts: dict[str, int]) -> list[dict[str, Any]]:
    answers = [a for a, n in counts.items() for _ in range(n)]
    assert len(answers) == 10
    return [{"answer": a, "answer_confidence": "yes", "answer_id": i + 1} for i, a in enumerate(answers)]


def _split(source: str, n_images: int, first_qid: int) -> tuple[list[dict], list[dict]]:
    """Three questions per image; answers chosen so that counts are known (see the module docstring)."""
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


def write_sample_release(root: Path) -> Path:
    """Write a tiny release of vqav2 in its official layout under ``root`` (created if missing) and return
    the folder to pass as the task's ``data_dir`` option: a handful of records per split with tiny images,
    enough to train and evaluate every split (each split non-empty, every label present).

    Writes ``v2_OpenEnded_mscoco_{train,val}2014_questions.json``, ``v2_mscoco_{train,val}2014_annotations.json``
    and ``train2014/`` (8 images, 24 questions) and ``val2014/`` (4 images, 12 questions) of
    ``COCO_<source>_<image_id:012d>.jpg`` files. With the default options the task gives train 14 (the 7
    non-held-out train2014 images' questions, minus their yes/no ones, which have no vocabulary answer),
    val 3 (the one held-out image) and test 12 (val2014); vocabulary ["2", "dog"], both present in train.
    """
    from PIL import Image

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for source, n, first in (("train2014", _N_TRAIN_IMAGES, 0), ("val2014", _N_VAL_IMAGES, 100000)):
        questions, annotations = _split(source, n, first)
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
