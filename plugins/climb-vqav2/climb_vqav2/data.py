"""Reading VQAv2 in its official release layout, the answer vocabulary and the soft targets.

The layout (the files as https://visualqa.org/download.html ships them, unzipped into one folder)::

    <root>/v2_OpenEnded_mscoco_train2014_questions.json   {"questions": [{question_id, image_id, question}, ...]}
    <root>/v2_OpenEnded_mscoco_val2014_questions.json
    <root>/v2_mscoco_train2014_annotations.json           {"annotations": [{question_id, multiple_choice_answer,
    <root>/v2_mscoco_val2014_annotations.json                               answers: [{answer, ...} x10], ...}, ...]}
    <root>/train2014/COCO_train2014_<image_id:012d>.jpg    COCO 2014 images
    <root>/val2014/COCO_val2014_<image_id:012d>.jpg

Standard library only (no torch): files are read with the harness's bounded JSON reader and parsed
files are cached while unchanged (:func:`climb_harness.api.read_cached`). A record of the wrong form
(a missing or mistyped field, a negative id, an image id longer than the 12 digits of a COCO file
name, a question_id used twice in one file) raises :class:`CorruptDataError` naming the file, the
record and the field; an image that is a link out of its folder is refused unless the task option
``allow_symlinks_out`` is true.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from climb_harness.api import (DataError, DataFile, DataRecord, ImagePath, MissingDataError, cache_dir,
                               clip_repr,
                               files_fingerprint, held_out_groups, misplaced_hint, read_cached, require_files)

from climb_vqav2.normalize import normalize_answer

#: The release's two labelled splits (COCO 2014 train and val).
SOURCES = ("train2014", "val2014")

#: Seed of the train/val image split (CLiMB's seed for its carved dev splits).
VAL_SPLIT_SEED = 2022

#: Bumped when the vocabulary's construction changes (part of the cache file name).
VOCAB_FORMAT = 1

#: COCO image ids become 12-digit file names (``COCO_train2014_<image_id:012d>.jpg``).
MAX_IMAGE_ID = 10**12 - 1

LAYOUT = (
    "v2_OpenEnded_mscoco_{train,val}2014_questions.json, v2_mscoco_{train,val}2014_annotations.json, "
    "train2014/COCO_train2014_<image_id:012d>.jpg, val2014/COCO_val2014_<image_id:012d>.jpg"
)

HOW_TO_GET = (
    "Download from https://visualqa.org/download.html the VQAv2 'Training/Validation questions' and "
    "'Training/Validation annotations' zips and from https://cocodataset.org/#download the COCO "
    "'2014 Train images' and '2014 Val images' zips, and unzip all of them into one folder (the zips "
    "already hold the file names and the train2014/ and val2014/ folders the task reads); then set the "
    "task option data_dir to that folder, or CLIMB_DATA_ROOT to its parent with the folder named vqav2."
)

_FIX = ("re-download and unzip the official file (https://visualqa.org/download.html) into the task's data "
        "folder, unchanged.")


class CorruptDataError(DataError):
    """A VQAv2 file of the wrong form: names the file, the record and field, and the fix."""


def data_file(path: Path | str, expected: str = "") -> DataFile:
    """How errors name a VQAv2 file."""
    return DataFile(Path(path), "VQAv2 data file", expected=expected, fix=_FIX, error=CorruptDataError)


def questions_path(root: Path, source: str) -> Path:
    return root / f"v2_OpenEnded_mscoco_{source}_questions.json"


def annotations_path(root: Path, source: str) -> Path:
    return root / f"v2_mscoco_{source}_annotations.json"


def image_folder(root: Path, source: str) -> Path:
    return root / source


def image_name(source: str, image_id: int) -> str:
    return f"COCO_{source}_{image_id:012d}.jpg"


def image_path(root: Path, source: str, image_id: int, max_pixels: int | None = None) -> ImagePath:
    """The image file, as an :class:`~climb_harness.api.ImagePath` carrying the largest size decoded."""
    return ImagePath(image_folder(root, source) / image_name(source, image_id), max_pixels)


def relative_layout() -> list[str]:
    """The layout's paths relative to the data folder (what a folder one level off is recognised by)."""
    files = [f"v2_OpenEnded_mscoco_{s}_questions.json" for s in SOURCES] + [f"v2_mscoco_{s}_annotations.json"
                                                                            for s in SOURCES]
    return files + list(SOURCES)


def required_paths(root: Path) -> list[Path]:
    """Every file and folder the task reads, without touching them."""
    root = root.absolute()
    paths: list[Path] = []
    for source in SOURCES:
        paths += [questions_path(root, source), annotations_path(root, source)]
    return paths + [image_folder(root, source) for source in SOURCES]


def missing(path: Path, root: Path) -> MissingDataError:
    hint = misplaced_hint(root, relative_layout())
    return MissingDataError(
        f"VQAv2 data not found: {path}. The task reads the folder {root} (option data_dir, else "
        f"$CLIMB_DATA_ROOT/vqav2), which must hold {LAYOUT}. {hint + ' ' if hint else ''}{HOW_TO_GET}"
    )


@dataclasses.dataclass(frozen=True)
class Question:
    question_id: int
    image_id: int
    text: str


@dataclasses.dataclass(frozen=True)
class Annotation:
    question_id: int
    multiple_choice_answer: str  # normalised
    answers: tuple[str, ...]  # the annotators' answers, normalised


def _read(root: Path, path: Path, parse):  # type: ignore[no-untyped-def]
    try:
        return read_cached(path, parse)
    except (FileNotFoundError, NotADirectoryError):
        raise missing(path, root) from None


def _records(file: DataFile, key: str) -> Iterable[DataRecord]:
    """The records of the file's top-level ``key`` list, each named ``key[i]`` in messages."""
    data = file.read_json()
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        found = type(data).__name__ if not isinstance(data, dict) else f"an object with keys {sorted(data)[:6]}"
        raise file.problem(f'expected a JSON object with a "{key}" list, found {found}', line=1, field=key)
    return (DataRecord(file, record, record=f"{key}[{i}]") for i, record in enumerate(data[key]))


def _question_id(record: DataRecord, seen: dict[int, str]) -> int:
    """A record's question_id: an integer 0 or more, not used by an earlier record of the file."""
    qid = record.integer("question_id", minimum=0)
    if qid in seen:
        raise record.error(f"question_id {qid} is used again (first by record {seen[qid]}); each question "
                           "must be in the file once", "question_id")
    seen[qid] = str(record.record)
    return qid


def read_questions(root: Path, source: str) -> tuple[Question, ...]:
    return _read(root, questions_path(root, source), _parse_questions)  # type: ignore[no-any-return]


def _parse_questions(path: Path) -> tuple[Question, ...]:
    file = data_file(path, "It must be the official questions file.")
    seen: dict[int, str] = {}
    return tuple(
        Question(_question_id(record, seen), record.integer("image_id", minimum=0, maximum=MAX_IMAGE_ID),
                 record.text("question"))
        for record in _records(file, "questions")
    )


def read_annotations(root: Path, source: str) -> dict[int, Annotation]:
    """question_id -> its annotation (answers normalised)."""
    return _read(root, annotations_path(root, source), _parse_annotations)  # type: ignore[no-any-return]


def _parse_annotations(path: Path) -> dict[int, Annotation]:
    file = data_file(path, "It must be the official annotations file.")
    out: dict[int, Annotation] = {}
    seen: dict[int, str] = {}
    for record in _records(file, "annotations"):
        qid = _question_id(record, seen)
        mc = record.text("multiple_choice_answer", empty_ok=True)
        texts = []
        for j, answer in enumerate(record.array("answers")):
            if not isinstance(answer, dict) or not isinstance(answer.get("answer"), str):
                raise record.error(f"{clip_repr(answer, 60)} has no answer string", f"answers[{j}].answer")
            texts.append(normalize_answer(answer["answer"]))
        out[qid] = Annotation(qid, normalize_answer(mc), tuple(texts))
    return out


# --------------------------------------------------------------------------- vocabulary
def annotation_key(root: Path) -> str:
    """sha256 over the contents of both annotation files (what the vocabulary is derived from)."""
    digest = hashlib.sha256()
    for source in SOURCES:
        digest.update(_read(root, annotations_path(root, source), _file_sha256).encode())
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def count_answers(annotations: Iterable[Mapping[int, Annotation]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for by_id in annotations:
        counts.update(a.multiple_choice_answer for a in by_id.values())
    return counts


def build_vocabulary(counts: Mapping[str, int], min_count: int) -> list[str]:
    """Answers seen at least ``min_count`` times, by count (descending) then string."""
    kept = [(answer, n) for answer, n in counts.items() if n >= min_count]
    return [answer for answer, _ in sorted(kept, key=lambda item: (-item[1], item[0]))]


def vocabulary_cache_path(key: str, min_count: int) -> Path:
    return cache_dir("vqav2") / f"vocab-v{VOCAB_FORMAT}-min{min_count}-{key}.json"


def load_vocabulary(root: Path, min_count: int) -> list[str]:
    """The answer vocabulary of the data in ``root`` (untruncated), from the cache or built and cached."""
    key = annotation_key(root)
    path = vocabulary_cache_path(key, min_count)
    try:
        cached = DataFile(path, "VQAv2 vocabulary cache").read_json()
        answers = cached.get("answers") if isinstance(cached, dict) and cached.get("key") == key else None
        if isinstance(answers, list) and all(isinstance(a, str) for a in answers):
            return answers
    except (OSError, DataError):
        pass  # absent, unreadable or not what was written: rebuild
    counts = count_answers(read_annotations(root, source) for source in SOURCES)
    answers = build_vocabulary(counts, min_count)
    payload = {"key": key, "min_answer_count": min_count, "files": [annotations_path(root, s).name for s in SOURCES],
               "answers": answers, "counts": [counts[a] for a in answers]}
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(payload), encoding="utf-8")
    os.replace(tmp, path)
    return answers


# --------------------------------------------------------------------------- targets and splits
def soft_score(count: int) -> float:
    """CLiMB's (ViLT's) rounding of min(1, n/3): 0 -> 0, 1 -> 0.3, 2 -> 0.6, 3 -> 0.9, >=4 -> 1.0."""
    return 0.0 if count <= 0 else 1.0 if count >= 4 else round(0.3 * count, 1)


def soft_target(answers: Sequence[str], label_of: Mapping[str, int]) -> dict[int, float]:
    """{label index: score} over the annotators' (normalised) answers that are in the vocabulary."""
    counts = Counter(a for a in answers if a in label_of)
    return {label_of[a]: soft_score(n) for a, n in sorted(counts.items(), key=lambda kv: label_of[kv[0]])}


def val_image_ids(questions: Sequence[Question], val_fraction: float, seed: int = VAL_SPLIT_SEED) -> frozenset[int]:
    """A seeded random ``val_fraction`` of the train images (by image: no image in train and val)."""
    def too_few(n: str) -> CorruptDataError:
        return CorruptDataError(f"the VQAv2 train2014 questions name {n}, so no val images can be held out. "
                                "Fix: point data_dir at the full release.")

    return held_out_groups((q.image_id for q in questions), val_fraction, seed, too_few=too_few)


def sample(n_items: int, limit: int | None, seed: str) -> list[int]:
    """A seeded random ``limit`` of ``range(n_items)``, in file order (all when ``limit`` is None)."""
    if limit is None or limit >= n_items:
        return list(range(n_items))
    return sorted(random.Random(seed).sample(range(n_items), limit))


def check_images(root: Path, source: str, image_ids: Iterable[int], allow_outside: bool = False) -> None:
    """Raise naming the first image the questions need that is not on disk (MissingDataError), or that
    is a link leading out of its folder (DataError, unless ``allow_outside``)."""
    names = [image_name(source, image_id) for image_id in sorted(set(image_ids))]
    require_files(image_folder(root, source), names, lambda path: missing(path, root),
                  allow_outside=allow_outside, named_by=f"the VQAv2 questions of {source}")


def data_digest(root: Path) -> str:
    """Short hash of the four annotation/question files' names, sizes and modification times."""
    files = required_paths(root)[:4]
    for path in files:
        if not path.is_file():
            raise missing(path, root)
    return files_fingerprint(files)
