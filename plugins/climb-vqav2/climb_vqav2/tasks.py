"""The live ``vqav2`` task: VQAv2 from its official files, soft targets over the answer vocabulary.

Nothing is read in ``__init__``; ``examples(split)`` reads what the split needs once and caches it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from climb_harness.api import Example, Task, data_dir, fingerprint_options, unknown_split

from climb_vqav2 import __version__
from climb_vqav2 import data as D
from climb_vqav2.plugin import DEFAULT_OPTIONS

SPLITS = ("train", "val", "test")


class Vqav2Task(Task):
    """VQAv2: train/val from train2014 (split by image), test = val2014.

    The head's size is the option ``num_answers``: :attr:`manifest` reports ``head.num_labels`` from
    it (3129 by default, the registered manifest's value).
    """

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__({**DEFAULT_OPTIONS, **(options or {})})
        self._manifest: Mapping[str, Any] = {}
        self._examples: dict[str, list[Example]] = {}
        self._labels: list[str] | None = None

    # the head follows num_answers, whatever manifest the harness sets
    @property  # type: ignore[override]
    def manifest(self) -> Mapping[str, Any]:
        if not self._manifest:
            return self._manifest
        out = copy.deepcopy(dict(self._manifest))
        out["head"] = {"type": "soft-score", "num_labels": int(self.options["num_answers"])}
        return out

    @manifest.setter
    def manifest(self, value: Mapping[str, Any]) -> None:
        self._manifest = value

    # ------------------------------------------------------------------ data locations
    @property
    def root(self) -> Path:
        try:
            return data_dir(self.options["data_dir"], "vqav2", task="vqav2").absolute()
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"{exc}. {D.HOW_TO_GET}") from None

    def required_paths(self) -> Sequence[Path]:
        return D.required_paths(self.root)

    def fingerprint(self) -> str:
        options = fingerprint_options(self.options)
        try:
            root = self.root
            digest = D.data_digest(root)
        except FileNotFoundError:  # no data yet: examples() raises the message that says how to get it
            root, digest = self.options["data_dir"], "missing"
        return f"climb-vqav2 {__version__} dir={root} data={digest} options={options}"

    # ------------------------------------------------------------------ labels
    @property
    def labels(self) -> list[str]:
        """The answers in head order (at most num_answers; target indices point into this list)."""
        if self._labels is None:
            vocab = D.load_vocabulary(self.root, int(self.options["min_answer_count"]))
            self._labels = vocab[: int(self.options["num_answers"])]
        return self._labels

    # ------------------------------------------------------------------ examples
    def examples(self, split: str) -> list[Example]:
        if split not in SPLITS:
            raise unknown_split("vqav2", split, SPLITS)
        if split not in self._examples:
            self._examples[split] = self._load(split)
        return self._examples[split]

    def _load(self, split: str) -> list[Example]:
        root = self.root
        source = "val2014" if split == "test" else "train2014"
        questions = list(D.read_questions(root, source))
        annotations = D.read_annotations(root, source)
        label_of = {answer: i for i, answer in enumerate(self.labels)}
        if split != "test":
            held_out = D.val_image_ids(questions, float(self.options["val_fraction"]))
            questions = [q for q in questions if (q.image_id in held_out) == (split == "val")]
        rows = []
        for q in questions:
            annotation = annotations.get(q.question_id)
            if annotation is None:
                raise D.CorruptDataError(
                    f"VQAv2 data file {D.annotations_path(root, source)} is unusable: it has no record for "
                    f"question_id {q.question_id} of {D.questions_path(root, source)} (field question_id). Fix: "
                    "re-download both official files of that split into the task's data folder, unchanged."
                )
            target = D.soft_target(annotation.answers, label_of)
            if split == "train" and not target and self.options["drop_unanswerable_train"]:
                continue
            rows.append((q, target))
        limit = self.options["max_train_examples" if split == "train" else "max_eval_examples"]
        rows = [rows[i] for i in D.sample(len(rows), limit, seed=f"climb-vqav2/{split}")]
        D.check_images(root, source, (q.image_id for q, _ in rows), bool(self.options["allow_symlinks_out"]))
        max_pixels = int(self.options["max_image_pixels"])
        return [
            Example(text=q.text, images=(D.image_path(root, source, q.image_id, max_pixels),), target=target,
                    id=f"{source}-{q.question_id}", group=f"{source}-{q.image_id}")
            for q, target in rows
        ]
