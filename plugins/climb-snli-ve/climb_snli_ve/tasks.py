"""The live ``snli-ve`` task: one image (the premise) and the hypothesis, three labels.

Splits: ``train`` = ``snli_ve_train.jsonl``, ``val`` (model selection) = ``snli_ve_dev.jsonl``,
``test`` (every reported score) = ``snli_ve_test.jsonl``. The release's splits are all labelled and
disjoint by image, so none is carved out. ``max_train_examples`` / ``max_eval_examples`` keep a
seeded, label-stratified sample. Nothing is read in ``__init__``; each split is read on its first
``examples(split)`` call and kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from climb_harness.api import Example, Task, data_dir, data_fingerprint, unknown_split
from climb_snli_ve import __version__
from climb_snli_ve.data import (
    SOURCES,
    annotation_path,
    check_images,
    data_digest,
    default_images_dir,
    image_path,
    read_records,
    stratified_sample,
)
from climb_snli_ve.plugin import DEFAULT_OPTIONS, LABELS

#: harness split -> the release's split (file ``snli_ve_<source>.jsonl``).
SPLIT_SOURCES: dict[str, str] = {"train": "train", "val": "dev", "test": "test"}

#: Registry name, and the folder under $CLIMB_DATA_ROOT.
NAME = "snli-ve"


class SnliVeTask(Task):
    """SNLI-VE visual entailment: entailment 0, contradiction 1, neutral 2."""

    #: The label names in head order: ``target`` indexes this tuple.
    labels: tuple[str, ...] = tuple(sorted(LABELS, key=LABELS.__getitem__))

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__({**DEFAULT_OPTIONS, **(options or {})})
        self._examples: dict[str, list[Example]] = {}

    # ------------------------------------------------------------------ folders
    def data_root(self) -> Path:
        """The folder holding the three ``.jsonl`` files (absolute; not checked).

        Raises:
            FileNotFoundError: When neither the option data_dir nor $CLIMB_DATA_ROOT is set.
        """
        return data_dir(self.options["data_dir"], NAME, task=NAME).absolute()

    def images_dir(self) -> Path:
        """The Flickr30k images folder: the option images_dir, else ``<data_dir>/flickr30k_images`` (or
        ``<data_dir>/flickr30k-images``, the official archive's folder, when only that exists)."""
        given = self.options.get("images_dir")
        if given:
            return Path(given).expanduser().absolute()
        return default_images_dir(self.data_root())

    # ------------------------------------------------------------------ the Task contract
    def required_paths(self) -> Sequence[Path]:
        root = self.data_root()
        return [*(annotation_path(root, source) for source in SOURCES), self.images_dir()]

    def examples(self, split: str) -> list[Example]:
        if split not in SPLIT_SOURCES:
            raise unknown_split(NAME, split, list(SPLIT_SOURCES), "val is the release's dev split")
        if split not in self._examples:
            self._examples[split] = self._load(split)
        return self._examples[split]

    def fingerprint(self) -> str:
        return data_fingerprint(f"climb-snli-ve {__version__}", self.data_root, data_digest, self.options)

    # ------------------------------------------------------------------ internals
    def _load(self, split: str) -> list[Example]:
        root = self.data_root()
        source = SPLIT_SOURCES[split]
        records = read_records(root, source)
        limit = self.options["max_train_examples" if split == "train" else "max_eval_examples"]
        keep = stratified_sample([r.label for r in records], limit, seed=f"climb-snli-ve/{split}")
        records = [records[i] for i in keep]
        images = self.images_dir()
        check_images(images, (r.image_id for r in records), bool(self.options["allow_symlinks_out"]))
        max_pixels = int(self.options["max_image_pixels"])
        return [
            Example(
                text=r.hypothesis,
                images=(image_path(images, r.image_id, max_pixels),),
                target=r.label,
                id=f"{source}-{r.line}",
                group=r.image_id,  # hypotheses about one Flickr30k image
            )
            for r in records
        ]
