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
    if not _is_index(index) or not 0 <= index < len(objects):
        raise RenderError(f"object reference {index!r} is not an index into the {len(objects)} objects")
    label = str(objects[index]).strip()
    if label == "person":
        return GENDER_NEUTRAL_NAMES[index % len(GENDER_NEUTRAL_NAMES)]
    text = f"the gray {label}"
    if distinguish_repeated:
        same = [i for i, other in enumerate(objects) if str(other).strip() == label]
        if len(same) > 1:
            text += f" {same.index(index) + 1}"
    return text


def join_and(parts: Sequence[str]) -> str:
    """``["A"]`` -> "A", ``["A", "B"]`` -> "A and B", ``["A", "B", "C"]`` -> "A, B and C"."""
    if len(parts) <= 2:
        return " and ".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def reference_text(reference: Any, objects: Sequence[str], *, distinguish_repeated: bool = False) -> str:
    """The text of one object reference (a list of indices; a bare int is accepted too)."""
    indices = [reference] if _is_index(reference) else reference
    if not isinstance(indices, list) or not indices:
        raise RenderError(f"object reference {reference!r} is not a non-empty list of object indices")
    return join_and([object_name(i, objects, distinguish_repeated=distinguish_repeated) for i in indices])


def detokenize(words: Sequence[str]) -> str:
    """Join words with spaces, attaching punctuation and clitics to the word before them."""
    out = ""
    glue_next = False
    for word in words:
        if not word:
            continue
        attach = word in _ATTACH_LEFT or word.lower().startswith(_CLITICS)
        if out and not attach and not glue_next:
            out += " "
        out += word
        glue_next = word in _ATTACH_RIGHT
    return out


def render(tokens: Any, objects: Sequence[str], *, distinguish_repeated: bool = False) -> str:
    """A VCR token list as one string.

    Args:
        tokens: The question or an answer: strings and object references.
        objects: The record's ``objects``.
        distinguish_repeated: See :func:`object_name`.

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
    words: list[str] = []
    for position, token in enumerate(tokens):
        if isinstance(token, str):
            words.append(token.strip())
            continue
        try:
            words.append(reference_text(token, objects, distinguish_repeated=distinguish_repeated))
        except RenderError as exc:
            raise RenderError(f"token {position}: {exc}") from None
    return detokenize(words)
