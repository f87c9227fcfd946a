"""The live NLVR2 task.

Splits: ``train`` = the release's train.json, ``val`` (selection) = dev.json, ``test`` (report) =
test1.json (labelled in the public release). ``max_train_examples`` / ``max_eval_examples`` keep a
seeded, label-stratified sample of a split. Each example's images are the two file paths (left
``-img0``, right ``-img1``); nothing is opened until the encoder collates.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from climb_harness.api import Example, Task, data_dir, data_fingerprint, unknown_split

from climb_nlvr2 import __version__
from climb_nlvr2.data import (
    SOURCES,
    ImageLocator,
    annotation_path,
    data_digest,
    image_folder,
    image_names,
    read_records,
    stratified_sample,
)
from climb_nlvr2.plugin import DEFAULT_OPTIONS, LABELS

#: The registry name (known before the harness sets ``manifest``).
TASK_NAME = "nlvr2"


class Nlvr2Task(Task):
    """NLVR2: a sentence about two photographs, true (1) or false (0)."""

    labels: tuple[str, ...] = LABELS

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__({**DEFAULT_OPTIONS, **(options or {})})
        self._examples: dict[str, list[Example]] = {}

    def root(self) -> Path:
        """The data folder (option data_dir, else $CLIMB_DATA_ROOT/nlvr2), absolute; not checked."""
        return data_dir(self.options["data_dir"], TASK_NAME, task=TASK_NAME).expanduser().absolute()

    def examples(self, split: str) -> list[Example]:
        if split not in SOURCES:
            raise unknown_split(TASK_NAME, split, list(SOURCES), "val reads dev.json, test reads test1.json")
        if split not in self._examples:
            self._examples[split] = self._load(split)
        return self._examples[split]

    def required_paths(self) -> list[Path]:
        root = self.root()
        return [annotation_path(root, s) for s in SOURCES.values()] + [image_folder(root, s) for s in SOURCES.values()]

    def fingerprint(self) -> str:
        head = f"climb-nlvr2 {__version__} {TASK_NAME}"
        return data_fingerprint(head, self.root, data_digest, self.options, leave_out=["data_dir"])

    # ------------------------------------------------------------------ internals
    def _load(self, split: str) -> list[Example]:
        root = self.root()
        source = SOURCES[split]
        records = read_records(root, source)
        limit = self.options["max_train_examples" if split == "train" else "max_eval_examples"]
        keep = stratified_sample([r.label for r in records], limit, seed=f"climb-nlvr2/{split}")
        records = [records[i] for i in keep]
        locator = ImageLocator(root, source, allow_outside=bool(self.options["allow_symlinks_out"]),
                               max_pixels=int(self.options["max_image_pixels"]))
        examples = []
        for record in records:
            left, right = image_names(record.identifier)
            examples.append(
                Example(
                    text=record.sentence,
                    images=(locator.path(record, left), locator.path(record, right)),
                    target=LABELS.index(record.label),
                    id=record.identifier,
                    group=record.identifier.rsplit("-", 1)[0],  # <split>-<set>-<pair>: one image pair
                )
            )
        return examples
