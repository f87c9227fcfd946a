"""A tiny SNLI-VE release in the official layout, to try the task (and test it) without the real data.

``write_sample_release(root)`` writes ``snli_ve_{train,dev,test}.jsonl`` (SNLI's fields plus
``Flickr30K_ID``) and ``flickr30k_images/<id>.jpg`` (tiny JPEGs) under ``root``. The splits are
disjoint by image, as in the release, and every split holds all three labels.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["write_sample_release"]

_ORDER = ("entailment", "contradiction", "neutral")


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


def _records() -> dict[str, list[dict[str, Any]]]:
    """Release split (file ``snli_ve_<split>.jsonl``) -> records; 9 train, 3 dev, 3 test."""
    train_images = ["1000092795"] * 3 + ["10002456"] * 3 + ["1000268201"] * 3
    return {
        "train": [
            _record(image_id, f"CAPTION {image_id} people outdoors.", f"hypothesis {i} about {image_id}",
                    _ORDER[i % 3], i)
            for i, image_id in enumerate(train_images)
        ],
        "dev": [
            _record("1000344755", "CAPTION dev.", f"dev hypothesis {label}", label, i)
            for i, label in enumerate(_ORDER)
        ],
        "test": [
            _record("1000366164", "CAPTION test.", f"test hypothesis {label}", label, i)
            for i, label in enumerate(reversed(_ORDER))
        ],
    }


def write_sample_release(root: Path) -> Path:
    """Write a tiny release of snli-ve in its official layout under ``root`` (created if missing) and
    return the folder to pass as the task's ``data_dir`` option: a handful of records per split with
    tiny images, enough to train and evaluate every split (each split non-empty, every label present).

    Layout: ``root/snli_ve_{train,dev,test}.jsonl`` (9, 3 and 3 records; each split holds all three
    labels) and ``root/flickr30k_images/<Flickr30K_ID>.jpg`` (5 images of 48x40, disjoint per split).
    The returned folder is ``root`` itself.
    """
    from PIL import Image

    root = Path(root)
    images = root / "flickr30k_images"
    images.mkdir(parents=True, exist_ok=True)
    for source, records in _records().items():
        (root / f"snli_ve_{source}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in records), encoding="utf-8"
        )
        for k, image_id in enumerate(sorted({r["Flickr30K_ID"] for r in records})):
            Image.new("RGB", (48, 40), (30 + 60 * k, 120, 200)).save(images / f"{image_id}.jpg")
    return root
