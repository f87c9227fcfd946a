"""The task author's data toolkit (re-exported by :mod:`climb_harness.api`): read nothing unbounded,
trust nothing read, and blame the data, naming file, line and field, when it is wrong.

What every task plugin used to write for itself:

* the errors: :class:`DataError` (data there but wrong) and :class:`MissingDataError` (data absent;
  a ``FileNotFoundError`` too, so the conformance kit skips instead of failing);
* the option schema of a file-based task (:func:`data_options`: ``data_dir``, ``max_train_examples``,
  ``max_eval_examples``, and for image tasks ``max_image_pixels`` and ``allow_symlinks_out``) and
  its defaults (:func:`option_defaults`);
* bounded text for messages (:func:`clip_text`, :func:`clip_repr`) and "did you mean"
  (:func:`closest_name`);
* reading: :class:`DataFile` names a file in messages and reads it as bounded JSON or JSON lines
  (:mod:`climb_harness.api.bounded_json`: size, depth and number limits, no NaN, no duplicate keys),
  :class:`DataRecord` reads a record's fields with their types checked, and :func:`read_cached`
  keeps what a parse made of a file while the file is unchanged;
* the seeded hold-out of whole groups (images, movies) as a validation split (:func:`held_out_groups`).

Paths, folders, release layouts and images are in :mod:`climb_harness.api._datapaths`.
Standard library only: ``climb list`` imports task plugins' hook modules, which import this.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import random
import reprlib
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from climb_harness.api.bounded_json import JsonError, JsonLimits, iter_lines, load, read_bounded
from climb_harness.api.errors import DataError, MissingDataError, RunError

__all__ = [
    "DATA_LIMITS",
    "DataError",
    "DataFile",
    "DataRecord",
    "JsonLimits",
    "MissingDataError",
    "clip_repr",
    "clip_text",
    "closest_name",
    "data_fingerprint",
    "data_options",
    "fingerprint_options",
    "held_out_groups",
    "option_defaults",
    "read_cached",
    "unknown_split",
]

T = TypeVar("T")




# --------------------------------------------------------------------------- options
def data_options(
    data_dir: str,
    *,
    max_train: str = "Seeded, label-stratified sample of the train split (null = all), for short runs.",
    max_eval: str = "Seeded, label-stratified sample of each of val and test (null = all).",
    max_train_default: int | None = None,
    max_eval_default: int | None = None,
    max_image_pixels: int | None = None,
    val_fraction: float | None = None,
    val_fraction_description: str = "",
    extra: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The option schema of a task that reads a release from a data folder.

    Every such task takes ``data_dir`` (null: ``$CLIMB_DATA_ROOT/<folder>``, see
    :func:`climb_harness.api.data_dir`), ``max_train_examples`` and ``max_eval_examples`` (seeded
    samples for short runs). A task that reads image files also takes ``max_image_pixels`` (the
    largest image it decodes: a decompression bomb fails before decoding, see
    :func:`climb_harness.api.load_image`) and ``allow_symlinks_out`` (whether a file may be a link
    to a place outside its folder, see :func:`climb_harness.api.resolve_inside`).

    Args:
        data_dir: The description of ``data_dir``: what the folder holds, and what null means.
        max_train: The description of ``max_train_examples``.
        max_eval: The description of ``max_eval_examples``.
        max_train_default: The default of ``max_train_examples`` (None: all).
        max_eval_default: The default of ``max_eval_examples`` (None: all).
        max_image_pixels: For an image task, the default limit (width times height); None: not an
            image task (no image options).
        val_fraction: For a task that holds part of its training release out as the val split, the
            default share held out (an option ``val_fraction`` in (0, 1)); None: no such option.
        val_fraction_description: What ``val_fraction`` holds out (by image, by movie, seed ...).
        extra: The task's own options, after these (property name -> schema).

    Returns:
        An object schema with ``additionalProperties: false``, every property with a default.

    Example:
        >>> schema = data_options("Folder holding train.jsonl; null = $CLIMB_DATA_ROOT/my-task.",
        ...                       max_image_pixels=4_000_000)
        >>> list(schema["properties"])
        ['data_dir', 'max_train_examples', 'max_eval_examples', 'max_image_pixels', 'allow_symlinks_out']
        >>> option_defaults(schema)["max_image_pixels"], option_defaults(schema)["allow_symlinks_out"]
        (4000000, False)
    """
    properties: dict[str, Any] = {
        "data_dir": {"type": ["string", "null"], "default": None, "description": data_dir},
        "max_train_examples": {
            "type": ["integer", "null"],
            "minimum": 1,
            "default": max_train_default,
            "description": max_train,
        },
        "max_eval_examples": {
            "type": ["integer", "null"],
            "minimum": 1,
            "default": max_eval_default,
            "description": max_eval,
        },
    }
    if val_fraction is not None:
        properties["val_fraction"] = {
            "type": "number",
            "exclusiveMinimum": 0,
            "exclusiveMaximum": 1,
            "default": val_fraction,
            "description": val_fraction_description,
        }
    properties.update({name: dict(schema) for name, schema in (extra or {}).items()})
    if max_image_pixels is not None:
        properties["max_image_pixels"] = {
            "type": "integer",
            "minimum": 1,
            "default": max_image_pixels,
            "description": "The largest image (width x height, read from the file's header) the task "
            "decodes; a larger one is an unreadable image (a guard against decompression bombs, which "
            "would take GBs of memory). The default is well above the release's largest image; raise it "
            "for a copy with larger ones.",
        }
        properties["allow_symlinks_out"] = {
            "type": "boolean",
            "default": False,
            "description": "false: every file the task reads must lie inside its folder after following "
            "symbolic links (a folder of the layout, e.g. the images folder, may itself be a link: it is "
            "the boundary for what it holds), so a data file cannot make the task read other files of "
            "the machine; true: links may lead anywhere.",
        }
    return {"type": "object", "additionalProperties": False, "properties": properties}


#: Options that guard reading without changing what is read: left out of fingerprints, so adding
#: them to a task (or raising a limit) keeps its cached references.
GUARD_OPTIONS = ("max_image_pixels", "allow_symlinks_out")


def fingerprint_options(options: Mapping[str, Any], leave_out: Iterable[str] = ()) -> str:
    """The options that decide a task's examples, as sorted JSON, for :meth:`Task.fingerprint`.

    Args:
        options: The task's options.
        leave_out: More options to leave out (e.g. ``data_dir`` when the fingerprint names the folder
            itself); :data:`GUARD_OPTIONS` always are.

    Example:
        >>> fingerprint_options({"max_image_pixels": 10, "b": 1, "a": None})
        '{"a": null, "b": 1}'
    """
    skip = set(GUARD_OPTIONS) | set(leave_out)
    return json.dumps({k: v for k, v in options.items() if k not in skip}, sort_keys=True, default=str)


def data_fingerprint(
    head: str,
    root: Callable[[], Path],
    digest: Callable[[Path], str],
    options: Mapping[str, Any],
    *,
    leave_out: Iterable[str] = (),
    unset: str = "dir=unset",
) -> str:
    """What :meth:`Task.fingerprint` of a file-based task returns; it never raises.

    ``"<head> dir=<root> data=<digest> options=<options>"``, or ``"<head> <unset> options=<options>"``
    when the data folder cannot be found (no option and no ``$CLIMB_DATA_ROOT``).

    Args:
        head: The distribution, its version and what else names the task (e.g. ``"climb-nlvr2 1.0.0 nlvr2"``).
        root: The task's data folder (may raise ``FileNotFoundError`` or a ``DataError``).
        digest: The data's digest from the folder, e.g. :func:`climb_harness.api.files_fingerprint` of
            the annotation files (their names, sizes and modification times).
        options: The task's options (:func:`fingerprint_options`).
        leave_out: Options left out besides the guard options.
        unset: What stands for the folder and digest when there is no folder.

    Example:
        >>> data_fingerprint("demo 1.0", lambda: Path("/data/demo"), lambda root: "d1g3st", {"b": 1})
        'demo 1.0 dir=/data/demo data=d1g3st options={"b": 1}'
    """
    text = fingerprint_options(options, leave_out)
    try:
        folder = root()
        return f"{head} dir={folder} data={digest(folder)} options={text}"
    except (FileNotFoundError, DataError):
        return f"{head} {unset} options={text}"


def unknown_split(task: str, split: object, splits: Sequence[str], note: str = "") -> ValueError:
    """The error for a split a task does not have, with "did you mean" (raise it).

    Example:
        >>> print(unknown_split("vqav2", "vall", ["train", "val", "test"]))
        task 'vqav2' has no split 'vall' (did you mean 'val'?); valid splits: train, val, test.
    """
    close = closest_name(split, splits) if isinstance(split, str) else None
    hint = f" (did you mean {close!r}?)" if close else ""
    return ValueError(
        f"task {task!r} has no split {clip_repr(split, 40)}{hint}; valid splits: {', '.join(splits)}"
        + (f" ({note})." if note else ".")
    )


def option_defaults(schema: Mapping[str, Any]) -> dict[str, Any]:
    """``{option: default}`` of an option schema (every property must have a default).

    Example:
        >>> option_defaults({"properties": {"a": {"default": 1}, "b": {"default": None}}})
        {'a': 1, 'b': None}
    """
    return {key: prop["default"] for key, prop in schema["properties"].items()}


# --------------------------------------------------------------------------- bounded text
def clip_text(value: object, limit: int = 80) -> str:
    """``value`` as one line of at most ``limit`` characters, for messages ("…" marks a cut).

    Bounded: at most about ``4 * limit`` characters of ``str(value)`` are looked at, so a 100 MB
    value costs no more than a short one (beyond its ``str()``; use :func:`clip_repr` for values
    whose ``repr`` is large).

    Example:
        >>> clip_text("a  long\\n text", 8), clip_text("x" * 100, 5)
        ('a long …', 'xxxx…')
    """
    text = value if isinstance(value, str) else str(value)
    flat = " ".join(text[: 4 * limit + 16].split())
    if len(flat) <= limit and len(text) <= 4 * limit + 16:
        return flat
    return flat[: max(0, limit - 1)] + "…"


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxdict, _REPR.maxlist, _REPR.maxtuple, _REPR.maxset = 3, 6, 8, 8, 8
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = 200, 200, 60


def clip_repr(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to one line of at most ``limit`` characters, in time bounded whatever its size.

    Example:
        >>> clip_repr(list(range(10**6)), 40)
        '[0, 1, 2, 3, 4, 5, 6, 7, ...]'
        >>> clip_repr("a\\x00b")
        "'a\\\\x00b'"
    """
    return clip_text(_REPR.repr(value), limit)


def closest_name(name: str, known: Iterable[str]) -> str | None:
    """The known name closest to a misspelled one, for "did you mean ...?" (``None``: none is close).

    Bounded: a name longer than 64 characters, or more than 10,000 known names, gives ``None``
    (difflib's comparison is quadratic in the lengths).

    Example:
        >>> closest_name("vall", ["train", "val", "test"]), closest_name("xyz", ["train"])
        ('val', None)
    """
    names = list(known)
    if not isinstance(name, str) or len(name) > 64 or len(names) > 10_000:
        return None
    close = difflib.get_close_matches(name, [n for n in names if len(n) <= 256], n=1)
    return close[0] if close else None


# --------------------------------------------------------------------------- reading
#: The limits of a task's data files: 4 GiB (COCO-style annotation files reach 0.5 GB), nesting 64
#: deep (release files nest at most about 6), numbers of at most 100 digits, no NaN, no key twice.
DATA_LIMITS = JsonLimits(max_bytes=4 * 2**30, max_depth=64)


@dataclasses.dataclass(frozen=True)
class DataFile:
    """A data file of a task, as its errors name it, and its bounded reading.

    Attributes:
        path: The file.
        title: What it is, e.g. ``"VCR annotation file"`` (messages start with it).
        expected: One sentence on what a good file holds (e.g. "Each line is a JSON object with ...").
        fix: How to get a good copy (the message ends with ``Fix: <fix>``).
        error: The :class:`DataError` subclass raised (a task's own, for code that catches it).
        limits: The bounded JSON reader's limits (:data:`DATA_LIMITS`).

    Example:
        >>> f = DataFile(Path("/data/x/train.jsonl"), "X annotation file", fix="re-download it.")
        >>> print(f.problem("not a string", line=3, field="id"))
        X annotation file /data/x/train.jsonl, line 3, field 'id': not a string. Fix: re-download it.
    """

    path: Path
    title: str
    expected: str = ""
    fix: str = ""
    error: type[DataError] = DataError
    limits: JsonLimits = DATA_LIMITS

    def problem(
        self, problem: str, *, line: int | None = None, field: str | None = None, record: str | None = None
    ) -> DataError:
        """The error for a problem in this file (return it to ``raise``).

        Args:
            problem: What is wrong, e.g. ``"-1 is not an image id (an integer 0 or more)"``.
            line: The 1-based line, when there is one.
            field: The field, e.g. ``"answers[3].answer"``.
            record: Where the record is when there is no line (e.g. ``"questions[12]"``).

        Returns:
            ``self.error`` with one paragraph: file, line, record, field, problem, expected form, fix.
        """
        where = str(self.path)
        where += f", line {line}" if line is not None else ""
        where += f", record {record}" if record else ""
        where += f", field {field!r}" if field else ""
        tail = (f" {self.expected}" if self.expected else "") + (f" Fix: {self.fix}" if self.fix else "")
        return self.error(f"{self.title} {where}: {problem}.{tail}")

    def _unreadable(self, exc: JsonError) -> DataError:
        near = f" (near: {exc.excerpt})" if exc.excerpt else ""
        return self.problem(f"{exc.problem}{near}", line=exc.line)

    def read_json(self) -> Any:
        """The file's JSON value, read within :attr:`limits`.

        Raises:
            FileNotFoundError: When the file does not exist (the caller names the layout).
            DataError: When it is not a regular file, too large, not UTF-8, not JSON, too deep, or
                holds NaN, an overflowing number or a key given twice (naming the line).
        """
        try:
            return load(self.path, limits=self.limits)
        except JsonError as exc:
            raise self._unreadable(exc) from None

    def json_lines(self) -> Iterator[tuple[int, Any]]:
        """``(line number, value)`` of every non-blank line of a JSON-lines file, within :attr:`limits`.

        Raises:
            FileNotFoundError: When the file does not exist.
            DataError: Naming the line, for the first line that is not JSON within the limits.
        """
        try:
            yield from iter_lines(self.path, limits=self.limits)
        except JsonError as exc:
            raise self._unreadable(exc) from None

    def read_text(self) -> str:
        """The whole file as UTF-8 text, its size bounded by ``limits.max_bytes``.

        Raises:
            FileNotFoundError: When the file does not exist.
            DataError: When it is not a regular file or too large, or naming the line of the first
                byte that is not UTF-8.
        """
        try:
            data = read_bounded(self.path, self.limits)
        except JsonError as exc:
            raise self._unreadable(exc) from None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise self.problem(f"it is not UTF-8 text ({clip_text(exc, 80)})", line=line) from None

    def text_lines(self) -> Iterator[tuple[int, str]]:
        """``(line number, text)`` of every non-blank line of a UTF-8 text file (TSV, label lists, ...),
        its size bounded by ``limits.max_bytes``; lines end at ``\\n`` (a ``\\r`` before it is dropped).

        Raises:
            FileNotFoundError: When the file does not exist.
            DataError: When it is not a regular file or too large, or naming the first line that is
                not UTF-8.
        """
        try:
            data = read_bounded(self.path, self.limits)
        except JsonError as exc:
            raise self._unreadable(exc) from None
        for number, raw in enumerate(data.split(b"\n"), start=1):
            try:
                text = raw.decode("utf-8").removesuffix("\r")
            except UnicodeDecodeError as exc:
                raise self.problem(f"it is not UTF-8 text ({clip_text(exc, 80)})", line=number) from None
            if text.strip():
                yield number, text

    def records(self) -> Iterator[DataRecord]:
        """Every line of a JSON-lines file as a :class:`DataRecord` (not an object: a DataError)."""
        for line, value in self.json_lines():
            yield DataRecord(self, value, line=line)


class DataRecord:
    """One JSON object of a data file, read field by field with the type and range checked.

    Every accessor raises the file's :class:`DataError` naming the file, the line (or record), the
    field and what was found, so a wrong type never surfaces later as a plugin's ``TypeError``.

    Args:
        file: The file the record comes from.
        value: The parsed JSON value (anything else than an object is an error naming the line).
        line: Its 1-based line (JSON lines).
        record: Where it is when there is no line, e.g. ``"annotations[17]"``.

    Example:
        >>> f = DataFile(Path("q.json"), "VQAv2 question file")
        >>> r = DataRecord(f, {"question_id": 7, "image_id": -1, "question": "why?"}, record="questions[0]")
        >>> r.integer("question_id", minimum=0), r.text("question")
        (7, 'why?')
        >>> print(r.error("-1 is below 0", "image_id"))
        VQAv2 question file q.json, record questions[0], field 'image_id': -1 is below 0.
    """

    __slots__ = ("file", "value", "line", "record")

    def __init__(
        self, file: DataFile, value: Any, *, line: int | None = None, record: str | None = None
    ) -> None:
        self.file, self.value, self.line, self.record = file, value, line, record
        if not isinstance(value, dict):
            raise self.error(f"it holds a JSON {_json_type(value)} ({clip_repr(value, 60)}), not an object")

    def error(self, problem: str, field: str | None = None) -> DataError:
        """The file's error for this record (and ``field``), to ``raise``."""
        return self.file.problem(problem, line=self.line, field=field, record=self.record)

    def has(self, field: str) -> bool:
        """Whether the record holds ``field`` (null counts as absent)."""
        return self.value.get(field) is not None

    def field(self, field: str) -> Any:
        """The raw value of a field that must be present (null counts as absent)."""
        value = self.value.get(field)
        if value is None:
            raise self.error(
                "the field is missing" if field not in self.value else "the field is null", field
            )
        return value

    def text(self, field: str, *, empty_ok: bool = False, label: str | None = None) -> str:
        """A string field: no NUL byte, non-blank unless ``empty_ok`` (``label``: how messages name it)."""
        name = label or field
        value = self.field(field) if not empty_ok or field not in self.value else self.value[field]
        if not isinstance(value, str):
            raise self.error(f"{clip_repr(value, 60)} is a {_json_type(value)}, not a string", name)
        if "\x00" in value:
            raise self.error(f"{clip_repr(value, 60)} holds a NUL character", name)
        if not empty_ok and not value.strip():
            raise self.error("the string is empty", name)
        return value

    def integer(
        self, field: str, *, minimum: int | None = None, maximum: int | None = None, digits_ok: bool = False
    ) -> int:
        """An integer field (``true`` is not one) within ``[minimum, maximum]``.

        ``digits_ok`` accepts a string of ASCII digits too (``"²"`` passes ``str.isdigit`` but is no
        number; ``str.isdecimal`` is also too wide, so only ``0-9`` count).
        """
        value = self.field(field)
        if digits_ok and isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            kind = "an integer or a string of digits 0-9" if digits_ok else "an integer"
            raise self.error(f"{clip_repr(value, 60)} is not {kind}", field)
        if minimum is not None and value < minimum:
            raise self.error(f"{clip_repr(value, 40)} is below {minimum}", field)
        if maximum is not None and value > maximum:
            raise self.error(f"{clip_repr(value, 40)} is above {maximum}", field)
        return value

    def array(self, field: str, *, length: int | None = None, of: type | None = None) -> list[Any]:
        """A list field, of ``length`` items if given, each of type ``of`` if given (never a bool)."""
        value = self.field(field)
        if not isinstance(value, list):
            raise self.error(f"{clip_repr(value, 60)} is a {_json_type(value)}, not a list", field)
        if length is not None and len(value) != length:
            raise self.error(f"it holds {len(value)} items, not {length}", field)
        if of is not None:
            for i, item in enumerate(value):
                if isinstance(item, bool) or not isinstance(item, of):
                    raise self.error(
                        f"{clip_repr(item, 60)} is a {_json_type(item)}, not a {_json_name(of)}",
                        f"{field}[{i}]",
                    )
        return value

    def name(self, field: str, *, max_length: int = 255) -> str:
        """A field naming a file or a folder (an id that becomes part of a path).

        No NUL or other control character, no ``/`` or ``\\``, not ``.`` or ``..``, at most
        ``max_length`` characters: such a value cannot lead out of the folder it is looked up in.
        """
        value = self.text(field)
        bad = next((c for c in value if c in "/\\" or not c.isprintable()), None)
        if bad is not None or value in (".", "..") or len(value) > max_length or value != value.strip():
            why = (
                f"it holds {bad!r}"
                if bad is not None
                else "it is too long"
                if len(value) > max_length
                else "it has surrounding spaces"
                if value != value.strip()
                else "it is a folder reference"
            )
            raise self.error(f"{clip_repr(value, 60)} cannot name a file ({why})", field)
        return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return {dict: "object", list: "array", str: "string", int: "integer", float: "number"}.get(
        type(value), "value"
    )


def _json_name(kind: type) -> str:
    return {dict: "object", list: "array", str: "string", int: "integer", float: "number"}.get(
        kind, kind.__name__
    )


# --------------------------------------------------------------------------- caching
_CACHE: OrderedDict[Hashable, Any] = OrderedDict()
#: How many parsed files :func:`read_cached` keeps (the least recently used goes first).
CACHE_SIZE = 16


def read_cached(path: Path, parse: Callable[[Path], T], *, key: Hashable = ()) -> T:
    """``parse(path)``, kept while the file is unchanged: one parse per file per process.

    The cache key is the file's path, size, modification time and inode, ``parse`` itself and
    ``key`` (anything else the result depends on, e.g. an option). Return something immutable from
    ``parse`` (a tuple of frozen records): every caller gets the same object. Errors are not cached.

    Args:
        path: The file.
        parse: Reads it (typically with :class:`DataFile`) into the task's records.
        key: What else the result depends on.

    Returns:
        What ``parse`` returned for the file as it is now.

    Raises:
        FileNotFoundError: When the file does not exist (before ``parse`` runs).
    """
    info = os.stat(path)
    cache_key = (os.fspath(path), info.st_size, info.st_mtime_ns, info.st_ino, parse, key)
    if cache_key in _CACHE:
        _CACHE.move_to_end(cache_key)
        return _CACHE[cache_key]  # type: ignore[no-any-return]
    value = parse(path)
    _CACHE[cache_key] = value
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return value


# --------------------------------------------------------------------------- splits
def held_out_groups(
    groups: Iterable[Hashable],
    fraction: float,
    seed: int | str,
    *,
    too_few: Callable[[str], Exception] = ValueError,
) -> frozenset[Any]:
    """A seeded random ``fraction`` of the distinct groups (at least one, never all): a validation
    split carved out of a training split by image or movie, so that no group is in both.

    The groups are sorted, shuffled with ``random.Random(seed)`` and the first
    ``min(n - 1, max(1, round(fraction * n)))`` kept: a function of the set of groups and the seed.

    Args:
        groups: One group per example (repeats are fine), e.g. image ids.
        fraction: The share held out, in (0, 1).
        seed: Seeds ``random.Random``.
        too_few: Builds the error for fewer than two groups from a phrase such as ``"1 group(s)"``
            (a task's DataError saying which data is too small).

    Returns:
        The held-out groups.

    Raises:
        Exception: ``too_few(...)`` when there are fewer than two groups (a ``ValueError`` by default).

    Example:
        >>> held = held_out_groups([1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.2, seed=2022)
        >>> len(held), held <= set(range(1, 11))
        (2, True)
    """
    distinct = sorted(set(groups))  # type: ignore[type-var]  # the groups a task gives are comparable (ids, names)
    if len(distinct) < 2:
        raise too_few(f"{len(distinct)} group(s): at least 2 are needed to hold some out")
    n_held = min(len(distinct) - 1, max(1, round(fraction * len(distinct))))
    random.Random(seed).shuffle(distinct)
    return frozenset(distinct[:n_held])
