"""Tiny releases in each task's official layout, to try the tasks (and test them) without the real data.

``write_sample_release(root)`` writes every task's folder under ``root`` (``root/imdb/aclImdb/...``,
``root/sst2/SST-2/...``, ``root/piqa/...``, ``root/hellaswag/...``, ``root/commonsenseqa/...``,
``root/wordnet-supersense/data.noun`` + ``lexnames``), so ``root`` can serve as
``$CLIMB_DATA_ROOT``; :func:`write_task_release` writes one task's folder. The records are made up
but in the official file formats, including the files the tasks must *not* read (IMDb's
``train/unsup``, the unlabelled test files). Each official train split holds every label in equal
numbers, so the seeded 30% val carving is non-empty for every label.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

__all__ = ["SAMPLE_TASKS", "write_sample_release", "write_task_release", "wordnet_line"]


def _jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


# ----------------------------------------------------------------------------- imdb
def _imdb(folder: Path) -> None:
    reviews = {
        ("train", "neg"): [(10, 1, "Dull plot and wooden acting.<br /><br />I left early."),
                           (3, 2, "A waste of two hours."), (7, 4, "Not good, not terrible, mostly boring."),
                           (12, 3, "The script is a mess."), (0, 1, "Awful from start to finish.")],
        ("train", "pos"): [(4, 9, "A joy to watch.<br /><br />Great cast."), (2, 10, "Simply a masterpiece."),
                           (11, 7, "Pretty good, with a strong ending."), (5, 8, "Funny and warm."),
                           (1, 10, "I loved every minute.")],
        ("test", "neg"): [(0, 2, "Painful to sit through."), (1, 4, "Forgettable and slow.")],
        ("test", "pos"): [(0, 9, "Wonderful film."), (1, 8, "Clever and moving.")],
    }
    for (split, label), items in reviews.items():
        where = folder / "aclImdb" / split / label
        where.mkdir(parents=True, exist_ok=True)
        for review_id, rating, text in items:
            (where / f"{review_id}_{rating}.txt").write_text(text, encoding="utf-8")
    unsup = folder / "aclImdb" / "train" / "unsup"  # unlabelled: the task must not read it
    unsup.mkdir(parents=True, exist_ok=True)
    (unsup / "0_0.txt").write_text("UNSUP review, no label.", encoding="utf-8")
    (folder / "aclImdb" / "train" / "urls_pos.txt").write_text("http://www.imdb.com/title/tt0000000/usercomments\n")
    (folder / "aclImdb" / "imdb.vocab").write_text("the\nand\n")


# ----------------------------------------------------------------------------- sst2
SST2_TRAIN = [("hide new secretions from the parental units ", 0), ("contains no wit , only labored gags ", 0),
              ("that loves its characters and communicates something rather beautiful about human nature ", 1),
              ("remains utterly satisfied to remain the same throughout ", 0),
              ("on the worst revenge-of-the-nerds clichés the filmmakers could dredge up ", 0),
              ("that 's far too tragic to merit such superficial treatment ", 0),
              ("demonstrates that the director of such hollywood blockbusters as patriot games can still turn out a "
               "small , personal film with an emotional wallop . ", 1),
              ("of saucy ", 1), ("a depressed fifteen-year-old 's suicidal poetry ", 0),
              ("are more deeply thought through than in most ` right-thinking ' films ", 1),
              ("goes to absurd lengths ", 0), ("the greatest musicians ", 1), ("cold movie ", 0),
              ("with his usual intelligence and subtlety ", 1), ("redundant concept ", 0), ("swimming is hard ", 1)]
SST2_DEV = [("it 's a charming and often affecting journey . ", 1), ("unflinchingly bleak and desperate ", 0),
            ("allows us to hope that nolan is poised to embark a major career as a commercial yet inventive filmmaker . ", 1),
            ("the acting , costumes , music , cinematography and sound are all astounding given the production 's "
             "austere locales . ", 1), ("it 's slow -- very , very slow . ", 0)]


def _sst2(folder: Path) -> None:
    where = folder / "SST-2"
    where.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train.tsv", SST2_TRAIN), ("dev.tsv", SST2_DEV)):
        (where / name).write_text("sentence\tlabel\n" + "".join(f"{s}\t{y}\n" for s, y in rows), encoding="utf-8")
    (where / "test.tsv").write_text("index\tsentence\n0\tuneasy mishmash of styles and genres .\n", encoding="utf-8")


# ----------------------------------------------------------------------------- piqa
PIQA_TRAIN = [
    ("When boiling butter, when it's ready, you can", "Pour it onto a plate", "Pour it into a jar", 1),
    ("To permanently attach metal legs to a chair, you can", "Weld the metal together", "Nail the metal together", 0),
    ("how do you indent something?", "leave a space before starting the writing",
     "press the spacebar", 0),
    ("how do you shake something?", "move it up and down and side to side quickly.",
     "stir it very quickly.", 0),
    ("Clean tires", "Pour water, cape off caked on dirt. Use Dawn to remove grease", "Pour water, scrape off dirt", 0),
    ("To make a simple bookmark,", "fold a paper clip over the page.", "fold a corner of a napkin over the page.", 1),
    ("To cool down a hot drink quickly,", "add an ice cube.", "add a spoon of hot sand.", 0),
    ("How to open a stuck jar lid", "tap the lid on the counter, then twist.", "freeze the jar overnight, then twist.", 0),
    ("To dry wet shoes,", "stuff them with newspaper.", "stuff them with wet towels.", 0),
    ("To keep bread fresh longer,", "leave it open on the counter.", "store it in a sealed bag.", 1),
    ("To light a room without electricity,", "use a candle.", "use a mirror.", 0),
    ("To soften hard brown sugar,", "put a slice of bread in the bag.", "put a cup of sand in the bag.", 0),
]
PIQA_VALID = [
    ("How do I ready a guinea pig cage for it's new occupants?", "Provide the guinea pig with a cage full of a few "
     "inches of bedding made of ripped paper strips.", "Provide the guinea pig with a cage full of a few inches of "
     "bedding made of ripped jeans material.", 0),
    ("dresser", "replace drawer with bobby pin ", "finish, woodgrain with  bobby pin ", 1),
    ("To clean a whiteboard,", "wipe it with a dry eraser.", "wipe it with a crayon.", 0),
    ("To cut a cake into equal pieces,", "eyeball it quickly.", "use a ruler to mark it first.", 1),
]


def _piqa(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, rows in (("train", PIQA_TRAIN), ("valid", PIQA_VALID)):
        _jsonl(folder / f"{stem}.jsonl", ({"goal": g, "sol1": a, "sol2": b} for g, a, b, _ in rows))
        (folder / f"{stem}-labels.lst").write_text("".join(f"{y}\n" for *_, y in rows), encoding="utf-8")
    _jsonl(folder / "tests.jsonl", [{"goal": "To test,", "sol1": "a", "sol2": "b"}])


# ----------------------------------------------------------------------------- hellaswag
def _hellaswag_row(k: int, split: str, label: int | None) -> dict[str, Any]:
    ctx_a = f"A man is standing in a kitchen {k}."
    ctx_b = "he"
    row: dict[str, Any] = {
        "ind": k, "activity_label": "Making a sandwich", "ctx_a": ctx_a, "ctx_b": ctx_b, "ctx": f"{ctx_a} {ctx_b}",
        "split": split, "split_type": "indomain", "source_id": f"activitynet~v_{k:04d}",
        "endings": [f"ending {k}-{j} {'right' if j == label else 'wrong'}" for j in range(4)],
    }
    if label is not None:
        row["label"] = label
    return row


def _hellaswag(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    _jsonl(folder / "hellaswag_train.jsonl", (_hellaswag_row(k, "train", k % 4) for k in range(12)))
    _jsonl(folder / "hellaswag_val.jsonl", (_hellaswag_row(100 + k, "val", (k + 1) % 4) for k in range(4)))
    _jsonl(folder / "hellaswag_test.jsonl", [_hellaswag_row(200, "test", None)])


# ----------------------------------------------------------------------------- commonsenseqa
def _csqa_row(k: int, answer: str | None) -> dict[str, Any]:
    texts = [f"choice {k}{c}" for c in "ABCDE"]
    row: dict[str, Any] = {
        "id": f"{k:032x}",
        "question": {"question_concept": f"concept{k}", "stem": f"Where would you put thing number {k}?",
                     "choices": [{"label": c, "text": t} for c, t in zip("ABCDE", texts)]},
    }
    if answer is not None:
        row = {"answerKey": answer, **row}
    return row


def _commonsenseqa(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    _jsonl(folder / "train_rand_split.jsonl", (_csqa_row(k, "ABCDE"[k % 5]) for k in range(10)))
    _jsonl(folder / "dev_rand_split.jsonl", (_csqa_row(100 + k, "EDCBA"[k]) for k in range(5)))
    _jsonl(folder / "test_rand_split_no_answers.jsonl", [_csqa_row(200, None)])


# ----------------------------------------------------------------------------- wordnet-supersense
_LICENSE_HEADER = [
    "This software and database is being provided to you, the LICENSEE, by",
    "Princeton University under the following license.  By obtaining, using",
    "WordNet 3.0 Copyright 2006 by Princeton University.  All rights reserved.",
]

#: (lex_filenum, words, gloss) of the sample synsets: 8 each of noun.animal, noun.artifact, noun.food, noun.plant.
WORDNET_SYNSETS: list[tuple[int, tuple[str, ...], str]] = [
    *[(5, (w,), g) for w, g in [
        ("dog", 'a member of the genus Canis that has been domesticated by man; "the dog barked all night"'),
        ("cat", "feline mammal usually having thick soft fur and no ability to roar"),
        ("horse", "solid-hoofed herbivorous quadruped domesticated since prehistoric times"),
        ("sparrow", "any of several small dull-colored singing birds"),
        ("trout", "any of various game and food fishes of cool fresh waters"),
        ("bee", 'any of numerous hairy-bodied insects; "a bee stung me"; "bees make honey"'),
        ("frog", "any of various tailless stout-bodied amphibians with long hind limbs for leaping"),
        ("owl", "nocturnal bird of prey with hawk-like beak and claws and large head with front-facing eyes"),
    ]],
    *[(6, (w,), g) for w, g in [
        ("hammer", "a hand tool with a heavy rigid head and a handle; used to deliver an impulsive force"),
        ("chair", "a seat for one person, with a support for the back"),
        ("car", 'a motor vehicle with four wheels; "he needs a car to get to work"'),
        ("knife", "edge tool used as a cutting instrument"),
        ("lamp", "an artificial source of visible illumination"),
        ("bridge", "a structure that allows people or vehicles to cross an obstacle"),
        ("shirt", "a garment worn on the upper half of the body"),
        ("clock", "a timepiece that shows the time of day"),
    ]],
    *[(13, (w,), g) for w, g in [
        ("bread", "food made from dough of flour or meal and usually raised with yeast and baked"),
        ("soup", "liquid food especially of meat or fish or vegetable stock"),
        ("cheese", "a solid food prepared from the pressed curd of milk"),
        ("coffee", 'a beverage consisting of an infusion of ground coffee beans; "he ordered a cup of coffee"'),
        ("salad", "food mixtures either arranged on a plate or tossed and served with a moist dressing"),
        ("jam", "preserve of crushed fruit"),
        ("butter", "an edible emulsion of fat globules made by churning milk or cream"),
        ("pie", "dish baked in pastry-lined pan often with a pastry top"),
    ]],
    *[(20, (w,), g) for w, g in [
        ("oak", "a deciduous tree of the genus Quercus; has acorns and lobed leaves"),
        ("rose", "any of many shrubs of the genus Rosa that bear roses"),
        ("fern", "any of numerous flowerless and seedless vascular plants"),
        ("moss", "tiny leafy-stemmed flowerless plants"),
        ("tulip", "any of numerous perennial bulbous herbs having linear or broadly lanceolate leaves"),
        ("cactus", "any spiny succulent plant of the family Cactaceae native chiefly to arid regions"),
        ("pine", "a coniferous tree"),
        ("ivy", "Old World vine with lobed evergreen leaves and black berrylike fruits"),
    ]],
    # a definition shared by two synsets of one supersense: kept once (the first)
    (6, ("mallet",), "a hand tool with a heavy rigid head and a handle; used to deliver an impulsive force"),
    # a definition shared across supersenses: dropped (both)
    (13, ("sweetener", "sugar"), "a sweet substance"),
    (27, ("saccharide",), 'a sweet substance; "sugar dissolves in water"'),
]


def wordnet_line(offset: int, lex_filenum: int, words: Iterable[str], gloss: str, pointers: int = 1) -> str:
    """One data.noun line in the WordNet database format (wndb(5WN)), with ``pointers`` hypernym pointers."""
    words = list(words)
    word_part = " ".join(f"{w} {k % 16:x}" for k, w in enumerate(words))
    pointer_part = " ".join(f"@ {offset + 1000 + j:08d} n 0000" for j in range(pointers))
    return f"{offset:08d} {lex_filenum:02d} n {len(words):02x} {word_part} {pointers:03d} {pointer_part} | {gloss}  "


#: WordNet 3.0's lexnames file (lexnames(5WN)): number, name, syntactic category.
LEXNAMES_LINES = [
    ("00", "adj.all", 3), ("01", "adj.pert", 3), ("02", "adv.all", 4), ("03", "noun.Tops", 1), ("04", "noun.act", 1),
    ("05", "noun.animal", 1), ("06", "noun.artifact", 1), ("07", "noun.attribute", 1), ("08", "noun.body", 1),
    ("09", "noun.cognition", 1), ("10", "noun.communication", 1), ("11", "noun.event", 1), ("12", "noun.feeling", 1),
    ("13", "noun.food", 1), ("14", "noun.group", 1), ("15", "noun.location", 1), ("16", "noun.motive", 1),
    ("17", "noun.object", 1), ("18", "noun.person", 1), ("19", "noun.phenomenon", 1), ("20", "noun.plant", 1),
    ("21", "noun.possession", 1), ("22", "noun.process", 1), ("23", "noun.quantity", 1), ("24", "noun.relation", 1),
    ("25", "noun.shape", 1), ("26", "noun.state", 1), ("27", "noun.substance", 1), ("28", "noun.time", 1),
    ("29", "verb.body", 2), ("30", "verb.change", 2), ("31", "verb.cognition", 2), ("32", "verb.communication", 2),
    ("33", "verb.competition", 2), ("34", "verb.consumption", 2), ("35", "verb.contact", 2), ("36", "verb.creation", 2),
    ("37", "verb.emotion", 2), ("38", "verb.motion", 2), ("39", "verb.perception", 2), ("40", "verb.possession", 2),
    ("41", "verb.social", 2), ("42", "verb.stative", 2), ("43", "verb.weather", 2), ("44", "adj.ppl", 3),
]


def _wordnet(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    header = [f"  {k} {text}  " for k, text in enumerate(_LICENSE_HEADER, start=1)]
    lines = [wordnet_line(1740 + 200 * k, lex, words, gloss, pointers=1 + k % 3)
             for k, (lex, words, gloss) in enumerate(WORDNET_SYNSETS)]
    (folder / "data.noun").write_text("\n".join(header + lines) + "\n", encoding="utf-8")
    (folder / "lexnames").write_text("".join(f"{n}\t{name}\t{cat}\n" for n, name, cat in LEXNAMES_LINES), encoding="utf-8")


#: Task name -> the writer of its folder.
SAMPLE_TASKS: dict[str, Callable[[Path], None]] = {
    "imdb": _imdb, "sst2": _sst2, "piqa": _piqa, "hellaswag": _hellaswag, "commonsenseqa": _commonsenseqa,
    "wordnet-supersense": _wordnet,
}


def write_task_release(name: str, folder: Path) -> Path:
    """Write the tiny release of task ``name`` into ``folder`` (created) and return it (the task's data_dir)."""
    folder = Path(folder)
    SAMPLE_TASKS[name](folder)
    return folder


def write_sample_release(root: Path) -> Path:
    """Write a tiny release of every task in its official layout under ``root/<task name>/`` and return ``root``.

    ``root`` then serves as ``$CLIMB_DATA_ROOT`` (or pass ``root/<task>`` as a task's ``data_dir``):

    * ``imdb/aclImdb/{train,test}/{neg,pos}/<id>_<rating>.txt``: 5 + 5 train, 2 + 2 test reviews (plus
      ``train/unsup/`` and ``urls_pos.txt``, which the task must ignore);
    * ``sst2/SST-2/{train,dev,test}.tsv``: 16 train (9 negative, 7 positive) and 5 dev sentences;
    * ``piqa/{train,valid}.jsonl`` + ``-labels.lst``: 12 and 4 goals (and an unlabelled ``tests.jsonl``);
    * ``hellaswag/hellaswag_{train,val,test}.jsonl``: 12 (3 per label) and 4 contexts (test unlabelled);
    * ``commonsenseqa/{train,dev}_rand_split.jsonl``: 10 (2 per answer) and 5 questions (and the no-answers test);
    * ``wordnet-supersense/data.noun`` (a licence header, then 35 synsets: 8 each of noun.animal, noun.artifact,
      noun.food, noun.plant, one definition repeated within noun.artifact, one shared by noun.food and
      noun.substance) and ``lexnames``.
    """
    root = Path(root)
    for name in SAMPLE_TASKS:
        write_task_release(name, root / name)
    return root
