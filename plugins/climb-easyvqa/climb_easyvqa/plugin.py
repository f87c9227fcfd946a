"""Hook module of climb-easyvqa: the manifests of the three easy-VQA tasks.

Cheap to import (no torch, no data access): ``climb list`` imports it to list the tasks; the
data is read only when a task's ``examples(split)`` is called.
"""

from __future__ import annotations

import copy
from typing import Any

from climb_easyvqa.labels import ANSWERS, TASK_NAMES
from climb_harness.api import API_VERSION, Component, data_options, hookimpl, option_defaults, task

#: The largest image decoded by default: easy-VQA's images are 64 x 64 (4,096 pixels); 1 megapixel leaves room
#: for a copy drawn larger and stops a decompression bomb.
MAX_IMAGE_PIXELS = 1_000_000

OPTIONS_SCHEMA: dict[str, Any] = data_options(
    "Folder in easy-VQA's layout ({train,test}/questions.json, {train,test}/images/<id>.png); "
    "null = the data shipped inside the installed easy-vqa package.",
    max_train="Seeded, label-stratified sample of the train split (null = all) to keep CPU runs short.",
    max_train_default=800,
    max_eval_default=300,
    max_image_pixels=MAX_IMAGE_PIXELS,
    val_fraction=0.1,
    val_fraction_description="Share of easy-VQA's train images held out as val (by image, seed 2022, same "
    "for all three tasks).",
)

DEFAULT_OPTIONS: dict[str, Any] = option_defaults(OPTIONS_SCHEMA)

_DATA = {
    "source": "easy-VQA by Victor Zhou, https://github.com/vzhou842/easy-VQA (PyPI package easy-vqa 1.0): "
    "5,000 64x64 PNG images of one coloured shape, 48,248 questions, 13 answers.",
    "license": "MIT",
    "how_to_get": "Nothing to download: `pip install easy-vqa` (a dependency of climb-easyvqa) ships the data "
    "inside the package. To use a copy elsewhere, set the task option data_dir to a folder with "
    "{train,test}/questions.json and {train,test}/images/<id>.png.",
}

_SUMMARIES = {
    "shape": "easy-VQA 'what shape' questions (circle / rectangle / triangle) about 64x64 synthetic images.",
    "color": "easy-VQA 'what colour' questions (eight colours) about 64x64 synthetic images.",
    "yesno": "easy-VQA yes/no questions about the shape and colour in 64x64 synthetic images.",
}

_FACTORIES = {
    "shape": "climb_easyvqa.tasks:EasyVqaShapeTask",
    "color": "climb_easyvqa.tasks:EasyVqaColorTask",
    "yesno": "climb_easyvqa.tasks:EasyVqaYesNoTask",
}


def manifest(question_type: str) -> dict[str, Any]:
    """The task manifest of one question type."""
    num_labels = len(ANSWERS[question_type])
    return {
        "name": TASK_NAMES[question_type],
        "api_version": API_VERSION,
        "summary": _SUMMARIES[question_type],
        "description": (
            f"Answers, in head order: {', '.join(ANSWERS[question_type])}. Val is a seeded 10% of easy-VQA's "
            "train images (no image in both train and val); test is easy-VQA's test split. By default a "
            "seeded, label-stratified sample keeps each split small enough for a CPU."
        ),
        "modality": "vision-language",
        "images_per_example": 1,
        "max_text_length": 40,
        "head": {"type": "classification", "num_labels": num_labels},
        "metric": "accuracy",
        "random_baseline": 100 / num_labels,
        "splits": ["train", "val", "test"],
        "defaults": {"epochs": 3, "lr": 1e-4, "batch_size": 32, "low_shot": ["10%"]},
        "data": dict(_DATA),
        "options": copy.deepcopy(OPTIONS_SCHEMA),
    }


@hookimpl
def climb_tasks() -> list[Component]:
    """easyvqa-shape, easyvqa-color, easyvqa-yesno (the default task order)."""
    return [task(manifest(qtype), _FACTORIES[qtype]) for qtype in TASK_NAMES]
