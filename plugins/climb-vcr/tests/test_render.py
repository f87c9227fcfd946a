"""Rendering of VCR token lists: person names, other objects, multi-object references, punctuation."""

from __future__ import annotations

import pytest
from climb_vcr.render import GENDER_NEUTRAL_NAMES, RenderError, join_and, object_name, render

OBJECTS = ["person", "person", "car", "person", "dog", "dog"]


def test_single_person_reference_is_the_name_of_its_index():
    assert render(["Why", "is", [0], "smiling", "?"], OBJECTS) == "Why is Casey smiling?"
    assert render([[1], "runs", "."], OBJECTS) == "Riley runs."
    assert render([[3], "sits", "."], OBJECTS) == "Jackie sits."  # by object index (3), not person count


def test_non_person_object_is_the_gray_class():
    assert render(["Look", "at", [2], "!"], OBJECTS) == "Look at the gray car!"
    assert object_name(4, ["person", "p", "c", "d", " dining table "]) == "the gray dining table"


def test_two_object_reference_keeps_both():
    assert render(["What", "are", [0, 1], "doing", "?"], OBJECTS) == "What are Casey and Riley doing?"
    assert render([[0, 2], "."], OBJECTS) == "Casey and the gray car."


def test_three_object_reference_keeps_all_three():
    assert render([[0, 1, 3], "laugh", "."], OBJECTS) == "Casey, Riley and Jackie laugh."
    assert render([[2, 4, 5]], OBJECTS) == "the gray car, the gray dog and the gray dog"
    assert join_and(["A", "B", "C", "D"]) == "A, B, C and D"


def test_repeated_classes_numbered_only_when_asked():
    assert render([[4, 5]], OBJECTS, distinguish_repeated=True) == "the gray dog 1 and the gray dog 2"
    assert render([[2]], OBJECTS, distinguish_repeated=True) == "the gray car"  # a single car: no number
    assert render([[0]], OBJECTS, distinguish_repeated=True) == "Casey"  # people have names already


def test_names_cycle_past_the_list():
    many = ["person"] * (len(GENDER_NEUTRAL_NAMES) + 2)
    assert GENDER_NEUTRAL_NAMES[:14] == ("Casey", "Riley", "Jessie", "Jackie", "Avery", "Jaime", "Peyton",
                                         "Kerry", "Jody", "Kendall", "Skyler", "Frankie", "Pat", "Quinn")
    assert object_name(len(GENDER_NEUTRAL_NAMES), many) == "Casey"
    assert object_name(len(GENDER_NEUTRAL_NAMES) + 1, many) == "Riley"


def test_punctuation_and_clitics_attach_to_the_word_before():
    tokens = [[0], "'s", "car", ",", "is", "n't", "it", "(", "really", ")", "?", "Yes", ";", "no", "!"]
    assert render(tokens, OBJECTS) == "Casey's car, isn't it (really)? Yes; no!"
    assert render(["Hello", "...", "  there  ", "."], OBJECTS) == "Hello... there."


def test_bare_int_reference_is_accepted():
    assert render(["Is", 1, "ok", "?"], OBJECTS) == "Is Riley ok?"


@pytest.mark.parametrize(
    "tokens, fragment",
    [([[9]], "not an index"), ([[]], "non-empty list"), ([[True]], "not an index"), ([{"a": 1}], "non-empty list"),
     ("What?", "not a list")],
)
def test_bad_references_raise(tokens, fragment):
    with pytest.raises(RenderError, match=fragment):
        render(tokens, OBJECTS)
