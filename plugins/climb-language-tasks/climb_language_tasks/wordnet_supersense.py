"""``wordnet-supersense``: which of WordNet's 26 noun supersenses does a real WordNet 3.0 definition describe?

Not a CLiMB task: an offline language task built from real text that a Debian machine can install
(``apt-get install wordnet-base`` puts the WordNet 3.0 database in ``/usr/share/wordnet``). It reads
the database files in WordNet's own format (wndb(5WN), lexnames(5WN))::

    <data_dir>/data.noun    one synset per line after the licence header (lines starting with a space):
                            synset_offset lex_filenum ss_type w_cnt word lex_id [word lex_id ...] p_cnt
                            [pointers ...] | gloss
    <data_dir>/lexnames     optional: "NN<TAB>name<TAB>category" per line (Princeton's WordNet-3.0/dict has
                            it, Debian's wordnet-base does not); without it WordNet 3.0's fixed table is used

The label is the synset's lexicographer file (its supersense), ``lex_filenum`` 03-28: noun.Tops 0,
noun.act 1, noun.animal 2, ... noun.time 25 (file number minus 3, i.e. lexnames order).

The text is the **definition** part of the gloss only: the gloss up to its first ``; "`` (where the
quoted usage examples begin), stripped. The synset's words (the head words, ``word`` fields) are
**not** part of the text, so the label is not given away by the word itself (``dog`` ->
noun.animal); about 4% of definitions still mention one of their own words, as the real glosses
do. Definitions that occur on several synsets are kept once when all of them share one supersense
(the first synset's offset is the id) and dropped when they do not (8 texts in WordNet 3.0), so
no text is in two splits or carries two labels.

Splits: a label-stratified 70 / 15 / 15 carving (train / val / test) of those examples with
``random.Random(2022)`` (see :func:`climb_language_tasks._common.carve`), in data.noun order.
A line that does not parse (too few fields, a bad offset, a ``lex_filenum`` that is not a noun file,
an ``ss_type`` other than ``n``, a bad ``w_cnt``, no ``|`` gloss or an empty definition) raises
:class:`WordnetDataError` naming the file and the line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from climb_harness.api import DATA_ROOT_ENV
from climb_language_tasks._common import (
    FileFormat,
    LanguageDataError,
    LanguageTask,
    MissingDataError,
    Record,
    carve,
    clip,
    default_options,
    manifest,
    options_schema,
)

NAME = "wordnet-supersense"
#: Where Debian's wordnet-base installs the WordNet 3.0 database.
DEBIAN_DIR = Path("/usr/share/wordnet")
SPLIT_SEED = 2022
FRACTIONS = (("val", 0.15), ("test", 0.15))

#: WordNet 3.0's noun lexicographer files (lexnames(5WN)): file number -> name. Labels are in this order.
NOUN_LEXNAMES: dict[int, str] = {
    3: "noun.Tops", 4: "noun.act", 5: "noun.animal", 6: "noun.artifact", 7: "noun.attribute", 8: "noun.body",
    9: "noun.cognition", 10: "noun.communication", 11: "noun.event", 12: "noun.feeling", 13: "noun.food",
    14: "noun.group", 15: "noun.location", 16: "noun.motive", 17: "noun.object", 18: "noun.person",
    19: "noun.phenomenon", 20: "noun.plant", 21: "noun.possession", 22: "noun.process", 23: "noun.quantity",
    24: "noun.relation", 25: "noun.shape", 26: "noun.state", 27: "noun.substance", 28: "noun.time",
}
LABELS: tuple[str, ...] = tuple(NOUN_LEXNAMES[n] for n in sorted(NOUN_LEXNAMES))
#: lex_filenum -> class index.
LABEL_OF_FILE: dict[int, int] = {n: i for i, n in enumerate(sorted(NOUN_LEXNAMES))}

LAYOUT = (
    "<data_dir>/data.noun (WordNet 3.0 database format) and optionally <data_dir>/lexnames; data_dir default: "
    f"$CLIMB_DATA_ROOT/{NAME} if that folder exists, else {DEBIAN_DIR} (Debian's wordnet-base)"
)
HOW_TO_GET = (
    f"install Debian's package with `apt-get install wordnet-base` (it puts data.noun in {DEBIAN_DIR}), or unpack "
    "WordNet-3.0.tar.gz from https://wordnet.princeton.edu/download/current-version and point the task option "
    f"data_dir at its dict/ folder (or copy data.noun and lexnames to $CLIMB_DATA_ROOT/{NAME}/)"
)

OPTIONS_SCHEMA: dict[str, Any] = options_schema(
    NAME,
    "Folder holding WordNet 3.0's data.noun (and optionally lexnames), e.g. WordNet-3.0/dict",
    null_means=f"$CLIMB_DATA_ROOT/{NAME} if it exists, else {DEBIAN_DIR} (Debian's wordnet-base)",
    train_sample="the train split",
)
DEFAULT_OPTIONS = default_options(OPTIONS_SCHEMA)

MANIFEST: dict[str, Any] = manifest(
    NAME,
    summary="WordNet noun supersenses: which of 26 lexicographer files (noun.animal, noun.artifact, ...) does a "
    "WordNet 3.0 definition belong to?",
    description=(
        "Text: the definition part of a WordNet 3.0 noun synset's gloss (before the first '; \"' usage example), "
        "without the synset's own words, so the word does not give the label away. Label: the synset's lexicographer "
        "file, 26 noun supersenses in lexnames order (noun.Tops 0 ... noun.time 25). A definition shared by synsets of "
        "different supersenses is dropped, one shared within a supersense is kept once. Splits: a label-stratified "
        "70/15/15 train/val/test carving with seed 2022. Not one of CLiMB's tasks: an offline language task from real "
        "text installable with `apt-get install wordnet-base`. max_text_length 64: definitions have a median of 10 and "
        "a 99th percentile of 33 words, so 64 word pieces keep nearly all of them whole where 40 would cut some."
    ),
    max_text_length=64,
    head={"type": "classification", "num_labels": len(LABELS)},
    data={
        "source": "WordNet 3.0 (Princeton University), https://wordnet.princeton.edu: data.noun's 82,115 noun synsets "
        "and their lexicographer files; Debian package wordnet-base.",
        "license": "WordNet 3.0 license (Princeton University; permission to use, copy, modify and distribute for any "
        "purpose, with the copyright notice kept): https://wordnet.princeton.edu/license-and-commercial-use.",
        "citation": "Miller, G. A. (1995). WordNet: A Lexical Database for English. Communications of the ACM, 38(11), "
        "39-41. Fellbaum, C. (ed.) (1998). WordNet: An Electronic Lexical Database. MIT Press.",
        "how_to_get": f"`apt-get install wordnet-base` (Debian/Ubuntu; installs {DEBIAN_DIR}/data.noun), or download "
        "WordNet-3.0.tar.gz from https://wordnet.princeton.edu/download/current-version and set data_dir to its dict/.",
        "layout": LAYOUT,
    },
    options=OPTIONS_SCHEMA,
)


class WordnetDataError(LanguageDataError):
    """A WordNet database line that cannot be used: names the file and the line."""


FORMAT = FileFormat(
    WordnetDataError,
    "WordNet",
    "Each data.noun line after the licence header must read 'synset_offset lex_filenum n w_cnt word lex_id ... "
    "p_cnt ... | gloss' (wndb(5WN)) with a noun lex_filenum 03-28, as WordNet 3.0 ships it.",
    HOW_TO_GET,
)

_OFFSET = re.compile(r"^\d{8}$")
_HEX = re.compile(r"^[0-9a-fA-F]{2}$")


def wordnet_dir(given: str | os.PathLike[str] | None) -> Path:
    """The option if given, else ``$CLIMB_DATA_ROOT/wordnet-supersense`` if it exists, else ``/usr/share/wordnet``."""
    if given:
        return Path(given).expanduser().absolute()
    root = os.environ.get(DATA_ROOT_ENV)
    if root and (Path(root).expanduser() / NAME).is_dir():
        return (Path(root).expanduser() / NAME).absolute()
    return DEBIAN_DIR


def not_found(path: Path) -> MissingDataError:
    return MissingDataError(
        f"WordNet data not found: {path}. The task {NAME!r} reads data.noun from the option data_dir, else "
        f"${DATA_ROOT_ENV}/{NAME} if it exists, else {DEBIAN_DIR}. Fix: {HOW_TO_GET}."
    )


def definition(gloss: str) -> str:
    """The definition part of a gloss: everything before the first ``; "`` (the usage examples), stripped.

    >>> definition('a member of the genus Canis; "the dog barked all night"')
    'a member of the genus Canis'
    """
    return gloss.split('; "', 1)[0].strip()


def read_lexnames(path: Path) -> None:
    """Check an optional ``lexnames`` file against WordNet 3.0's noun table (raises WordnetDataError)."""
    found: dict[int, str] = {}
    for number, text in FORMAT.lines(path):
        fields = text.split()
        if len(fields) != 3 or not fields[0].isdigit() or not fields[2].isdigit():
            raise FORMAT.bad(path, number, None, f"{clip(repr(text))} is not 'NN<TAB>name<TAB>category' (lexnames(5WN))")
        if fields[2] == "1":
            found[int(fields[0])] = fields[1]
    if found != NOUN_LEXNAMES:
        raise FORMAT.error(
            f"WordNet lexnames file {path} lists the noun files {sorted(found.items())}, not WordNet 3.0's 26 (03 "
            "noun.Tops ... 28 noun.time) that this task's head is built for. Fix: point data_dir at a WordNet 3.0 "
            "database (or remove the lexnames file to use WordNet 3.0's table)."
        )


def parse_line(path: Path, number: int, text: str) -> tuple[str, int, tuple[str, ...], str]:
    """``(offset, class index, words, definition)`` of one data.noun synset line."""
    head, bar, gloss = text.partition("|")
    fields = head.split()
    if len(fields) < 6:
        raise FORMAT.bad(path, number, None, "the line has too few fields for a synset")
    offset, lex_filenum, ss_type, w_cnt = fields[:4]
    if not _OFFSET.match(offset):
        raise FORMAT.bad(path, number, "synset_offset", f"{clip(repr(offset))} is not an 8-digit offset")
    if not lex_filenum.isdigit() or int(lex_filenum) not in LABEL_OF_FILE:
        raise FORMAT.bad(path, number, "lex_filenum", f"{clip(repr(lex_filenum))} is not a noun lexicographer file (03-28)")
    if ss_type != "n":
        raise FORMAT.bad(path, number, "ss_type", f"{clip(repr(ss_type))} is not n (a noun synset)")
    if not _HEX.match(w_cnt) or int(w_cnt, 16) < 1 or len(fields) < 4 + 2 * int(w_cnt, 16):
        raise FORMAT.bad(path, number, "w_cnt", f"{clip(repr(w_cnt))} is not the 2-digit hex count of the words that follow")
    words = tuple(fields[4 + 2 * k] for k in range(int(w_cnt, 16)))
    if not bar:
        raise FORMAT.bad(path, number, "gloss", "the line has no '|' before a gloss")
    text_out = definition(gloss)
    if not text_out or text_out.startswith('"'):
        raise FORMAT.bad(path, number, "gloss", f"the gloss {clip(repr(gloss.strip()))} has no definition before its examples")
    return offset, LABEL_OF_FILE[int(lex_filenum)], words, text_out


def read_data_noun(path: Path) -> list[Record]:
    """The examples of data.noun: one per distinct definition with a single supersense (see the module doc)."""
    if not path.is_file():
        raise not_found(path)
    first: dict[str, Record] = {}
    conflicting: set[str] = set()
    for number, text in FORMAT.lines(path):
        if text.startswith(" "):
            continue  # the licence header: lines start with two spaces and a number
        offset, label, _words, text_out = parse_line(path, number, text)
        seen = first.get(text_out)
        if seen is None:
            first[text_out] = Record(text=text_out, label=label, id=f"n{offset}")
        elif seen.label != label:
            conflicting.add(text_out)
    records = [r for t, r in first.items() if t not in conflicting]  # dicts keep data.noun order
    return FORMAT.nonempty(path, records)


class WordnetSupersenseTask(LanguageTask):
    """WordNet 3.0 noun definitions, 26 supersenses."""

    NAME = NAME
    DEFAULTS = DEFAULT_OPTIONS
    labels = LABELS
    SPLIT_NOTE = "a label-stratified 70/15/15 carving of data.noun, seed 2022"

    def data_root(self) -> Path:
        return wordnet_dir(self.options["data_dir"])

    def required_paths(self) -> Sequence[Path]:
        return [self.data_root() / "data.noun"]  # lexnames is optional (Debian's wordnet-base lacks it)

    def source_paths(self, root: Path) -> list[Path]:
        return [root / "data.noun", root / "lexnames"]

    def read_source(self, root: Path, source: str) -> list[Record]:
        lexnames = root / "lexnames"
        records = read_data_noun(root / "data.noun")
        if lexnames.is_file():
            read_lexnames(lexnames)
        return records

    def split_records(self, split: str) -> list[Record]:
        records = self.source("all")
        parts = carve([r.label for r in records], FRACTIONS, seed=SPLIT_SEED)
        return [records[i] for i in parts[split]]
