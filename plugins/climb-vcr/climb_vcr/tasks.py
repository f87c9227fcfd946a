"""The live ``vcr`` task (VCR Q->A, 4-way multiple choice).

Splits (VCR's test.jsonl has no labels; CLiMB selected and reported on val.jsonl alike, but the
protocol selects and reports on different splits):

* ``train``: VCR's train.jsonl minus the held-out movies;
* ``val`` (selection): a seeded ``val_fraction`` of train.jsonl's movies (first folder of
  ``img_fn``), so no movie, hence no image, is in both;
* ``test`` (report): VCR's val.jsonl.

``max_train_examples`` / ``max_eval_examples`` then keep a seeded sample stratified by
``answer_label``. Nothing is read in ``__init__``; each split is read on first use and cached.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from climb_harness.api import Example, Task, data_fingerprint, unknown_split
from climb_harness.api import data_dir as resolve_data_dir
from climb_vcr import __version__
from climb_vcr.data import (
    ANNOTATION_FILES,
    annotation_path,
    check_images,
    data_digest,
    image_path,
    images_dir,
    read_records,
    stratified_sample,
    val_movies,
)
from climb_vcr.plugin import DEFAULT_OPTIONS

SPLITS = ("train", "val", "test")


class VcrTask(Task):
    """VCR Q->A: a question about a movie still, 4 answers, one right."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__({**DEFAULT_OPTIONS, **(options or {})})
        self._examples: dict[str, list[Example]] = {}

    def root(self) -> Path:
        """The data folder (``data_dir``, else ``$CLIMB_DATA_ROOT/vcr``), absolute; not checked."""
        return resolve_data_dir(self.options["data_dir"], "vcr", task="vcr").expanduser().resolve()

    def required_paths(self) -> Sequence[Path]:
        root = self.root()
        return [annotation_path(root, name) for name in ANNOTATION_FILES] + [images_dir(root)]

    def examples(self, split: str) -> list[Example]:
        if split not in SPLITS:
            raise unknown_split("vcr", split, SPLITS)
        if split not in self._examples:
            self._examples[split] = self._load(split)
        return self._examples[split]

    def fingerprint(self) -> str:
        return data_fingerprint(f"climb-vcr {__version__} vcr", self.root, data_digest, self.options,
                                unset="dir=unset data=missing")

    # ------------------------------------------------------------------ internals
    def _load(self, split: str) -> list[Example]:
        root = self.root()
        repeated = bool(self.options["distinguish_repeated_objects"])
        if split == "test":
            records = read_records(root, "val.jsonl", distinguish_repeated=repeated)
        else:
            records = read_records(root, "train.jsonl", distinguish_repeated=repeated)
            held_out = val_movies(records, float(self.options["val_fraction"]))
            records = [r for r in records if (r.movie in held_out) == (split == "val")]
        limit = self.options["max_train_examples" if split == "train" else "max_eval_examples"]
        keep = stratified_sample([r.label for r in records], limit, seed=f"climb-vcr/vcr/{split}")
        records = [records[i] for i in keep]
        check_images(root, (r.img_fn for r in records), bool(self.options["allow_symlinks_out"]))
        max_pixels = int(self.options["max_image_pixels"])
        return [
            Example(
                text=r.question,
                images=(image_path(root, r.img_fn, max_pixels),),
                choices=r.choices,
                target=r.label,
                id=r.annot_id,
                group=r.img_fn,  # questions about one movie frame
            )
            for r in records
        ]
