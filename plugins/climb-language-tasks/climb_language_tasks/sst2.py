"""``sst2``: the Stanford Sentiment Treebank, binary (GLUE's SST-2), read from GLUE's TSV release.

GLUE's ``SST-2.zip`` unpacks to::

    <data_dir>/SST-2/train.tsv    67,349 sentences: header "sentence<TAB>label", then one per line
    <data_dir>/SST-2/dev.tsv         872 sentences, same form
    <data_dir>/SST-2/test.tsv      1,821 sentences, "index<TAB>sentence", unlabelled: not read

Labels: 0 negative, 1 positive (GLUE's own). A line is split at its last tab (sentences hold no
tab); a wrong header, a line without a tab, an empty sentence or a label other than 0 / 1 raises
:class:`Sst2DataError` naming the file and the line. Splits: train / val = a seeded,
label-stratified 70/30 carving of train.tsv (seed 2022); test = dev.tsv.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from climb_language_tasks._common import (
    FileFormat,
    LanguageDataError,
    LanguageTask,
    Record,
    clip,
    default_options,
    how_to_get,
    manifest,
    options_schema,
)

NAME = "sst2"
LABELS: dict[str, int] = {"negative": 0, "positive": 1}
#: Harness source -> the release file.
FILES: dict[str, str] = {"train": "train.tsv", "test": "dev.tsv"}
HEADER = ("sentence", "label")

LAYOUT = "<data_dir>/SST-2/train.tsv and <data_dir>/SST-2/dev.tsv (GLUE's SST-2.zip unpacked; test.tsv is unlabelled, not read)"
HOW_TO_GET = how_to_get(
    NAME,
    "download SST-2.zip from GLUE (https://gluebenchmark.com/tasks, or the URL in GLUE's download_glue_data.py: "
    "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip) and unzip it",
    holds="SST-2/",
)

OPTIONS_SCHEMA = options_schema(NAME, "Folder holding SST-2/train.tsv and SST-2/dev.tsv (GLUE's SST-2.zip unpacked)")
DEFAULT_OPTIONS = default_options(OPTIONS_SCHEMA)

MANIFEST: dict[str, Any] = manifest(
    NAME,
    summary="SST-2 (GLUE): is a movie-review sentence negative or positive?",
    description=(
        "One sentence of the Stanford Sentiment Treebank as text; labels 0 negative, 1 positive (GLUE's). Splits as "
        "CLiMB built them: val (model selection) = a random 30% of train.tsv (seed 2022, stratified by label), "
        "train = the other 70%, test (reported) = dev.tsv; GLUE's test.tsv has no labels and is not read."
    ),
    max_text_length=40,
    head={"type": "classification", "num_labels": len(LABELS)},
    data={
        "source": "GLUE SST-2 (Wang et al. 2019), from the Stanford Sentiment Treebank (Socher et al. 2013): 67,349 "
        "train and 872 dev sentences with binary labels.",
        "license": "The Stanford Sentiment Treebank has no explicit licence (research use; cite Socher et al. 2013); "
        "GLUE redistributes it under the original terms.",
        "citation": "Socher, R., Perelygin, A., Wu, J., Chuang, J., Manning, C. D., Ng, A. Y., & Potts, C. (2013). "
        "Recursive Deep Models for Semantic Compositionality Over a Sentiment Treebank. EMNLP 2013. Wang, A., et al. "
        "(2019). GLUE: A Multi-Task Benchmark and Analysis Platform for Natural Language Understanding. ICLR 2019.",
        "how_to_get": "Download SST-2.zip from GLUE (https://gluebenchmark.com/tasks; "
        "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip) and unzip it into the data folder (it makes SST-2/).",
        "layout": LAYOUT,
    },
    options=OPTIONS_SCHEMA,
)


class Sst2DataError(LanguageDataError):
    """An SST-2 TSV line that cannot be used: names the file and the line."""


FORMAT = FileFormat(
    Sst2DataError,
    "SST-2",
    "The file must start with the header 'sentence<TAB>label' and hold one '<sentence><TAB><0 or 1>' per line, as "
    "GLUE's SST-2 release ships it.",
    HOW_TO_GET,
)


def tsv_path(root: Path, source: str) -> Path:
    """``<root>/SST-2/<train|dev>.tsv``."""
    return root / "SST-2" / FILES[source]


def read_tsv(path: Path, source: str) -> list[Record]:
    """Every sentence of an SST-2 TSV file, in file order (ids ``<file stem>-<line>``)."""
    lines = iter(FORMAT.lines(path))
    first = next(lines, None)
    if first is None:
        raise FORMAT.empty(path)
    number, header = first
    if tuple(header.rstrip("\r\n").split("\t")) != HEADER:
        raise FORMAT.bad(path, number, None, f"the header is {clip(repr(header))}, not 'sentence\\tlabel'")
    records = []
    for number, text in lines:
        sentence, tab, label = text.rstrip("\r\n").rpartition("\t")
        if not tab:
            raise FORMAT.bad(path, number, None, "the line has no tab between the sentence and the label")
        if not sentence.strip():
            raise FORMAT.bad(path, number, "sentence", "the sentence is empty")
        if label.strip() not in ("0", "1"):
            raise FORMAT.bad(path, number, "label", f"unknown label {clip(repr(label))} (must be 0 or 1)")
        records.append(Record(text=sentence.strip(), label=int(label), id=f"{path.stem}-{number}"))
    return FORMAT.nonempty(path, records)


class Sst2Task(LanguageTask):
    """SST-2: negative 0, positive 1."""

    NAME = NAME
    DEFAULTS = DEFAULT_OPTIONS
    labels = tuple(sorted(LABELS, key=LABELS.__getitem__))
    TEST_SOURCE = "dev (dev.tsv)"

    def source_paths(self, root: Path) -> list[Path]:
        return [tsv_path(root, source) for source in FILES]

    def read_source(self, root: Path, source: str) -> list[Record]:
        return read_tsv(tsv_path(root, source), source)
