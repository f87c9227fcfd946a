"""A tiny NLVR2 release in the official layout, to try the task (and to test it) without the real data.

    from pathlib import Path
    from climb_nlvr2.sample import write_sample_release
    data_dir = write_sample_release(Path("/tmp/nlvr2-sample"))

The folder holds ``train.json``, ``dev.json`` and ``test1.json`` (JSON lines, trailing blank line) and
tiny PNG image pairs in ``images/train/<n>/``, ``dev/`` and ``test1/``; pass it as the ``data_dir``
option of the ``nlvr2`` task. No torch here; PIL is imported only when writing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["write_sample_release"]

#: (identifier, sentence, label, directory) per release file. Train pairs sit in numbered folders
#: (``directory`` may be an int or a numeric string); the last train record has no "directory" field,
#: its images sit in folder 7 and are found by search. Both labels appear in every split.
_RECORDS: dict[str, list[tuple[str, str, str, Any]]] = {
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

#: Folder that holds the images of a train record written without a "directory" field.
_UNLISTED_TRAIN_FOLDER = 7


def _stem(identifier: str) -> str:
    """The pair name: the identifier minus its last ``-N``."""
    return identifier.rsplit("-", 1)[0]


def _write(root: Path, records: dict[str, list[tuple[str, str, str, Any]]]) -> Path:
    """Write ``records`` (release file stem -> rows) under ``root`` in NLVR2's release layout."""
    from PIL import Image

    root = Path(root)
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
                folder = root / "images" / "train" / str(directory if directory is not None
                                                         else _UNLISTED_TRAIN_FOLDER)
            else:
                folder = root / source
            folder.mkdir(parents=True, exist_ok=True)
            for k in (0, 1):
                path = folder / f"{_stem(identifier)}-img{k}.png"
                if not path.exists():
                    Image.new("RGB", (24 + 8 * k, 20), (40 * i % 256, 100 * k, 150)).save(path)
        (root / f"{source}.json").write_text("\n".join(lines) + "\n\n", encoding="utf-8")  # trailing blank line
    return root


def write_sample_release(root: Path) -> Path:
    """Write a tiny release of nlvr2 in its official layout under ``root`` (created if missing) and
    return the folder to pass as the task's ``data_dir`` option: a handful of records per split with
    tiny images, enough to train and evaluate every split (each split non-empty, every label present
    where the conftest's data has them).

    Writes 8 train records (4 pairs, images in ``images/train/{0,3,5,12}/``; one record has no
    ``directory`` and its pair's images are also written to ``images/train/7/``), 4 dev records (3 pairs in ``dev/``) and 3 test1 records (2 pairs in ``test1/``);
    both labels occur in every split. The returned folder is ``root`` itself.
    """
    return _write(Path(root), _RECORDS)
