"""Reading NLVR2's official release (standard library only).

The layout, under the task's data folder::

    <root>/train.json  <root>/dev.json  <root>/test1.json     JSON lines, one example a line
    <root>/images/train/<n>/<pair>-img0.png, -img1.png        n = 0..99 (train_img.zip)
    <root>/dev/<pair>-img0.png, -img1.png                     (dev_img.zip)
    <root>/test1/<pair>-img0.png, -img1.png                   (test1_img.zip)

The annotation files are found where CLiMB put them (the folder itself), or where the lil-lab
repository holds them: ``<root>/data/`` (``data_dir`` set to a clone's ``nlvr2/``) or
``<root>/nlvr2/data/`` (``data_dir`` set to the clone itself), unchanged.

Each line holds (among other fields the task does not use) ``identifier`` (e.g.
``"train-10171-0-0"``), ``sentence``, ``label`` (``"True"`` / ``"False"``) and, in train.json,
``directory`` (the numbered train image folder, 0-99). ``<pair>`` is the identifier minus its last
``-N`` (the sentence's index for that image pair): ``train-10171-0-0`` -> ``train-10171-0-img0.png``
and ``train-10171-0-img1.png``. A train record without a usable ``directory`` is looked up across
the numbered folders.

A bad line (not JSON within the harness's limits, not an object, a missing or mistyped field, an
unknown label, an identifier that does not end in ``-N`` or could lead out of its folder, a
``directory`` that is not a number 0-99) raises :class:`CorruptDataError` (a ValueError) naming the
file, the line and the field; an image that is a link out of its folder is refused unless the task
option ``allow_symlinks_out`` is true.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from climb_harness.api import (DataError, DataFile, DataRecord, ImagePath, MissingDataError,
                               files_fingerprint, find_layout, list_folder, misplaced_hint, read_cached,
                               stratified_sample)
from climb_nlvr2.plugin import HOW_TO_GET, LABELS, LAYOUT

__all__ = ["SOURCES", "CorruptDataError", "ImageLocator", "Record", "annotation_path", "data_digest",
           "image_folder", "image_names", "missing", "pair_stem", "read_records", "stratified_sample"]

#: The release's annotation files: harness split -> release split (file ``<source>.json``).
SOURCES: dict[str, str] = {"train": "train", "val": "dev", "test": "test1"}

#: Where the annotation files may be, relative to the data folder, in order of preference: CLiMB's
#: layout, a clone's nlvr2/ folder, a clone of https://github.com/lil-lab/nlvr.
ANNOTATION_PLACES = ("", "data", "nlvr2/data")

#: The numbered train image folders (the README: "There are 100 directories in total").
MAX_DIRECTORY = 99

_IDENTIFIER = re.compile(r"^(?P<pair>.+)-(?P<index>\d+)$")

_EXPECTED = ("Each line must be a JSON object with identifier (e.g. \"train-10171-0-0\"), sentence and label "
             "(\"True\" or \"False\"), as in https://github.com/lil-lab/nlvr (nlvr2/data).")
_FIX = "replace the file with the release's copy, or point the task option data_dir at a good copy."


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


def relative_layout() -> list[str]:
    """The layout's paths relative to the data folder (what a folder one level off is recognised by)."""
    return [f"{source}.json" for source in SOURCES.values()] + ["images/train", "dev", "test1"]


def missing(path: Path, root: Path) -> MissingDataError:
    """The error for a missing file or folder of the release (saying so when the folder is one level off)."""
    hint = misplaced_hint(root, relative_layout())
    return MissingDataError(
        f"NLVR2 data not found: {path}. The task reads the folder {root} (option data_dir, default "
        f"$CLIMB_DATA_ROOT/nlvr2), laid out as: {LAYOUT}. {hint + ' ' if hint else ''}How to get it: "
        f"{HOW_TO_GET}"
    )


def annotation_path(root: Path, source: str) -> Path:
    """``<source>.json`` in the first of :data:`ANNOTATION_PLACES` that holds the release's files."""
    folder = find_layout(root, ANNOTATION_PLACES, [f"{s}.json" for s in SOURCES.values()])
    return folder / f"{source}.json"


def image_folder(root: Path, source: str) -> Path:
    """Where a release split's images live: ``images/train`` (numbered subfolders), ``dev``, ``test1``."""
    return root / "images" / "train" if source == "train" else root / source


def read_records(root: Path, source: str) -> list[Record]:
    """Parse the release file of ``source``; cached while the file is unchanged."""
    path = annotation_path(root, source)
    if path.exists() and not path.is_file():
        raise missing(path, root)
    try:
        return list(read_cached(path, _parse))
    except (FileNotFoundError, NotADirectoryError):
        raise missing(path, root) from None


def _parse(path: Path) -> tuple[Record, ...]:
    file = DataFile(path, "NLVR2 annotation file", _EXPECTED, _FIX, CorruptDataError)
    records = tuple(_record(record) for record in file.records())
    if not records:
        raise file.problem("it holds no records")
    return records


def _record(record: DataRecord) -> Record:
    for field in ("identifier", "sentence", "label"):
        if field not in record.value:
            raise record.error(f"the field {field!r} is missing", field)
        if not isinstance(record.value[field], str):
            raise record.error(f"the field {field!r} is {record.value[field]!r:.60}, not a string", field)
    identifier, sentence, label = record.name("identifier"), record.value["sentence"], record.value["label"]
    if _IDENTIFIER.match(identifier) is None:
        raise record.error(f"the field 'identifier' is {identifier!r:.80}, which does not end in -<number> "
                           "(expected e.g. \"train-10171-0-0\")", "identifier")
    sentence = record.text("sentence")
    if label not in LABELS:
        raise record.error(f"the field 'label' is {label!r:.40}, not \"True\" or \"False\"", "label")
    directory = None
    if record.has("directory"):
        directory = str(record.integer("directory", minimum=0, maximum=MAX_DIRECTORY, digits_ok=True))
    return Record(identifier, sentence, label, directory, int(record.line or 0))


class ImageLocator:
    """Finds a release split's image files, listing each folder once (nothing is opened).

    Every file must lie inside the split's image folder (``images/train``, ``dev``, ``test1``; the
    folder itself may be a link) unless ``allow_outside``; paths come back as
    :class:`~climb_harness.api.ImagePath` carrying ``max_pixels``.
    """

    def __init__(self, root: Path, source: str, *, allow_outside: bool = False,
                 max_pixels: int | None = None) -> None:
        self.root, self.source = root, source
        self.allow_outside, self.max_pixels = allow_outside, max_pixels
        self.folder = image_folder(root, source)
        if not self.folder.is_dir():
            raise missing(self.folder, root)
        self._index: dict[str, Path] | None = None  # train: file name -> numbered folder

    def _listing(self, folder: Path):  # type: ignore[no-untyped-def]
        return list_folder(folder, self.folder, allow_outside=self.allow_outside)

    def path(self, record: Record, name: str) -> ImagePath:
        """The absolute path of image ``name`` of ``record``.

        Raises:
            FileNotFoundError: Naming where the file was expected.
            DataError: When the file is a link leading out of the image folder.
        """
        named_by = f"identifier {record.identifier!r} (line {record.line})"
        absent = lambda p: missing(p, self.root)  # noqa: E731
        if self.source != "train":
            found = self._listing(self.folder).require(name, absent, named_by=named_by)
            return ImagePath(found, self.max_pixels)
        if record.directory is not None:
            folder = self.folder / record.directory
            try:
                listing = self._listing(folder)
            except FileNotFoundError:
                listing = None
            if listing is not None and (name in listing or name in listing.outside):
                return ImagePath(listing.require(name, absent, named_by=named_by), self.max_pixels)
        found = self._search().get(name)
        if found is None:
            expected = self.folder / (record.directory if record.directory is not None else "<n>") / name
            raise missing(expected, self.root)
        return ImagePath(self._listing(found).require(name, absent, named_by=named_by), self.max_pixels)

    def _search(self) -> dict[str, Path]:
        """Every numbered train folder's files (the fallback when ``directory`` is absent or wrong)."""
        if self._index is None:
            index: dict[str, Path] = {}
            for sub in _numbered_subfolders(self.folder):
                listing = self._listing(sub)
                for name in (*listing.files, *listing.outside):
                    index.setdefault(name, sub)
            self._index = index
        return self._index


def _numbered_subfolders(folder: Path) -> list[Path]:
    try:
        names = [p.name for p in folder.iterdir()]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [folder / n for n in sorted(names, key=lambda n: (len(n), n))
            if n.isascii() and n.isdigit() and (folder / n).is_dir()]


def data_digest(root: Path) -> str:
    """A short hash of the annotation files' names, sizes and modification times (missing ones too)."""
    return files_fingerprint(annotation_path(root, source) for source in SOURCES.values())
