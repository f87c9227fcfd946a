"""Reading VQAv2 in its official release layout, the answer vocabulary and the soft targets.

The layout (the files as https://visualqa.org/download.html ships them, unzipped into one folder)::

    <root>/v2_OpenEnded_mscoco_train2014_questions.json   {"questions": [{question_id, image_id, question}, ...]}
    <root>/v2_OpenEnded_mscoco_val2014_questions.json
    <root>/v2_mscoco_train2014_annotations.json           {"annotations": [{question_id, multiple_choice_answer,
    <root>/v2_mscoco_val2014_annotations.json                               answers: [{answer, ...} x10], ...}, ...]}
    <root>/train2014/COCO_train2014_<image_id:012d>.jpg    COCO 2014 images
    <root>/val2014/COCO_val2014_<image_id:012d>.jpg

Standard library only (no torch): parsed files are cached per (path, mtime, size).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from climb_harness.api import DataError, cache_dir

from climb_vqav2.normalize import normalize_answer

#: The release's two labelled splits (COCO 2014 train and val).
SOURCES = ("train2014", "val2014")

#: Seed of the train/val image split (CLiMB's seed for its carved dev splits).
VAL_SPLIT_SEED = 2022

#: Bumped when the vocabulary's construction changes (part of the cache file name).
VOCAB_FORMAT = 1

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


class CorruptDataError(DataError):
    """A VQAv2 file of the wrong form: names the file, the record and field, and the fix."""


def _clip(text: object, limit: int = 120) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _corrupt(path: str | Path, problem: str) -> CorruptDataError:
    return CorruptDataError(
        f"VQAv2 data file {path} is unusable: {problem}. Fix: re-download and unzip the official file "
        "(https://visualqa.org/download.html) into the task's data folder, unchanged."
    )


def questions_path(root: Path, source: str) -> Path:
    return root / f"v2_OpenEnded_mscoco_{source}_questions.json"


def annotations_path(root: Path, source: str) -> Path:
    return root / f"v2_mscoco_{source}_annotations.json"


def image_folder(root: Path, source: str) -> Path:
    return root / source


def image_name(source: str, image_id: int) -> str:
    return f"COCO_{source}_{image_id:012d}.jpg"


def image_path(root: Path, source: str, image_id: int) -> Path:
    return image_folder(root, source) / image_name(source, image_id)


def required_paths(root: Path) -> list[Path]:
    """Every file and folder the task reads, without touching them."""
    root = root.absolute()
    paths: list[Path] = []
    for source in SOURCES:
        paths += [questions_path(root, source), annotations_path(root, source)]
    return paths + [image_folder(root, source) for source in SOURCES]


def missing(path: Path, root: Path) -> FileNotFoundError:
    return FileNotFoundError(
        f"VQAv2 data not found: {path}. The task reads the folder {root} (option data_dir, else "
        f"$CLIMB_DATA_ROOT/vqav2), which must hold {LAYOUT}. {HOW_TO_GET}"
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


def _stat(path: Path, root: Path) -> os.stat_result:
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise missing(path, root) from None


def _load_json(path: str) -> object:
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except UnicodeDecodeError as exc:
        raise _corrupt(path, f"it is not UTF-8 text ({_clip(exc, 80)})") from None
    except json.JSONDecodeError as exc:
        raise _corrupt(path, f"it is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except OSError as exc:
        raise _corrupt(path, f"it cannot be read ({type(exc).__name__}: {_clip(exc.strerror or exc, 80)})") from None


def _records(path: str, key: str) -> list[object]:
    data = _load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        found = type(data).__name__ if not isinstance(data, dict) else f"an object with keys {sorted(data)[:6]}"
        raise _corrupt(path, f'line 1, field "{key}": expected a JSON object with a "{key}" list, found {found}')
    return data[key]


def _field(path: str, key: str, index: int, record: object, field: str, kind: type | tuple[type, ...]) -> object:
    where = f'record {key}[{index}]'
    if not isinstance(record, dict):
        raise _corrupt(path, f"{where} is {_clip(repr(record), 60)}, not a JSON object")
    if field not in record:
        qid = f" (question_id {record['question_id']})" if "question_id" in record else ""
        raise _corrupt(path, f'{where}{qid} has no field "{field}"')
    value = record[field]
    if isinstance(value, bool) or not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise _corrupt(path, f'{where}, field "{field}": {_clip(repr(value), 60)} is not a {names}')
    return value


def read_questions(root: Path, source: str) -> tuple[Question, ...]:
    path = questions_path(root, source)
    stat = _stat(path, root)
    return _read_questions(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _read_questions(path: str, _mtime: int, _size: int) -> tuple[Question, ...]:
    out = []
    for i, record in enumerate(_records(path, "questions")):
        qid = _field(path, "questions", i, record, "question_id", int)
        image_id = _field(path, "questions", i, record, "image_id", int)
        text = _field(path, "questions", i, record, "question", str)
        out.append(Question(int(qid), int(image_id), str(text)))  # type: ignore[arg-type]
    return tuple(out)


def read_annotations(root: Path, source: str) -> dict[int, Annotation]:
    """question_id -> its annotation (answers normalised)."""
    path = annotations_path(root, source)
    stat = _stat(path, root)
    return _read_annotations(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _read_annotations(path: str, _mtime: int, _size: int) -> dict[int, Annotation]:
    out: dict[int, Annotation] = {}
    for i, record in enumerate(_records(path, "annotations")):
        qid = int(_field(path, "annotations", i, record, "question_id", int))  # type: ignore[arg-type]
        mc = _field(path, "annotations", i, record, "multiple_choice_answer", str)
        answers = _field(path, "annotations", i, record, "answers", list)
        texts = []
        for j, answer in enumerate(answers):  # type: ignore[arg-type]
            if not isinstance(answer, dict) or not isinstance(answer.get("answer"), str):
                raise _corrupt(path, f'record annotations[{i}] (question_id {qid}), field "answers[{j}].answer": '
                               f"{_clip(repr(answer), 60)} has no answer string")
            texts.append(normalize_answer(answer["answer"]))
        out[qid] = Annotation(qid, normalize_answer(str(mc)), tuple(texts))
    return out


# --------------------------------------------------------------------------- vocabulary
def annotation_key(root: Path) -> str:
    """sha256 over the contents of both annotation files (what the vocabulary is derived from)."""
    digest = hashlib.sha256()
    for source in SOURCES:
        path = annotations_path(root, source)
        stat = _stat(path, root)
        digest.update(_file_sha256(str(path), stat.st_mtime_ns, stat.st_size).encode())
    return digest.hexdigest()


@functools.lru_cache(maxsize=8)
def _file_sha256(path: str, _mtime: int, _size: int) -> str:
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
        cached = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(cached, dict) and cached.get("key") == key and isinstance(cached.get("answers"), list):
            return [str(a) for a in cached["answers"]]
    except (OSError, ValueError):
        pass  # absent or unreadable: rebuild
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
    images = sorted({q.image_id for q in questions})
    if len(images) < 2:
        raise CorruptDataError(
            f"the VQAv2 train2014 questions name {len(images)} image(s); at least 2 are needed to hold out "
            "val images. Fix: point data_dir at the full release."
        )
    n_val = min(len(images) - 1, max(1, round(val_fraction * len(images))))
    random.Random(seed).shuffle(images)
    return frozenset(images[:n_val])


def sample(n_items: int, limit: int | None, seed: str) -> list[int]:
    """A seeded random ``limit`` of ``range(n_items)``, in file order (all when ``limit`` is None)."""
    if limit is None or limit >= n_items:
        return list(range(n_items))
    return sorted(random.Random(seed).sample(range(n_items), limit))


def check_images(root: Path, source: str, image_ids: Iterable[int]) -> None:
    """Raise FileNotFoundError naming the first image the questions need that is not on disk."""
    folder = image_folder(root, source)
    try:
        present = set(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        raise missing(folder, root) from None
    for image_id in sorted(set(image_ids)):
        if image_name(source, image_id) not in present:
            raise missing(image_path(root, source, image_id), root)


def data_digest(root: Path) -> str:
    """Short hash of the four annotation/question files' names, sizes and modification times."""
    digest = hashlib.sha256()
    for path in required_paths(root)[:4]:
        stat = _stat(path, root)
        digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]
