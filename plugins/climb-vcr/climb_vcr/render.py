"""Rendering VCR's token lists as text (standard library only).

In VCR 1.0 a question or an answer is a list of tokens; a token is a word or punctuation string,
or an object reference: a LIST of integer indices into the record's ``objects`` (class names such
as ``"person"``, ``"car"``), e.g. ``["What", "is", [0, 2], "doing", "?"]``.

As in CLiMB, a person is rendered as a gender-neutral name chosen by the object's index in
``objects`` (:data:`GENDER_NEUTRAL_NAMES`, CLiMB's list, cycled when there are more objects), and any
other object as ``"the gray {class}"``. Unlike CLiMB, which kept only the *last* object of a
multi-object reference, every object is kept and joined with "and": ``[0, 2]`` -> "Casey and
Jessie", three -> "Casey, Riley and Jessie". Words are joined with spaces, except that
punctuation and clitics ("?", ",", "'s", "n't") attach to the word before them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: CLiMB's names for people (``vcr_dataset.py``), indexed by the object's index in ``objects``.
GENDER_NEUTRAL_NAMES: tuple[str, ...] = (
    "Casey", "Riley", "Jessie", "Jackie", "Avery", "Jaime", "Peyton", "Kerry", "Jody", "Kendall",
    "Skyler", "Frankie", "Pat", "Quinn", "Morgan", "Finley", "Harley", "Robbie", "Sidney", "Tommie",
    "Ashley", "Carter", "Adrian", "Clarke", "Logan", "Mickey", "Nicky", "Parker", "Tyler",
    "Reese", "Charlie", "Austin", "Denver", "Emerson", "Tatum", "Dallas", "Haven", "Jordan",
    "Robin", "Rory", "Bellamy", "Salem", "Sutton", "Gray", "Shae", "Kyle", "Alex", "Ryan",
    "Cameron", "Dakota",
)

_ATTACH_LEFT = frozenset({".", ",", "?", "!", ";", ":", ")", "]", "}", "%", "...", "'", "''"})
_CLITICS = ("'s", "'re", "'ll", "'ve", "'m", "'d", "n't", "'")
_ATTACH_RIGHT = frozenset({"(", "[", "{", "$", "``"})


class RenderError(ValueError):
    """A token list that cannot be rendered; ``problem`` says why (the reader adds file and line)."""


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Names:
    """The text of each object of one record, computed once per object (linear in the objects).

    With ``distinguish_repeated``, a non-person class occurring more than once is numbered by the
    object's rank among that class, counted once for the record (not per reference, which made a
    record with many references to many objects quadratic).
    """

    def __init__(self, objects: Sequence[str], distinguish_repeated: bool) -> None:
        self.objects = objects
        self.labels = [str(o).strip() for o in objects]
        self.rank: list[int] = []
        self.count: dict[str, int] = {}
        if distinguish_repeated:
            for label in self.labels:
                self.count[label] = self.count.get(label, 0) + 1
                self.rank.append(self.count[label])
        self.cache: dict[int, str] = {}

    def name(self, index: Any) -> str:
        if type(index) is int:  # not a bool: True would find 1's text
            text = self.cache.get(index)
            if text is not None:
                return text
        if not _is_index(index) or not 0 <= index < len(self.labels):
            raise RenderError(f"object reference {index!r:.40} is not an index into the {len(self.labels)} "
                              "objects")
        text = self.cache.get(index)
        if text is None:
            label = self.labels[index]
            if label == "person":
                text = GENDER_NEUTRAL_NAMES[index % len(GENDER_NEUTRAL_NAMES)]
            else:
                text = f"the gray {label}"
                if self.rank and self.count[label] > 1:
                    text += f" {self.rank[index]}"
            self.cache[index] = text
        return text

    def reference(self, reference: Any) -> str:
        if type(reference) is list:
            if len(reference) == 1:  # the common case: one object
                return self.name(reference[0])
            indices = reference
        else:
            indices = [reference] if _is_index(reference) else reference
        if not isinstance(indices, list) or not indices:
            raise RenderError(f"object reference {reference!r:.60} is not a non-empty list of object indices")
        return join_and([self.name(i) for i in indices])


def object_name(index: int, objects: Sequence[str], *, distinguish_repeated: bool = False) -> str:
    """The text of one object: a name for a person, ``"the gray {class}"`` for anything else.

    Args:
        index: The object's index in ``objects``.
        objects: The record's class names.
        distinguish_repeated: Number a non-person class that occurs more than once by its order among
            that class ("the gray chair 2"); CLiMB did not.

    Raises:
        RenderError: When the index is not in ``objects``.
    """
    return _Names(objects, distinguish_repeated).name(index)


def join_and(parts: Sequence[str]) -> str:
    """``["A"]`` -> "A", ``["A", "B"]`` -> "A and B", ``["A", "B", "C"]`` -> "A, B and C"."""
    if len(parts) <= 2:
        return " and ".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def reference_text(reference: Any, objects: Sequence[str], *, distinguish_repeated: bool = False) -> str:
    """The text of one object reference (a list of indices; a bare int is accepted too)."""
    return _Names(objects, distinguish_repeated).reference(reference)


def detokenize(words: Sequence[str]) -> str:
    """Join words with spaces, attaching punctuation and clitics ("?", ",", "'s", "n't") to the word
    before them (linear)."""
    out: list[str] = []
    append = out.append
    glue_next = False
    left, right, clitics = _ATTACH_LEFT, _ATTACH_RIGHT, _CLITICS
    for word in words:
        if not word:
            continue
        clitic = word[0] in "'nN" and word.lower().startswith(clitics)
        if out and not glue_next and word not in left and not clitic:
            append(" ")
        append(word)
        glue_next = word in right
    return "".join(out)


def render(tokens: Any, objects: Sequence[str], *, distinguish_repeated: bool = False,
           names: _Names | None = None) -> str:
    """A VCR token list as one string, in time linear in the tokens and the objects.

    Args:
        tokens: The question or an answer: strings and object references.
        objects: The record's ``objects``.
        distinguish_repeated: See :func:`object_name`.
        names: The record's object texts, to share between its question and answers (built when None).

    Returns:
        E.g. ``"What is Casey and Jessie doing?"`` for ``["What", "is", [0, 2], "doing", "?"]`` with
        objects ``["person", "car", "person"]``.

    Raises:
        RenderError: For something that is neither a string nor a reference, or a bad index.

    >>> render(["Why", "is", [0], "smiling", "at", [1, 2], "?"], ["person", "person", "dog"])
    'Why is Casey smiling at Riley and the gray dog?'
    """
    if not isinstance(tokens, list):
        raise RenderError(f"it is a {type(tokens).__name__}, not a list of tokens")
    names = names if names is not None else _Names(objects, distinguish_repeated)
    words: list[str] = []
    append, reference = words.append, names.reference
    for position, token in enumerate(tokens):
        if type(token) is str:
            append(token.strip())
            continue
        try:
            append(reference(token))
        except RenderError as exc:
            raise RenderError(f"token {position}: {exc}") from None
    return detokenize(words)
