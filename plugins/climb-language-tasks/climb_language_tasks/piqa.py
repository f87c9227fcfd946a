"""``piqa``: Physical Interaction QA (Bisk et al. 2020), read from the official release files.

The release (https://yonatanbisk.com/piqa/, https://github.com/ybisk/ybisk.github.io/tree/master/piqa)::

    <data_dir>/train.jsonl         16,113 goals: {"goal", "sol1", "sol2", "id"?}, one JSON object per line
    <data_dir>/train-labels.lst    one 0 / 1 per line: line n labels line n of train.jsonl
    <data_dir>/valid.jsonl          1,838 goals, same form
    <data_dir>/valid-labels.lst
    (tests.jsonl is unlabelled: not read)

Example: text = ``goal``, choices = ``(sol1, sol2)``, target = the label (0: sol1, 1: sol2). A
line that is not a JSON object, a missing or empty field, a label other than 0 / 1, or a labels
file of another length than its records file raises :class:`PiqaDataError` naming the file (and
line). Splits: train / val = a seeded 70/30 carving of train.jsonl stratified by the right
choice (seed 2022); test = valid.jsonl.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from climb_language_tasks._common import (
    FileFormat,
    LanguageDataError,
    LanguageTask,
    Record,
    check_pairing,
    clip,
    default_options,
    how_to_get,
    manifest,
    options_schema,
)

NAME = "piqa"
NUM_CHOICES = 2
#: Harness source -> the release's file stem (``<stem>.jsonl`` and ``<stem>-labels.lst``).
FILES: dict[str, str] = {"train": "train", "test": "valid"}

LAYOUT = (
    "<data_dir>/train.jsonl, train-labels.lst, valid.jsonl, valid-labels.lst (the official PIQA release; "
    "tests.jsonl is unlabelled, not read)"
)
HOW_TO_GET = how_to_get(
    NAME,
    "download train.jsonl, train-labels.lst, valid.jsonl and valid-labels.lst from https://yonatanbisk.com/piqa/ "
    "(files at https://github.com/ybisk/ybisk.github.io/tree/master/piqa/data)",
)

OPTIONS_SCHEMA = options_schema(NAME, "Folder holding PIQA's train.jsonl, train-labels.lst, valid.jsonl, valid-labels.lst")
DEFAULT_OPTIONS = default_options(OPTIONS_SCHEMA)

MANIFEST: dict[str, Any] = manifest(
    NAME,
    summary="PIQA: which of two solutions reaches a physical goal?",
    description=(
        "Example text is the goal, the 2 choices are sol1 and sol2 (the encoder pairs each with the goal), the target "
        "is the line of <split>-labels.lst. Splits as CLiMB built them: val (model selection) = a random 30% of "
        "train.jsonl (seed 2022, stratified by the right choice), train = the other 70%, test (reported) = "
        "valid.jsonl; PIQA's tests.jsonl has no public labels."
    ),
    max_text_length=80,
    head={"type": "multiple-choice", "num_choices": NUM_CHOICES},
    data={
        "source": "PIQA: Physical Interaction Question Answering, https://yonatanbisk.com/piqa/: 16,113 train and "
        "1,838 validation goals, each with two solutions.",
        "license": "No licence file in the release (Hugging Face's dataset card says 'unknown'; some redistributions "
        "state AFL-3.0): research use, cite the paper; ask the authors before redistributing.",
        "citation": "Bisk, Y., Zellers, R., Le Bras, R., Gao, J., & Choi, Y. (2020). PIQA: Reasoning about Physical "
        "Commonsense in Natural Language. AAAI 2020.",
        "how_to_get": "Download train.jsonl, train-labels.lst, valid.jsonl and valid-labels.lst from "
        "https://yonatanbisk.com/piqa/ (https://github.com/ybisk/ybisk.github.io/tree/master/piqa/data) into the "
        "data folder.",
        "layout": LAYOUT,
    },
    options=OPTIONS_SCHEMA,
)


class PiqaDataError(LanguageDataError):
    """A PIQA record or label that cannot be used: names the file and the line."""


FORMAT = FileFormat(
    PiqaDataError,
    "PIQA",
    "Each line of <split>.jsonl must be a JSON object with non-empty goal, sol1 and sol2, and line n of "
    "<split>-labels.lst its label, 0 (sol1) or 1 (sol2), as the PIQA release ships them.",
    HOW_TO_GET,
)


def records_path(root: Path, source: str) -> Path:
    return root / f"{FILES[source]}.jsonl"


def labels_path(root: Path, source: str) -> Path:
    return root / f"{FILES[source]}-labels.lst"


def read_labels(path: Path) -> list[int]:
    labels = []
    for number, text in FORMAT.lines(path):
        if text.strip() not in ("0", "1"):
            raise FORMAT.bad(path, number, None, f"unknown label {clip(repr(text.strip()))} (must be 0 or 1)")
        labels.append(int(text))
    return FORMAT.nonempty(path, labels)


def read_split(root: Path, source: str) -> list[Record]:
    """One PIQA split: records and labels paired line by line (ids ``<file stem>-<line>``)."""
    path, lpath = records_path(root, source), labels_path(root, source)
    rows = FORMAT.jsonl(path)
    labels = read_labels(lpath)
    check_pairing(FORMAT, path, len(rows), lpath, len(labels))
    records = []
    for (number, row), label in zip(rows, labels):
        goal, sol1, sol2 = (FORMAT.text_field(path, number, row, field) for field in ("goal", "sol1", "sol2"))
        records.append(Record(text=goal, choices=(sol1, sol2), label=label, id=f"{FILES[source]}-{number}"))
    return records


class PiqaTask(LanguageTask):
    """PIQA: goal, two solutions, one right."""

    NAME = NAME
    DEFAULTS = DEFAULT_OPTIONS
    TEST_SOURCE = "validation (valid.jsonl)"

    def source_paths(self, root: Path) -> list[Path]:
        return [p for source in FILES for p in (records_path(root, source), labels_path(root, source))]

    def read_source(self, root: Path, source: str) -> list[Record]:
        return read_split(root, source)
