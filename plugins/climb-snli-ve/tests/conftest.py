"""Shared fixtures: build the task as the harness does, and write a tiny SNLI-VE folder in the release layout."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _record(image_id: str, caption: str, hypothesis: str, label: str, pair: int) -> dict[str, Any]:
    """A line as the release writes it: SNLI's fields (parses, annotator labels, ...) plus Flickr30K_ID."""
    return {
        "annotator_labels": [label],
        "captionID": f"{image_id}.jpg#{pair % 5}",
        "gold_label": label,
        "pairID": f"{image_id}.jpg#{pair % 5}r1{label[0]}",
        "sentence1": caption,
        "sentence1_binary_parse": "( ( A caption ) . )",
        "sentence1_parse": "(ROOT (S (NP (DT A) (NN caption)) (. .)))",
        "sentence2": hypothesis,
        "sentence2_binary_parse": "( ( A hypothesis ) . )",
        "sentence2_parse": "(ROOT (S (NP (DT A) (NN hypothesis)) (. .)))",
        "Flickr30K_ID": image_id,
    }


_ORDER = ("entailment", "contradiction", "neutral")

#: source -> records (the release's splits are disjoint by image).
TINY_RECORDS: dict[str, list[dict[str, Any]]] = {
    "train": [
        _record(image_id, f"CAPTION {image_id} people outdoors.", f"hypothesis {i} about {image_id}", _ORDER[i % 3], i)
        for i, image_id in enumerate(["1000092795", "1000092795", "1000092795", "10002456", "10002456",
                                      "10002456", "1000268201", "1000268201", "1000268201"])
    ],
    "dev": [
        _record("1000344755", "CAPTION dev.", f"dev hypothesis {label}", label, i) for i, label in enumerate(_ORDER)
    ],
    "test": [
        _record("1000366164", "CAPTION test.", f"test hypothesis {label}", label, i)
        for i, label in enumerate(reversed(_ORDER))
    ],
}


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


@pytest.fixture
def tiny_records() -> dict[str, list[dict[str, Any]]]:
    """The records :func:`snli_dir` writes, per release split."""
    return json.loads(json.dumps(TINY_RECORDS))


@pytest.fixture
def snli_dir(tmp_path: Path) -> Path:
    """``<tmp>/snli-ve/snli_ve_{train,dev,test}.jsonl`` + ``flickr30k_images/<id>.jpg`` (tiny JPEGs)."""
    from PIL import Image

    root = tmp_path / "snli-ve"
    (root / "flickr30k_images").mkdir(parents=True)
    for source, records in TINY_RECORDS.items():
        write_jsonl(root / f"snli_ve_{source}.jsonl", records)
        for k, image_id in enumerate(sorted({r["Flickr30K_ID"] for r in records})):
            Image.new("RGB", (48, 40), (30 + 60 * k, 120, 200)).save(root / "flickr30k_images" / f"{image_id}.jpg")
    return root


@pytest.fixture
def make_task() -> Callable[..., Any]:
    """``make_task(data_dir=...)``: options validated and defaults filled, factory, then manifest, as the harness does."""
    from climb_harness.testing import build_component
    from climb_snli_ve.plugin import climb_tasks

    def build(**options: Any) -> Any:
        return build_component(climb_tasks()[0], **options)

    return build
