"""``hellaswag``: HellaSwag sentence completion (Zellers et al. 2019), read from the official JSON lines.

The release (https://github.com/rowanz/hellaswag/tree/master/data)::

    <data_dir>/hellaswag_train.jsonl   39,905 contexts: {"ctx", "endings": [4 strings], "label": 0-3, ...}
    <data_dir>/hellaswag_val.jsonl     10,042 contexts, same form
    (hellaswag_test.jsonl has no labels: not read)

Example: text = ``ctx`` (the release's full context, ``ctx_a`` + ``ctx_b``), choices = the 4
``endings``, target = ``label``. Other fields (``ind``, ``activity_label``, ``source_id``,
``split``, ``split_type``) are ignored. A line that is not a JSON object, an empty ``ctx``,
``endings`` that are not 4 strings, or a ``label`` outside 0-3 raises :class:`HellaswagDataError`
naming the file, the line and the field. Splits: train / val = a seeded 70/30 carving of
hellaswag_train.jsonl stratified by label (seed 2022); test = hellaswag_val.jsonl.
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

NAME = "hellaswag"
NUM_CHOICES = 4
FILES: dict[str, str] = {"train": "hellaswag_train.jsonl", "test": "hellaswag_val.jsonl"}

LAYOUT = "<data_dir>/hellaswag_train.jsonl and <data_dir>/hellaswag_val.jsonl (the official release; hellaswag_test.jsonl is unlabelled, not read)"
HOW_TO_GET = how_to_get(
    NAME,
    "download hellaswag_train.jsonl and hellaswag_val.jsonl from https://github.com/rowanz/hellaswag/tree/master/data",
)

OPTIONS_SCHEMA = options_schema(NAME, "Folder holding hellaswag_train.jsonl and hellaswag_val.jsonl")
DEFAULT_OPTIONS = default_options(OPTIONS_SCHEMA)

MANIFEST: dict[str, Any] = manifest(
    NAME,
    summary="HellaSwag: pick the most plausible of 4 endings for a video-caption or WikiHow context.",
    description=(
        "Example text is the context ctx, the 4 choices are the endings (the encoder pairs each with the context), "
        "the target is label. Splits as CLiMB built them: val (model selection) = a random 30% of "
        "hellaswag_train.jsonl (seed 2022, stratified by label), train = the other 70%, test (reported) = "
        "hellaswag_val.jsonl; the release's test file has no labels."
    ),
    max_text_length=120,
    head={"type": "multiple-choice", "num_choices": NUM_CHOICES},
    data={
        "source": "HellaSwag, https://rowanzellers.com/hellaswag/ (data: https://github.com/rowanz/hellaswag): 39,905 "
        "train and 10,042 validation contexts from ActivityNet Captions and WikiHow, 4 endings each.",
        "license": "MIT (https://github.com/rowanz/hellaswag/blob/master/LICENSE).",
        "citation": "Zellers, R., Holtzman, A., Bisk, Y., Farhadi, A., & Choi, Y. (2019). HellaSwag: Can a Machine Really "
        "Finish Your Sentence? ACL 2019.",
        "how_to_get": "Download hellaswag_train.jsonl and hellaswag_val.jsonl from "
        "https://github.com/rowanz/hellaswag/tree/master/data into the data folder.",
        "layout": LAYOUT,
    },
    options=OPTIONS_SCHEMA,
)


class HellaswagDataError(LanguageDataError):
    """A HellaSwag record that cannot be used: names the file, the line and the field."""


FORMAT = FileFormat(
    HellaswagDataError,
    "HellaSwag",
    "Each line must be a JSON object with a non-empty ctx, endings (a list of 4 strings) and label (0-3), as the "
    "HellaSwag release ships it.",
    HOW_TO_GET,
)


def jsonl_path(root: Path, source: str) -> Path:
    return root / FILES[source]


def parse(path: Path, line: int, row: dict[str, Any]) -> Record:
    ctx = FORMAT.text_field(path, line, row, "ctx")
    endings = FORMAT.field(path, line, row, "endings")
    if not isinstance(endings, list) or len(endings) != NUM_CHOICES or not all(isinstance(e, str) for e in endings):
        raise FORMAT.bad(path, line, "endings", f"{clip(repr(endings))} is not a list of {NUM_CHOICES} strings")
    label = FORMAT.field(path, line, row, "label")
    if isinstance(label, str) and label.strip().isdigit():
        label = int(label)  # some copies write the label as a string
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < NUM_CHOICES:
        raise FORMAT.bad(path, line, "label", f"unknown label {clip(repr(row['label']))} (must be 0-{NUM_CHOICES - 1})")
    return Record(text=ctx, choices=tuple(endings), label=label, id=f"{path.stem}-{line}")


class HellaswagTask(JsonlTask):
    """HellaSwag: a context, 4 endings, one right."""

    NAME = NAME
    DEFAULTS = DEFAULT_OPTIONS
    TEST_SOURCE = "validation (hellaswag_val.jsonl)"
    FILES = FILES
    FORMAT = FORMAT
    parse = staticmethod(parse)
