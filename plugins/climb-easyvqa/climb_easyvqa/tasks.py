"""The live easy-VQA tasks: one class per question type, each with its own answer head.

Splits: ``train`` and ``val`` come from easy-VQA's train split, divided by image (a seeded 10%
of the train images is val, the same images for all three tasks); ``test`` is easy-VQA's test
split. ``max_train_examples`` / ``max_eval_examples`` then keep a seeded, label-stratified
sample of each split so that the default benchmark runs in minutes on a CPU.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from climb_easyvqa import __version__
from climb_easyvqa.data import (
    check_images,
    data_digest,
    image_path,
    read_questions,
    resolve_data_dir,
    stratified_sample,
    val_image_ids,
)
from climb_easyvqa.labels import ANSWERS, TASK_NAMES, label_index, question_type
from climb_easyvqa.plugin import DEFAULT_OPTIONS
from climb_harness.api import Example, Task, fingerprint_options, unknown_split

SPLITS = ("train", "val", "test")


class EasyVqaTask(Task):
    """Questions of one type (``question_type``) about easy-VQA's 64x64 shape images."""

    question_type: ClassVar[str]

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__({**DEFAULT_OPTIONS, **(options or {})})
        self._examples: dict[str, list[Example]] = {}

    @property
    def task_name(self) -> str:
        """The registry name, known before the harness sets :attr:`manifest`."""
        return TASK_NAMES[self.question_type]

    @property
    def labels(self) -> tuple[str, ...]:
        """The answers in head order: ``target`` indexes this tuple."""
        return ANSWERS[self.question_type]

    def examples(self, split: str) -> list[Example]:
        if split not in SPLITS:
            raise unknown_split(self.task_name, split, SPLITS)
        if split not in self._examples:
            self._examples[split] = self._load(split)
        return self._examples[split]

    def fingerprint(self) -> str:
        root = resolve_data_dir(self.options["data_dir"])
        options = fingerprint_options(self.options)
        return f"climb-easyvqa {__version__} {self.task_name} dir={root} data={data_digest(root)} options={options}"

    # ------------------------------------------------------------------ internals
    def _load(self, split: str) -> list[Example]:
        root = resolve_data_dir(self.options["data_dir"])
        source = "test" if split == "test" else "train"
        questions = read_questions(root, source)
        if split != "test":
            held_out = val_image_ids(questions, float(self.options["val_fraction"]))
            questions = [q for q in questions if (q.image_id in held_out) == (split == "val")]
        questions = [q for q in questions if question_type(q.answer) == self.question_type]
        limit = self.options["max_train_examples" if split == "train" else "max_eval_examples"]
        keep = stratified_sample(
            [q.answer for q in questions], limit, seed=f"climb-easyvqa/{self.task_name}/{split}"
        )
        questions = [questions[i] for i in keep]
        check_images(root, source, (q.image_id for q in questions), bool(self.options["allow_symlinks_out"]))
        max_pixels = int(self.options["max_image_pixels"])
        return [
            Example(
                text=q.text,
                images=(image_path(root, source, q.image_id, max_pixels),),
                target=label_index(self.question_type, q.answer),
                id=f"{source}-{q.index}",
                group=f"{source}-{q.image_id}",  # questions about one image are scored together
            )
            for q in questions
        ]


class EasyVqaShapeTask(EasyVqaTask):
    """Questions such as "what shape is in the image?": circle, rectangle or triangle."""

    question_type = "shape"


class EasyVqaColorTask(EasyVqaTask):
    """Questions such as "what color is the triangle?": eight colours."""

    question_type = "color"


class EasyVqaYesNoTask(EasyVqaTask):
    """Yes/no questions about the shape and its colour."""

    question_type = "yesno"
