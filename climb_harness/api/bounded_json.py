"""Bounded JSON: parse JSON text, JSON files and JSON-lines files with limits, never recursing out.

Python's :mod:`json` parses nesting by recursion, so ``"[" * 100_000`` raises ``RecursionError``
(or worse) in whatever read it; it turns ``1e400`` into ``inf``, accepts ``NaN`` and ``Infinity``,
keeps the last of two equal keys silently, and reads a file of any size. Every read here first
checks the bytes against :class:`JsonLimits`, in time linear in their size and without recursion,
and only then hands them to :mod:`json`:

* **size**: a file larger than ``max_bytes`` is refused before it is read (and a JSON-lines line
  longer than ``max_line_bytes``);
* **depth**: the nesting depth is bounded before parsing. Escaped backslashes and quotes are
  removed, the text is split at the quotes that remain (every other piece is outside strings), the
  brackets outside strings are kept and reduced pair by pair (``bytes.replace`` of ``[]`` and
  ``{}``: one pass removes one or two levels, so ``p`` passes to empty bound the depth by ``2p``);
  only when that does not settle it, an exact count (a running sum of +1/-1 over the brackets, its
  largest rise above an earlier low) runs, and a scan in Python locates the first place deeper
  than the limit for the message. All of it is C-level string work, linear in the size. For JSON
  lines, a line with an odd number of quotes (not JSON) would shift the parity of the lines after
  it, so such a block is checked token by token, each line from depth 0 (JSON strings hold no raw
  newline);
* **numbers**: a run of more than ``max_number_digits`` digits is refused (Python would spend
  quadratic time converting it, or refuse beyond 4,300 digits with a confusing message), and a
  float whose exponent overflows to infinity too;
* ``NaN``, ``Infinity`` and ``-Infinity`` are refused unless ``allow_nan``; a key given twice in
  one object is refused unless ``duplicate_keys="last"``; the text must be UTF-8 (a byte-order mark
  at the start is ignored).

Errors are :class:`JsonError`, a plain ``ValueError`` whose message names the source (the file),
the line and column and shows a short excerpt; the core catches it where it reads its own files,
and :mod:`climb_harness.api._datakit` turns it into a ``DataError`` for task plugins.

Measured (``tests/test_bounded_json.py``, slow marker) on a busy 2-core machine: a 101 MB single-line
JSON-lines record (9.6 million tokens and 2.7 million float triples) took 11.3 s to check and parse,
against 6.3 s for :func:`json.loads` alone; the checks are C-level string passes, linear in the size.
"""

from __future__ import annotations

import dataclasses
import json
import operator
import os
import re
import stat
from collections.abc import Iterator
from itertools import accumulate, tee
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "DEFAULT_LIMITS",
    "JsonError",
    "JsonLimits",
    "iter_lines",
    "load",
    "loads",
    "nesting_depth_ok",
    "read_bounded",
]


@dataclasses.dataclass(frozen=True)
class JsonLimits:
    """What a bounded read accepts.

    Attributes:
        max_bytes: The largest file (or text, in UTF-8 bytes) read at all.
        max_depth: The deepest nesting of arrays and objects (``[[1]]`` is 2 deep).
        max_number_digits: The longest run of digits in one number.
        allow_nan: Accept ``NaN``, ``Infinity`` and ``-Infinity`` (as floats).
        duplicate_keys: ``"error"`` refuses an object naming a key twice; ``"last"`` keeps the last
            value, as :mod:`json` does.
        max_line_bytes: For JSON lines, the longest line (``None``: only ``max_bytes`` bounds it).
    """

    max_bytes: int = 64 * 2**20
    max_depth: int = 64
    max_number_digits: int = 100
    allow_nan: bool = False
    duplicate_keys: Literal["error", "last"] = "error"
    max_line_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.max_depth < 1 or self.max_bytes < 0 or self.max_number_digits < 1:
            raise ValueError(
                f"JsonLimits needs max_depth >= 1, max_bytes >= 0, max_number_digits >= 1: {self}"
            )


#: The limits of the core's own files (results, caches, cell files): 64 MiB, depth 64.
DEFAULT_LIMITS = JsonLimits()


class JsonError(ValueError):
    """Text that is not JSON within the limits; the message names the source, line and column.

    Attributes:
        source: What was read (a file path, or a description such as ``"<string>"``).
        problem: What is wrong, without the place.
        line: The 1-based line of the problem, when known.
        column: The 1-based column (in bytes), when known.
        excerpt: A short, printable piece of the text around the problem ("" when none).
    """

    def __init__(
        self,
        source: str,
        problem: str,
        *,
        line: int | None = None,
        column: int | None = None,
        excerpt: str = "",
    ) -> None:
        self.source, self.problem, self.line, self.column, self.excerpt = (
            source,
            problem,
            line,
            column,
            excerpt,
        )
        super().__init__(self.describe())

    @property
    def where(self) -> str:
        """``"<source>, line L, column C"`` (as much of it as is known)."""
        out = self.source
        if self.line is not None:
            out += f", line {self.line}"
            if self.column is not None:
                out += f", column {self.column}"
        return out

    def describe(self) -> str:
        """The one-line message: where, what, and the excerpt."""
        near = f" (near: {self.excerpt})" if self.excerpt else ""
        return f"{self.where}: {self.problem}{near}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.source, self.problem, self.line, self.column, self.excerpt))


def _rebuild(source: str, problem: str, line: int | None, column: int | None, excerpt: str) -> JsonError:
    return JsonError(source, problem, line=line, column=column, excerpt=excerpt)


# --------------------------------------------------------------------------- the checks before parsing
_STRING = re.compile(rb'"[^"\\\n]*(?:\\[^\n][^"\\\n]*)*"')
_TOKEN = re.compile(_STRING.pattern + rb"|[\[\]{}\n]")
_NOT_BRACKET = bytes(c for c in range(256) if c not in b"[]{}")
_NOT_QUOTE_OR_NEWLINE = bytes(c for c in range(256) if c not in b'"\n')
_DELTA = tuple(1 if c in b"[{" else -1 if c in b"]}" else 0 for c in range(256))
_DIGITS = frozenset(b"0123456789")
_DIGIT_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_EXPONENT_STARTS = (b"e0", b"E0", b"e+", b"E+", b"e-", b"E-")
#: An exponent of at least 100: only a number holding one may overflow a float.
_BIG_EXPONENT = re.compile(rb"[eE][+-]?0*[1-9][0-9]{2,}")
_MANTISSA = frozenset(b"0123456789.-")
#: Text outside strings is cut into pieces of about this many bytes (bounds the memory of the split).
_CHUNK = 8 * 2**20


def _digit_run(limit: int) -> re.Pattern[bytes]:
    return re.compile(rb"[0-9]{%d,}" % (limit + 1))


def _numbers_ok(piece: bytes, max_digits: int) -> tuple[bool, bytes | None]:
    """(no digit run longer than ``max_digits``, the first number overflowing a float or None) of text
    outside strings. Digits are mapped to ``0`` so both checks are substring searches; the regular
    expression runs only where an exponent appears."""
    zeros = piece.translate(_DIGIT_TO_ZERO)
    digits_ok = b"0" * (max_digits + 1) not in zeros
    exponent = any(start in zeros for start in _EXPONENT_STARTS)
    return digits_ok, _overflowing(piece) if exponent else None


def _unescape(data: bytes) -> bytes:
    """``data`` without escaped backslashes and escaped quotes: every quote left delimits a string.

    A backslash escapes exactly one character, so the backslashes of a run pair up from the left;
    ``bytes.replace`` removes such pairs left to right, then the escaped quotes.
    """
    return data.replace(b"\\\\", b"").replace(b'\\"', b"")


def _outside_strings(unescaped: bytes) -> Iterator[bytes]:
    """The text outside strings of :func:`_unescape`'s output, in pieces (quotes alternate in and out).

    Pieces end where no digit run is cut, so a number is never split between two pieces.
    """
    inside, start, size = False, 0, len(unescaped)
    while start < size:
        end = min(size, start + _CHUNK)
        while end < size and unescaped[end - 1] in _DIGITS:
            end += 1
        parts = unescaped[start:end].split(b'"')
        yield b"".join(parts[1::2] if inside else parts[::2])
        inside ^= len(parts) % 2 == 0  # an odd number of quotes: the next piece starts on the other side
        start = end


def nesting_depth_ok(data: bytes, max_depth: int) -> bool:
    """Whether no part of ``data`` nests arrays/objects deeper than ``max_depth``, in linear time.

    Sound (``True`` only when true) for one document; for JSON lines, only when every line holds an
    even number of unescaped quotes (:func:`_check` makes sure). Brackets inside strings are left out.

    Args:
        data: JSON text as UTF-8 bytes.
        max_depth: The deepest nesting allowed.

    Returns:
        ``True`` when the brackets outside strings form a forest at most ``max_depth`` deep (so
        every contiguous piece of it, a line included, is at most that deep).

    Example:
        >>> nesting_depth_ok(b'[[1, "]]]]"], {"a": [2]}]', 3), nesting_depth_ok(b"[[[[]]]]", 3)
        (True, False)
    """
    brackets = b"".join(piece.translate(None, _NOT_BRACKET) for piece in _outside_strings(_unescape(data)))
    return _brackets_ok(brackets, max_depth)


def _brackets_ok(brackets: bytes, max_depth: int) -> bool:
    """:func:`nesting_depth_ok` of the brackets alone."""
    reduced = brackets
    for _ in range(
        max_depth // 2 + 1
    ):  # one pass removes one or two levels: empty after p passes, depth <= 2p
        if not reduced:
            return True
        shorter = reduced.replace(b"[]", b"").replace(b"{}", b"")
        if len(shorter) == len(reduced):
            break
        reduced = shorter
    # Exact: the largest rise of the running depth above an earlier low bounds every piece's depth.
    running, lows = tee(accumulate(map(_DELTA.__getitem__, brackets), initial=0))
    return bool(max(map(operator.sub, running, accumulate(lows, min))) <= max_depth)


def _first_too_deep(data: bytes, max_depth: int, per_line: bool) -> int | None:
    """The offset of the first bracket nested deeper than ``max_depth`` (``None``: none is), strings
    skipped; with ``per_line`` every line starts at depth 0. Linear, in Python: only for text the
    fast checks did not settle."""
    depth = 0
    for match in _TOKEN.finditer(data):
        char = data[match.start()]
        if char in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > max_depth:
                return match.start()
        elif char in (0x5D, 0x7D):  # ] }
            depth = max(0, depth - 1)
        elif char == 0x0A and per_line:
            depth = 0
    return None


def _first_outside_strings(data: bytes, token: re.Pattern[bytes]) -> int | None:
    """The offset of the first match of ``token`` outside JSON strings (linear; error paths only)."""
    either = re.compile(_STRING.pattern + b"|" + token.pattern)
    for match in either.finditer(data):
        if data[match.start()] != 0x22:  # not a string
            return match.start()
    return None


def _overflowing(text: bytes) -> bytes | None:
    """The first number of ``text`` (outside strings) that a float cannot hold, if any."""
    for match in _BIG_EXPONENT.finditer(text):
        start = match.start()
        while start > 0 and text[start - 1] in _MANTISSA:
            start -= 1
        number = text[start : match.end()]
        try:
            if abs(float(number)) == float("inf"):
                return number
        except ValueError:
            continue  # not a number (the parser says why)
    return None


def _check(data: bytes, source: str, limits: JsonLimits, first_line: int, per_line: bool) -> None:
    """Depth and number checks on UTF-8 bytes (one document, or a block of whole lines).

    The fast path cuts the strings out by quote parity. For JSON lines that holds only when every
    line has an even number of unescaped quotes; a block with an odd line (which is not JSON) is
    checked token by token instead, each line on its own.
    """
    long_digits = _digit_run(limits.max_number_digits)
    unescaped = _unescape(data)
    exact = per_line and b'"' in unescaped.translate(None, _NOT_QUOTE_OR_NEWLINE).replace(b'""', b"")
    depth_ok = digits_ok = True
    overflow = None
    if not exact:
        brackets = []
        for piece in _outside_strings(unescaped):
            brackets.append(piece.translate(None, _NOT_BRACKET))
            piece_digits_ok, piece_overflow = _numbers_ok(piece, limits.max_number_digits)
            digits_ok, overflow = digits_ok and piece_digits_ok, overflow or piece_overflow
        depth_ok = _brackets_ok(b"".join(brackets), limits.max_depth)
    if exact or not depth_ok:
        offset = _first_too_deep(data, limits.max_depth, per_line)
        if offset is not None:
            raise _error(
                source, data, offset, f"it nests arrays/objects more than {limits.max_depth} deep", first_line
            )
    if exact or not digits_ok:
        offset = _first_outside_strings(data, long_digits)
        if offset is not None:
            raise _error(
                source, data, offset, f"a number has more than {limits.max_number_digits} digits", first_line
            )
    if exact:
        overflow = _overflowing(b"\n".join(_STRING.sub(b"", line) for line in data.split(b"\n")))
    if overflow is not None:
        offset = _first_outside_strings(data, re.compile(re.escape(overflow) + rb"(?![0-9])"))
        raise _error(
            source,
            data,
            offset,
            f"the number {overflow.decode()[:40]} is too large for a float (it would be infinity)",
            first_line,
        )


# --------------------------------------------------------------------------- places and excerpts
def _excerpt(data: bytes, offset: int, width: int = 30) -> str:
    """A printable piece of ``data`` around ``offset``: at most ``2 * width`` characters, escaped."""
    start, end = max(0, offset - width), min(len(data), offset + width)
    text = data[start:end].decode("utf-8", errors="replace")
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return ("…" if start else "") + text + ("…" if end < len(data) else "")


def _place(data: bytes, offset: int, first_line: int) -> tuple[int, int]:
    """(line, column), 1-based, of a byte offset; ``first_line`` is the number of the first line."""
    line = first_line + data.count(b"\n", 0, offset)
    return line, offset - (data.rfind(b"\n", 0, offset) + 1) + 1


def _error(source: str, data: bytes, offset: int | None, problem: str, first_line: int) -> JsonError:
    if offset is None:
        return JsonError(source, problem)
    line, column = _place(data, offset, first_line)
    return JsonError(source, problem, line=line, column=column, excerpt=_excerpt(data, offset))


# --------------------------------------------------------------------------- parsing
class _Refused(Exception):
    """Raised inside the decoder's hooks; turned into a :class:`JsonError` with its place.

    ``token`` is what to look for outside strings (a constant), or ``key`` the key given twice.
    """

    def __init__(self, problem: str, token: re.Pattern[bytes] | None = None, key: str | None = None) -> None:
        super().__init__(problem)
        self.problem, self.token, self.key = problem, token, key

    def offset(self, data: bytes) -> int | None:
        """Where in ``data`` the problem is (the second use of a duplicate key)."""
        if self.token is not None:
            return _first_outside_strings(data, self.token)
        stack: list[set[str] | None] = []  # the keys of each open object (None: an array)
        for match in _MEMBER.finditer(data):
            char = data[match.start()]
            if char in (0x7B, 0x5B):  # { [
                stack.append(set() if char == 0x7B else None)
            elif char in (0x7D, 0x5D):  # } ]
                if stack:
                    stack.pop()
            elif match.group(2) and stack and stack[-1] is not None:
                try:
                    key = json.loads(match.group(1))
                except ValueError:
                    continue
                if key == self.key and key in stack[-1]:
                    return match.start()
                stack[-1].add(key)
        return None


_MEMBER = re.compile(b"(" + _STRING.pattern + rb")(\s*:)?|[\[\]{}]")


def _refuse_constant(name: str) -> Any:
    raise _Refused(
        f"{name} is not a number JSON allows here (NaN and Infinity are refused)",
        token=re.compile(re.escape(name.encode())),
    )


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                break
            seen.add(key)
        raise _Refused(f"the key {_short(key)} appears twice in one object", key=key)
    return obj


def _short(key: str, limit: int = 60) -> str:
    text = json.dumps(key)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _decoder(limits: JsonLimits) -> json.JSONDecoder:
    return json.JSONDecoder(
        parse_constant=None if limits.allow_nan else _refuse_constant,
        object_pairs_hook=_unique_object if limits.duplicate_keys == "error" else None,
    )


def _decode_utf8(data: bytes, source: str, first_line: int) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _error(
            source,
            data,
            exc.start,
            f"it is not UTF-8 text (byte 0x{data[exc.start]:02x} cannot start or continue a UTF-8 character)",
            first_line,
        ) from None


def _parse(text: str, data: bytes, source: str, decoder: json.JSONDecoder, first_line: int) -> Any:
    try:
        return decoder.decode(text)
    except json.JSONDecodeError as exc:
        offset = len(text[: exc.pos].encode("utf-8"))
        raise _error(source, data, offset, f"it is not valid JSON ({exc.msg})", first_line) from None
    except _Refused as exc:
        raise _error(source, data, exc.offset(data), exc.problem, first_line) from None
    except (
        ValueError
    ) as exc:  # e.g. an integer longer than Python converts (max_number_digits set above 4300)
        raise JsonError(source, f"a value cannot be converted ({str(exc)[:120]})") from None
    except RecursionError:  # pragma: no cover - the depth check runs first; kept as a last guard
        raise JsonError(source, "it nests too deeply to parse") from None


def loads(
    text: str | bytes, *, source: str = "<string>", limits: JsonLimits = DEFAULT_LIMITS, first_line: int = 1
) -> Any:
    """Parse one JSON document within ``limits``.

    Args:
        text: The document (``bytes`` must be UTF-8; a leading byte-order mark is ignored).
        source: What the text is, for messages (e.g. the file path).
        limits: The limits (:data:`DEFAULT_LIMITS`: 64 MiB, depth 64, 100-digit numbers, no NaN, no
            duplicate keys).
        first_line: The line number of the text's first line, for messages.

    Returns:
        The value, as :func:`json.loads` gives it.

    Raises:
        JsonError: When the text is too large, too deep, not UTF-8, not JSON, or breaks a limit.

    Example:
        >>> loads('{"a": [1, 2.5, "x"]}')
        {'a': [1, 2.5, 'x']}
        >>> try:
        ...     loads("[" * 100_000 + "]" * 100_000, source="deep.json")
        ... except JsonError as error:
        ...     print(error.where, "-", error.problem)
        deep.json, line 1, column 65 - it nests arrays/objects more than 64 deep
    """
    data = text.encode("utf-8", errors="surrogatepass") if isinstance(text, str) else bytes(text)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if len(data) > limits.max_bytes:
        raise JsonError(source, f"it is {len(data):,} bytes, more than the {limits.max_bytes:,} read at most")
    _check(data, source, limits, first_line, per_line=False)
    return _parse(_decode_utf8(data, source, first_line), data, source, _decoder(limits), first_line)


def read_bounded(path: Path, limits: JsonLimits) -> bytes:
    """The file's bytes, refusing what is not a regular file or is larger than ``max_bytes``.

    Raises:
        FileNotFoundError: When the file does not exist.
        JsonError: When it is not a regular file, cannot be read or is too large.
    """
    source = str(path)
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise FileNotFoundError(exc.errno, exc.strerror, str(path)) from None
    except OSError as exc:
        raise JsonError(source, f"it cannot be read ({type(exc).__name__}: {exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        raise JsonError(source, "it is not a regular file (a folder, a device or a pipe)")
    if info.st_size > limits.max_bytes:
        raise JsonError(
            source, f"it is {info.st_size:,} bytes, more than the {limits.max_bytes:,} read at most"
        )
    try:
        with open(path, "rb") as file:
            data = file.read(limits.max_bytes + 1)
    except OSError as exc:
        raise JsonError(source, f"it cannot be read ({type(exc).__name__}: {exc.strerror or exc})") from None
    if len(data) > limits.max_bytes:
        raise JsonError(source, f"it is more than the {limits.max_bytes:,} bytes read at most (it grew)")
    return data


def load(path: str | os.PathLike[str], *, limits: JsonLimits = DEFAULT_LIMITS) -> Any:
    """Parse a JSON file within ``limits`` (its size is checked before it is read).

    Args:
        path: The file.
        limits: The limits.

    Returns:
        The value.

    Raises:
        FileNotFoundError: When the file does not exist (left to the caller, who knows the fix).
        JsonError: Anything else: not a regular file, too large, not UTF-8, not JSON, a limit broken.
    """
    path = Path(path)
    return loads(read_bounded(path, limits), source=str(path), limits=limits)


#: JSON lines are checked and decoded in blocks of about this many bytes (whole lines each).
_BLOCK = 8 * 2**20


def iter_lines(
    path: str | os.PathLike[str], *, limits: JsonLimits = DEFAULT_LIMITS
) -> Iterator[tuple[int, Any]]:
    """The values of a JSON-lines file, one per non-blank line, within ``limits``.

    The file is read at once (bounded by ``max_bytes``); checks run over blocks of whole lines, so
    a file of short lines costs one depth check per block, not per line.

    Args:
        path: The file.
        limits: The limits; ``max_line_bytes`` bounds each line, ``max_depth`` each line's nesting.

    Yields:
        ``(line number, value)``, 1-based, blank lines skipped.

    Raises:
        FileNotFoundError: When the file does not exist.
        JsonError: Naming the line, for the first line that breaks a limit or is not JSON.
    """
    path = Path(path)
    source = str(path)
    data = read_bounded(path, limits)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    decoder = _decoder(limits)
    start, line = 0, 1
    while start < len(data):
        end = data.find(b"\n", min(len(data), start + _BLOCK))
        end = len(data) if end < 0 else end + 1
        block = data[start:end]
        if limits.max_line_bytes is not None:
            _check_line_lengths(block, source, limits.max_line_bytes, line)
        _check(block, source, limits, line, per_line=True)
        text = _decode_utf8(block, source, line)
        for number, (raw, row) in enumerate(zip(block.split(b"\n"), text.split("\n")), start=line):
            if row.strip():
                yield number, _parse(row, raw, source, decoder, number)
        line += block.count(b"\n")
        start = end


def _check_line_lengths(block: bytes, source: str, limit: int, first_line: int) -> None:
    position = 0
    while position < len(block):
        end = block.find(b"\n", position)
        end = len(block) if end < 0 else end
        if end - position > limit:
            line = first_line + block.count(b"\n", 0, position)
            raise JsonError(
                source,
                f"the line is {end - position:,} bytes, more than the {limit:,} a line may hold",
                line=line,
            )
        position = end + 1
