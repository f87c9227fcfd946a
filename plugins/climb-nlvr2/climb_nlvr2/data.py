"""Reading NLVR2's official release (standard library only).

The layout, under the task's data folder::

    <root>/train.json  <root>/dev.json  <root>/test1.json     JSON lines, one example a line
    <root>/images/train/<n>/<pair>-img0.png, -img1.png        n = 0..99 (train_img.zip)
    <root>/dev/<pair>-img0.png, -img1.png                     (dev_img.zip)
    <root>/test1/<pair>-img0.png, -img1.png                   (test1_img.zip)

Each line holds (among other fields the task does not use) ``identifier`` (e.g.
``"train-10171-0-0"``), ``sentence``, ``label`` (``"True"`` / ``"False"``) and, in train.json,
``directory`` (the numbered train image folder). ``<pair>`` is the identifier minus its last
``-N`` (the sentence's index for that image pair): ``train-10171-0-0`` ->
``train-10171-0-img0.png`` and ``train-10171-0-img1.png``. A train record without a usable
``directory`` is looked up across the numbered folders.

A bad line (not JSON, not an object, a missing or mistyped field, an unknown label, a malformed
identifier) raises :class:`CorruptDataError` (a ValueError) naming the file, the line and the field.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

from climb_harness.api import DataError, files_fingerprint, stratified_sample  # noqa: F401 - re-exported for the tasks
from climb_nlvr2.plugin import HOW_TO_GET, LABELS, LAYOUT

#: The release's annotation files: harness split -> release split (file ``<source>.json``).
SOURCES: dict[str, str] = {"train": "train", "val": "dev", "test": "test1"}

_IDENTIFIER = re.compile(r"^(?P<pair>.+)-(?P<index>\d+)$")


class CorruptDataError(DataError):
    """An annotation line of the wrong form: names the file, the line, the field and the fix."""


@dataclasses.dataclass(frozen=True)
class Record:
    """One line of an annotation file (``line`` is 1-based)."""

    identifier: str
    sentence: str
    label: str
    directory: str | None
    line: int

    @property
    def pair(self) -> str:
        """The image-pair stem: the identifier minus its last ``-N``."""
        return pair_stem(self.identifier)


def pair_stem(identifier: str) -> str:
    """``"train-10171-0-0"`` -> ``"train-10171-0"``.

    Raises:
        ValueError: When the identifier does not end in ``-<number>``.
    """
    match = _IDENTIFIER.match(identifier)
    if match is None:
        raise ValueError(f"identifier {identifier!r} does not end in -<number>")
    return match.group("pair")


def image_names(identifier: str) -> tuple[str, str]:
    """The left and right image file names of an example: ``<pair>-img0.png``, ``<pair>-img1.png``."""
    stem = pair_stem(identifier)
    return f"{stem}-img0.png", f"{stem}-img1.png"


def _clip(text: object, limit: int = 80) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _corrupt(path: str | Path, line: int | None, problem: str) -> CorruptDataError:
    where = f"{path}, line {line}" if line is not None else str(path)
    return CorruptDataError(
        f"NLVR2 annotation file {where} is unusable: {problem}. Each line must be a JSON object with "
        "identifier (e.g. \"train-10171-0-0\"), sentence and label (\"True\" or \"False\"), as in "
        "https://github.com/lil-lab/nlvr (nlvr2/data). Fix: replace the file with the release's copy, or point "
        "the task option data_dir at a good copy."
    )


def missing(path: Path, root: Path) -> FileNotFoundError:
    """The error for a missing file or folder of the release."""
    return FileNotFoundError(
        f"NLVR2 data not found: {path}. The task reads the folder {root} (option data_dir, default "
        f"$CLIMB_DATA_ROOT/nlvr2), laid out as: {LAYOUT}. How to get it: {HOW_TO_GET}"
    )


def annotation_path(root: Path, source: str) -> Path:
    return root / f"{source}.json"


def image_folder(root: Path, source: str) -> Path:
    """Where a release split's images live: ``images/train`` (numbered subfolders), ``dev``, ``test1``."""
    return root / "images" / "train" if source == "train" else root / source


def read_records(root: Path, source: str) -> list[Record]:
    """Parse ``<root>/<source>.json``; cached while the file is unchanged."""
    path = annotation_path(root, source)
    try:
        stat = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise missing(path, root) from None
    if not path.is_file():
        raise missing(path, root)
    return list(_read_cached(str(path), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _read_cached(path: str, _mtime_ns: int, _size: int) -> tuple[Record, ...]:
    records = []
    try:
        with open(path, encoding="utf-8") as file:
            for number, text in enumerate(file, start=1):
                if text.strip():
                    records.append(_record(path, number, text))
    except UnicodeDecodeError as exc:
        raise _corrupt(path, None, f"it is not UTF-8 text ({_clip(exc)})") from None
    except OSError as exc:
        raise _corrupt(path, None, f"it cannot be read ({type(exc).__name__}: {_clip(exc)})") from None
    if not records:
        raise _corrupt(path, None, "it holds no records")
    return tuple(records)


def _record(path: str, line: int, text: str) -> Record:
    try:
        row = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _corrupt(path, line, f"it is not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(row, dict):
        raise _corrupt(path, line, f"it holds a JSON {type(row).__name__}, not an object")
    for field in ("identifier", "sentence", "label"):
        if field not in row:
            raise _corrupt(path, line, f"the field {field!r} is missing")
        if not isinstance(row[field], str):
            raise _corrupt(path, line, f"the field {field!r} is {_clip(repr(row[field]))}, not a string")
    identifier, sentence, label = row["identifier"], row["sentence"], row["label"]
    if _IDENTIFIER.match(identifier) is None:
        raise _corrupt(path, line, f"the field 'identifier' is {_clip(repr(identifier))}, which does not end in "
                       "-<number> (expected e.g. \"train-10171-0-0\")")
    if not sentence.strip():
        raise _corrupt(path, line, "the field 'sentence' is empty")
    if label not in LABELS:
        raise _corrupt(path, line, f"the field 'label' is {_clip(repr(label))}, not \"True\" or \"False\"")
    directory = row.get("directory")
    if directory is not None:
        if isinstance(directory, bool) or not isinstance(directory, (int, str)) or not str(directory).isdigit():
            raise _corrupt(path, line, f"the field 'directory' is {_clip(repr(directory))}, not a folder number")
        directory = str(int(directory))
    return Record(identifier, sentence, label, directory, line)


@functools.lru_cache(maxsize=16)
def _listing(folder: str, _mtime_ns: int) -> frozenset[str]:
    return frozenset(os.listdir(folder))


def _names_in(folder: Path) -> frozenset[str]:
    try:
        return _listing(str(folder), folder.stat().st_mtime_ns)
    except (FileNotFoundError, NotADirectoryError):
        return frozenset()


def _numbered_subfolders(folder: Path) -> list[Path]:
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [folder / n for n in sorted(names, key=lambda n: (len(n), n)) if n.isdigit() and (folder / n).is_dir()]


class ImageLocator:
    """Finds a release split's image files, listing each folder once (nothing is opened)."""

    def __init__(self, root: Path, source: str) -> None:
        self.root, self.source = root, source
        self.folder = image_folder(root, source)
        if not self.folder.is_dir():
            raise missing(self.folder, root)
        self._index: dict[str, Path] | None = None  # train: file name -> numbered folder

    def path(self, record: Record, name: str) -> Path:
        """The absolute path of image ``name`` of ``record``.

        Raises:
            FileNotFoundError: Naming where the file was expected.
        """
        if self.source != "train":
            if name in _names_in(self.folder):
                return self.folder / name
            raise missing(self.folder / name, self.root)
        if record.directory is not None:
            folder = self.folder / record.directory
            if name in _names_in(folder):
                return folder / name
        found = self._search().get(name)
        if found is None:
            expected = self.folder / (record.directory if record.directory is not None else "<n>") / name
            raise missing(expected, self.root)
        return found / name

    def _search(self) -> dict[str, Path]:
        """Every numbered train folder's files (the fallback when ``directory`` is absent or wrong)."""
        if self._index is None:
            index: dict[str, Path] = {}
            for sub in _numbered_subfolders(self.folder):
                for name in _names_in(sub):
                    index.setdefault(name, sub)
            self._index = index
        return self._index





def data_digest(root: Path) -> str:
    """A short hash of the annotation files' names, sizes and modification times (missing ones too)."""
    return files_fingerprint(annotation_path(root, source) for source in SOURCES.values())
