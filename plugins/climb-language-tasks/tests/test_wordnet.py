"""wordnet-supersense: data.noun parsing, definition-only text without the head words, dedup, splits, errors, folders."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from climb_harness.api import DataError
from climb_language_tasks import wordnet_supersense as wn
from climb_language_tasks.sample import WORDNET_SYNSETS, wordnet_line

NAME = "wordnet-supersense"
REAL = Path("/usr/share/wordnet/data.noun")


def _all(t):
    return {e.id: e for s in ("train", "val", "test") for e in t.examples(s)}


def test_labels_are_the_26_noun_lexnames_in_file_order():
    assert len(wn.LABELS) == 26 and wn.LABELS[0] == "noun.Tops" and wn.LABELS[-1] == "noun.time"
    assert wn.LABELS[wn.LABEL_OF_FILE[5]] == "noun.animal" and wn.LABELS[wn.LABEL_OF_FILE[6]] == "noun.artifact"


def test_text_is_the_definition_without_examples_or_head_words(task_at):
    examples = _all(task_at(NAME))
    by_text = {e.text: e for e in examples.values()}
    dog = by_text["a member of the genus Canis that has been domesticated by man"]
    assert wn.LABELS[dog.target] == "noun.animal" and dog.id == "n00001740"
    bee = by_text["any of numerous hairy-bodied insects"]  # two quoted examples cut off
    assert wn.LABELS[bee.target] == "noun.animal"
    hammer = by_text["a hand tool with a heavy rigid head and a handle; used to deliver an impulsive force"]
    assert wn.LABELS[hammer.target] == "noun.artifact"  # a '; ' that does not open a quote is kept
    for e in examples.values():
        assert '"' not in e.text and e.choices == ()
    words = {w for _, ws, _ in WORDNET_SYNSETS for w in ws}
    assert not any(e.text.split()[0] in words for e in examples.values())  # no "dog: ..." prefix


def test_every_synset_label_exactly_and_duplicates(task_at):
    examples = _all(task_at(NAME))
    assert len(examples) == 32  # 35 synsets - 1 repeated definition - 2 with a definition across supersenses
    expected = {wn.definition(g): wn.LABEL_OF_FILE[lex] for lex, _, g in WORDNET_SYNSETS[:32]}
    assert {e.text: e.target for e in examples.values()} == expected
    assert "a sweet substance" not in {e.text for e in examples.values()}  # noun.food vs noun.substance: dropped
    assert Counter(wn.LABELS[e.target] for e in examples.values()) == {
        "noun.animal": 8, "noun.artifact": 8, "noun.food": 8, "noun.plant": 8}


def test_splits_are_a_stratified_70_15_15_carving(task_at):
    t = task_at(NAME)
    parts = {s: [e.id for e in t.examples(s)] for s in ("train", "val", "test")}
    assert sum(map(len, parts.values())) == 32 == len(set().union(*map(set, parts.values())))
    for s in ("val", "test"):
        assert Counter(e.target for e in t.examples(s)) == {i: 1 for i in (2, 3, 10, 17)}  # round(0.15 * 8) = 1 each
    assert parts["test"] == ["n00002540", "n00004140", "n00005140", "n00006740"]  # frozen: seed 2022


def test_lexnames_is_optional_but_checked_when_present(task_at, sample_root):
    folder = sample_root / NAME
    (folder / "lexnames").unlink()
    assert len(task_at(NAME).examples("train")) == 24  # WordNet 3.0's built-in table
    (folder / "lexnames").write_text("03\tnoun.Tops\t1\n04\tnoun.act\t1\n")
    with pytest.raises(DataError, match="not WordNet 3.0's 26"):
        task_at(NAME).examples("train")
    (folder / "lexnames").write_text("03 noun.Tops\n")
    with pytest.raises(DataError, match=r"lexnames, line 1"):
        task_at(NAME).examples("train")


@pytest.mark.parametrize(("line", "field", "expected"), [
    ("00001740 44 n 01 dog 0 000 | a dog", "lex_filenum", "not a noun lexicographer file"),
    ("00001740 05 v 01 dog 0 000 | a dog", "ss_type", "not n"),
    ("0001740 05 n 01 dog 0 000 | a dog", "synset_offset", "8-digit"),
    ("00001740 05 n 0g dog 0 000 | a dog", "w_cnt", "hex"),
    ("00001740 05 n 01 dog 0 000 a dog", "gloss", "no '|'"),
    ('00001740 05 n 01 dog 0 000 | "the dog barked"', "gloss", "no definition"),
])
def test_bad_data_noun_line_names_file_line_and_field(task_at, sample_root, line, field, expected):
    path = sample_root / NAME / "data.noun"
    lines = path.read_text().splitlines()
    lines[5] = line  # line 6: the 3rd synset after the 3-line licence header
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as info:
        task_at(NAME).examples("val")
    assert f"{path}, line 6, field {field!r}" in str(info.value) and expected in str(info.value), str(info.value)


def test_too_short_line_names_file_and_line(task_at, sample_root):
    path = sample_root / NAME / "data.noun"
    path.write_text(path.read_text() + "00009999 05 n\n")
    with pytest.raises(DataError, match=r"data.noun, line 39: the line has too few fields"):
        task_at(NAME).examples("train")


def test_wordnet_line_round_trips_the_format():
    line = wordnet_line(2084071, 5, ["dog", "domestic_dog"], 'a canine; "woof"', pointers=2)
    assert line.startswith("02084071 05 n 02 dog 0 domestic_dog 1 002 @ ")
    assert wn.parse_line(Path("x"), 1, line) == ("02084071", wn.LABEL_OF_FILE[5], ("dog", "domestic_dog"), "a canine")


def test_default_folder_option_then_data_root_then_debian(make_task, sample_root, tmp_path, monkeypatch):
    monkeypatch.delenv("CLIMB_DATA_ROOT", raising=False)
    assert make_task(NAME).required_paths() == [Path("/usr/share/wordnet/data.noun")]
    monkeypatch.setenv("CLIMB_DATA_ROOT", str(tmp_path / "empty-root"))  # no wordnet-supersense/ there
    assert make_task(NAME).required_paths() == [Path("/usr/share/wordnet/data.noun")]
    monkeypatch.setenv("CLIMB_DATA_ROOT", str(sample_root))
    assert make_task(NAME).required_paths() == [sample_root / NAME / "data.noun"]
    assert make_task(NAME, data_dir=str(tmp_path / "x")).required_paths() == [tmp_path / "x" / "data.noun"]


def test_missing_database_names_the_debian_package_and_the_option(make_task, tmp_path):
    t = make_task(NAME, data_dir=str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError) as info:
        t.examples("train")
    message = str(info.value)
    assert isinstance(info.value, DataError)
    assert "apt-get install wordnet-base" in message and "data_dir" in message and str(tmp_path / "nowhere" / "data.noun") in message
    assert t.fingerprint().startswith("climb-language-tasks 0.1.0 wordnet-supersense dir=")


@pytest.mark.skipif(not REAL.is_file(), reason="Debian's wordnet-base is not installed (/usr/share/wordnet/data.noun)")
def test_the_real_wordnet_database(make_task, monkeypatch):
    monkeypatch.delenv("CLIMB_DATA_ROOT", raising=False)
    t = make_task(NAME)
    sizes = {s: len(t.examples(s)) for s in ("train", "val", "test")}
    total = sum(sizes.values())
    assert 80_000 < total < 82_115 and abs(sizes["val"] - 0.15 * total) < 30 and sizes["val"] == sizes["test"]
    counts = Counter(e.target for s in ("train", "val", "test") for e in t.examples(s))
    assert len(counts) == 26 and counts.most_common(1)[0][0] == wn.LABELS.index("noun.artifact")
