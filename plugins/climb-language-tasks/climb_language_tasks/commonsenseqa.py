"""``commonsenseqa``: CommonsenseQA (Talmor et al. 2019), random split, read from the official JSON lines.

The release (https://www.tau-nlp.sites.tau.ac.il/commonsenseqa; files on
https://s3.amazonaws.com/commensenseqa/)::

    <data_dir>/train_rand_split.jsonl   9,741 questions
    <data_dir>/dev_rand_split.jsonl     1,221 questions
    (test_rand_split_no_answers.jsonl has no answers: not read)

Each line: ``{"answerKey": "A".."E", "id": ..., "question": {"question_concept": ..., "choices":
[{"label": "A", "text": ...}, ... 5], "stem": ...}}``. Example: text = ``question.stem``, choices =
the 5 ``question.choices[].text`` in label order A-E, target = the position of ``answerKey``. A
line that is not a JSON object, a missing or empty field, choices whose labels are not exactly
A-E, or an answerKey outside A-E raises :class:`CommonsenseqaDataError` naming the file, the line
and the field. Splits: train / val = a seeded 70/30 carving of train_rand_split.jsonl stratified
by the answer position (seed 2022); test = dev_rand_split.jsonl.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from climb_language_tasks._common import (
    FileFormat,
    JsonlTask,
    LanguageDataError,
    Record,
    clip,
    default_options,
    how_to_get,
    manifest,
    options_schema,
)

NAME = "commonsenseqa"
CHOICE_LABELS = ("A", "B", "C", "D", "E")
FILES: dict[str, str] = {"train": "train_rand_split.jsonl", "test": "dev_rand_split.jsonl"}

LAYOUT = (
    "<data_dir>/train_rand_split.jsonl and <data_dir>/dev_rand_split.jsonl (the official random split; "
    "test_rand_split_no_answers.jsonl is not read)"
)
HOW_TO_GET = how_to_get(
    NAME,
    "download train_rand_split.jsonl and dev_rand_split.jsonl from https://s3.amazonaws.com/commensenseqa/ (linked from "
    "https://www.tau-nlp.sites.tau.ac.il/commonsenseqa)",
)

OPTIONS_SCHEMA = options_schema(NAME, "Folder holding train_rand_split.jsonl and dev_rand_split.jsonl")
DEFAULT_OPTIONS = default_options(OPTIONS_SCHEMA)

MANIFEST: dict[str, Any] = manifest(
    NAME,
    summary="CommonsenseQA: answer a commonsense question by picking one of 5 choices.",
    description=(
        "Example text is question.stem, the 5 choices are question.choices[].text in label order A-E (the encoder "
        "pairs each with the question), the target is answerKey's position. Splits as CLiMB built them: val (model "
        "selection) = a random 30% of train_rand_split.jsonl (seed 2022, stratified by the answer position), train = "
        "the other 70%, test (reported) = dev_rand_split.jsonl; the test file has no answers."
    ),
    max_text_length=80,
    head={"type": "multiple-choice", "num_choices": len(CHOICE_LABELS)},
    data={
        "source": "CommonsenseQA 1.11, random split, https://www.tau-nlp.sites.tau.ac.il/commonsenseqa: 9,741 train and "
        "1,221 dev questions built from ConceptNet, 5 choices each.",
        "license": "MIT (as the Hugging Face dataset card tau/commonsense_qa states); cite the paper.",
        "citation": "Talmor, A., Herzig, J., Lourie, N., & Berant, J. (2019). CommonsenseQA: A Question Answering "
        "Challenge Targeting Commonsense Knowledge. NAACL 2019.",
        "how_to_get": "Download train_rand_split.jsonl and dev_rand_split.jsonl from https://s3.amazonaws.com/commensenseqa/ "
        "(linked from https://www.tau-nlp.sites.tau.ac.il/commonsenseqa) into the data folder.",
        "layout": LAYOUT,
    },
    options=OPTIONS_SCHEMA,
)


class CommonsenseqaDataError(LanguageDataError):
    """A CommonsenseQA record that cannot be used: names the file, the line and the field."""


FORMAT = FileFormat(
    CommonsenseqaDataError,
    "CommonsenseQA",
    "Each line must be a JSON object with answerKey (A-E) and question {stem, choices: 5 {label A-E, text}}, as the "
    "CommonsenseQA release ships it.",
    HOW_TO_GET,
)


def jsonl_path(root: Path, source: str) -> Path:
    return root / FILES[source]


def parse(path: Path, line: int, row: dict[str, Any]) -> Record:
    question = row.get("question")
    if not isinstance(question, dict):
        problem = "the field is missing" if question is None else f"{clip(repr(question))} is not an object"
        raise FORMAT.bad(path, line, "question", problem)
    stem = FORMAT.text_field(path, line, question, "stem", label="question.stem")
    choices = question.get("choices")
    if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
        raise FORMAT.bad(path, line, "question.choices", f"{clip(repr(choices))} is not a list of objects")
    by_label: dict[str, str] = {}
    for k, choice in enumerate(choices):
        label = choice.get("label")
        text = FORMAT.text_field(path, line, choice, "text", label=f"question.choices[{k}].text")
        if label in by_label:
            raise FORMAT.bad(path, line, f"question.choices[{k}].label", f"label {label!r} is repeated")
        by_label[label] = text
    if sorted(by_label, key=str) != list(CHOICE_LABELS):
        raise FORMAT.bad(path, line, "question.choices", f"the labels are {sorted(by_label, key=str)}, not A-E")
    answer = row.get("answerKey")
    if answer not in CHOICE_LABELS:
        raise FORMAT.bad(path, line, "answerKey", f"unknown answer {clip(repr(answer))} (must be one of A-E)")
    ident = row.get("id")
    return Record(
        text=stem,
        choices=tuple(by_label[c] for c in CHOICE_LABELS),
        label=CHOICE_LABELS.index(answer),
        id=str(ident) if isinstance(ident, str) and ident else f"{path.stem}-{line}",
    )


class CommonsenseqaTask(JsonlTask):
    """CommonsenseQA: a question, 5 choices A-E, one right."""

    NAME = NAME
    DEFAULTS = DEFAULT_OPTIONS
    TEST_SOURCE = "dev (dev_rand_split.jsonl)"
    FILES = FILES
    FORMAT = FORMAT
    parse = staticmethod(parse)
