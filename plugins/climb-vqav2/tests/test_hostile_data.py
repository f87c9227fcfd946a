"""Hostile VQAv2 data: every case is a DataError naming the file, the record and the field (never a
RecursionError, a plugin fault or a silently kept record); links out of the data folder and images
too large to decode are refused before anything is read from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from climb_vqav2.data import CorruptDataError

from climb_harness.api import DataError, MissingDataError, UnreadableImageError, load_image

QUESTIONS = "v2_OpenEnded_mscoco_val2014_questions.json"
ANNOTATIONS = "v2_mscoco_val2014_annotations.json"


def _edit(path: Path, key: str, change) -> None:
    data = json.loads(path.read_text())
    change(data[key])
    path.write_text(json.dumps(data))


def _error(task, split: str = "test") -> str:
    with pytest.raises(CorruptDataError) as info:
        task.examples(split)
    message = str(info.value)
    assert isinstance(info.value, DataError) and "\n" not in message and "Fix:" in message
    return message


@pytest.mark.parametrize(
    ("image_id", "problem"),
    [
        (-1, "-1 is below 0"),
        (10**12, "is above 999999999999"),
        ("7", "not an integer"),
        (True, "not an integer"),
    ],
)
def test_bad_image_id_names_file_record_and_field(make_task, tiny_root, image_id, problem):
    path = tiny_root / QUESTIONS
    _edit(path, "questions", lambda qs: qs[2].update(image_id=image_id))
    message = _error(make_task(data_dir=str(tiny_root)))
    assert f"{path}, record questions[2], field 'image_id': " in message and problem in message, message


@pytest.mark.parametrize("name", [QUESTIONS, ANNOTATIONS])
def test_duplicate_question_id_is_refused_not_kept_twice(make_task, tiny_root, name):
    key = "questions" if name == QUESTIONS else "annotations"
    path = tiny_root / name
    _edit(path, key, lambda rows: rows.append(dict(rows[4])))
    message = _error(make_task(data_dir=str(tiny_root)))
    assert f"record {key}[{len(json.loads(path.read_text())[key]) - 1}], field 'question_id'" in message
    assert "used again (first by record " + f"{key}[4])" in message, message


def test_deep_nesting_names_the_file_instead_of_a_recursion_error(make_task, tiny_root):
    path = tiny_root / QUESTIONS
    path.write_text('{"questions": ' + "[" * 100_000 + "]" * 100_000 + "}")
    message = _error(make_task(data_dir=str(tiny_root)))
    assert f"{path}, line 1: it nests arrays/objects more than 64 deep" in message


def test_bytes_that_are_not_utf8_name_the_file_and_line(make_task, tiny_root):
    path = tiny_root / ANNOTATIONS
    path.write_bytes(path.read_bytes().replace(b'"Two"', b'"Tw\xff"', 1))
    assert f"{path}, line 1: it is not UTF-8" in _error(make_task(data_dir=str(tiny_root)))


def test_nan_and_nul_are_refused(make_task, tiny_root):
    path = tiny_root / QUESTIONS
    path.write_text(path.read_text().replace('"image_id": 1001', '"image_id": NaN', 1))
    assert "NaN is not a number JSON allows" in _error(make_task(data_dir=str(tiny_root)))
    path.write_text(
        path.read_text().replace("NaN", "1001").replace('"question 0 about 1001?"', '"q\\u0000"', 1)
    )
    assert "field 'question'" in _error(make_task(data_dir=str(tiny_root))) and "NUL" in _error(
        make_task(data_dir=str(tiny_root))
    )


def test_image_linked_outside_the_data_folder_is_refused_unless_allowed(make_task, tiny_root, tmp_path):
    image = tiny_root / "val2014" / "COCO_val2014_000000001002.jpg"
    outside = tmp_path / "elsewhere.jpg"
    image.rename(outside)
    image.symlink_to(outside)
    with pytest.raises(DataError) as info:
        make_task(data_dir=str(tiny_root)).examples("test")
    message = str(info.value)
    assert str(image) in message and str(outside) in message and "allow_symlinks_out: true" in message
    examples = make_task(data_dir=str(tiny_root), allow_symlinks_out=True).examples("test")
    assert str(image) in {e.images[0] for e in examples}


def test_linked_image_folder_is_its_own_boundary(make_task, tiny_root, tmp_path):
    """A shared COCO copy linked in as train2014/ is the folder the layout names: allowed."""
    shared = tmp_path / "coco" / "val2014"
    shared.parent.mkdir()
    (tiny_root / "val2014").rename(shared)
    (tiny_root / "val2014").symlink_to(shared)
    assert len(make_task(data_dir=str(tiny_root)).examples("test")) == 12


def test_huge_image_is_refused_from_its_header_naming_the_option(make_task, tiny_root, monkeypatch):
    from PIL import Image, ImageFile

    image = tiny_root / "val2014" / "COCO_val2014_000000001001.jpg"
    image.unlink()
    Image.new("1", (12_000, 12_000)).save(image, format="PNG")  # 144 megapixels, a few kB on disk
    examples = make_task(data_dir=str(tiny_root)).examples("test")
    path = next(e.images[0] for e in examples if e.images[0] == str(image))
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(1))
    with pytest.raises(UnreadableImageError) as info:
        load_image(path)
    assert (
        "more than the 4,000,000" in str(info.value) and "max_image_pixels" in str(info.value) and not decoded
    )
    raised = make_task(data_dir=str(tiny_root), max_image_pixels=200_000_000).examples("test")
    assert {e.images[0].max_pixels for e in raised} == {200_000_000}


def test_data_folder_one_level_too_high_says_the_fix(make_task, tiny_root):
    with pytest.raises(MissingDataError) as info:
        make_task(data_dir=str(tiny_root.parent)).examples("test")
    assert f"is one level too high: {tiny_root} holds 6 of the 6" in str(info.value)
    assert f"Fix: set the task option data_dir to {tiny_root}." in str(info.value)


def test_guard_options_leave_the_fingerprint_alone(make_task, tiny_root):
    base = make_task(data_dir=str(tiny_root)).fingerprint()
    assert (
        make_task(data_dir=str(tiny_root), max_image_pixels=5, allow_symlinks_out=True).fingerprint() == base
    )
