"""Shared fixtures: build the task through the plugin's own hook, and write a tiny NLVR2 release."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

#: (identifier, sentence, label, directory) of the tiny release, per release split. Train pairs sit
#: in numbered folders; the last train record has no "directory" field (found by search).
TINY = {
    "train": [
        ("train-10171-0-0", "There are two dogs in total.", "True", 3),
        ("train-10171-0-1", "The left image shows exactly one dog.", "False", 3),
        ("train-552-1-0", "One image contains a red bus.", "True", 0),
        ("train-552-1-1", "Both images are taken at night.", "False", 0),
        ("train-77-3-0", "A person stands in the right image.", "True", "12"),
        ("train-77-3-1", "There are no people.", "False", "12"),
        ("train-9-0-0", "Two birds face each other.", "True", 5),
        ("train-9-0-1", "All birds are flying.", "False", None),
    ],
    "dev": [
        ("dev-850-0-0", "The left image has more bottles.", "True", None),
        ("dev-850-0-1", "The right image has more bottles.", "False", None),
        ("dev-12-2-0", "A cat sleeps on a sofa.", "True", None),
        ("dev-13-1-3", "No image shows a cat.", "False", None),
    ],
    "test1": [
        ("test1-0-1-0", "There is exactly one horse.", "False", None),
        ("test1-0-1-1", "There are two horses.", "True", None),
        ("test1-44-0-2", "Each image shows a boat on water.", "True", None),
    ],
}


def stem(identifier: str) -> str:
    return identifier.rsplit("-", 1)[0]


def write_release(root: Path, records: dict[str, list[tuple]] | None = None) -> Path:
    """Write ``records`` (default :data:`TINY`) into ``root`` in NLVR2's release layout."""
    from PIL import Image

    records = TINY if records is None else records
    root.mkdir(parents=True, exist_ok=True)
    for source, rows in records.items():
        lines = []
        for i, (identifier, sentence, label, directory) in enumerate(rows):
            row: dict[str, Any] = {"identifier": identifier, "sentence": sentence, "label": label,
                                   "writer": "w1", "synset": "n0", "left_url": "http://x/l.jpg",
                                   "right_url": "http://x/r.jpg", "validation": {"w2": label}}
            if source == "train" and directory is not None:
                row["directory"] = directory
            lines.append(json.dumps(row))
            if source == "train":
                folder = root / "images" / "train" / str(directory if directory is not None else 7)
            else:
                folder = root / source
            folder.mkdir(parents=True, exist_ok=True)
            for k in (0, 1):
                path = folder / f"{stem(identifier)}-img{k}.png"
                if not path.exists():
                    Image.new("RGB", (24 + 8 * k, 20), (40 * i % 256, 100 * k, 150)).save(path)
        (root / f"{source}.json").write_text("\n".join(lines) + "\n\n", encoding="utf-8")  # trailing blank line
    return root


@pytest.fixture
def tiny_root(tmp_path: Path) -> Path:
    """A tiny NLVR2 release under tmp_path/nlvr2."""
    return write_release(tmp_path / "nlvr2")


@pytest.fixture
def make_task() -> Callable[..., Any]:
    """``make_task(data_dir=..., max_train_examples=...)``: factory(options) then manifest, as the harness does."""
    from climb_harness.testing import build_component
    from climb_nlvr2.plugin import climb_tasks

    def build(**options: Any) -> Any:
        return build_component(climb_tasks()[0], **options)

    return build


@pytest.fixture
def release_writer() -> Callable[..., Path]:
    """:func:`write_release`, for tests that write their own records or several folders."""
    return write_release


@pytest.fixture
def tiny_records() -> dict[str, list[tuple]]:
    """The records :func:`tiny_root` writes."""
    return TINY
