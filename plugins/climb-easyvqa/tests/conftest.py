"""Shared fixtures: build a task through the plugin's own hook, and write a tiny data folder."""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def make_task() -> Callable[..., Any]:
    """``make_task("easyvqa-shape", max_train_examples=None)``: factory(options) then manifest, as the harness does."""
    from climb_easyvqa.plugin import DEFAULT_OPTIONS, climb_tasks

    components = {c.name: c for c in climb_tasks()}

    def build(name: str, **options: Any) -> Any:
        component = components[name]
        module, attr = component.factory.split(":")
        obj = getattr(importlib.import_module(module), attr)({**DEFAULT_OPTIONS, **options})
        obj.manifest = component.manifest
        return obj

    return build


#: (question, answer, image_id) rows of the tiny data folder, per easy-VQA split.
TINY_QUESTIONS = {
    "train": [
        [f"what shape is in the image {i}?", ["circle", "rectangle", "triangle"][i % 3], i] for i in range(10)
    ]
    + [[f"what color is shape {i}?", ["red", "blue", "teal"][i % 3], i] for i in range(10)]
    + [[f"is there a circle {i}?", ["yes", "no"][i % 2], i] for i in range(10)],
    "test": [
        ["what shape is present?", "triangle", 0],
        ["what color is the shape?", "green", 1],
        ["is there a red shape?", "no", 2],
        ["is there not a red shape?", "yes", 2],
    ],
}


@pytest.fixture
def tiny_data_dir(tmp_path: Path) -> Path:
    """A small folder in easy-VQA's real layout: {train,test}/questions.json + images/<id>.png."""
    from PIL import Image

    root = tmp_path / "easyvqa"
    for source, rows in TINY_QUESTIONS.items():
        (root / source / "images").mkdir(parents=True)
        (root / source / "questions.json").write_text(json.dumps(rows))
        for image_id in sorted({row[2] for row in rows}):
            Image.new("RGB", (64, 64), (image_id * 20 % 256, 40, 200)).save(
                root / source / "images" / f"{image_id}.png"
            )
    return root


@pytest.fixture
def tiny_questions() -> dict[str, list[list[Any]]]:
    """The rows :func:`tiny_data_dir` writes."""
    return TINY_QUESTIONS
