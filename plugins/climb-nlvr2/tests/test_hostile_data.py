"""Hostile NLVR2 data and the release as it clones: every bad line is a DataError naming the file, the
line and the field; nothing leads out of the image folders; the lil-lab repository's own layout reads
to the same examples as CLiMB's."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from climb_nlvr2.data import CorruptDataError

from climb_harness.api import DataError, MissingDataError, UnreadableImageError, load_image


def _rewrite_line(path: Path, number: int, change) -> None:
    lines = path.read_text().splitlines()
    row = json.loads(lines[number - 1])
    change(row)
    lines[number - 1] = json.dumps(row)
    path.write_text("\n".join(lines) + "\n")


def _error(task, split: str = "train") -> str:
    with pytest.raises(CorruptDataError) as info:
        task.examples(split)
    message = str(info.value)
    assert isinstance(info.value, DataError) and "\n" not in message and "data_dir" in message
    return message


@pytest.mark.parametrize(
    ("directory", "problem"),
    [
        ("²", "not an integer or a string of digits 0-9"),  # str.isdigit() is True, int() raises
        ("٣", "not an integer or a string of digits 0-9"),  # int() would give 3
        (10**30, "is above 99"),
        (-1, "is below 0"),
        (2.5, "not an integer"),
    ],
)
def test_bad_directory_names_file_line_and_field(make_task, tiny_root, directory, problem):
    path = tiny_root / "train.json"
    _rewrite_line(path, 2, lambda row: row.update(directory=directory))
    message = _error(make_task(data_dir=str(tiny_root)))
    assert f"{path}, line 2, field 'directory': " in message and problem in message, message


@pytest.mark.parametrize("identifier", ["../../../x-0", "dev/../../x-0", "a\x00b-0", "..-0/.."])
def test_identifier_that_could_leave_the_image_folder_is_refused(make_task, tiny_root, identifier):
    path = tiny_root / "dev.json"
    _rewrite_line(path, 1, lambda row: row.update(identifier=identifier))
    message = _error(make_task(data_dir=str(tiny_root)), "val")
    assert f"{path}, line 1, field 'identifier'" in message, message
    assert "cannot name a file" in message or "holds a NUL character" in message, message


def test_deep_line_is_one_error_naming_the_line(make_task, tiny_root):
    path = tiny_root / "test1.json"
    lines = path.read_text().splitlines()
    lines[1] = '{"identifier": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path.write_text("\n".join(lines) + "\n")
    assert f"{path}, line 2: it nests arrays/objects more than 64 deep" in _error(
        make_task(data_dir=str(tiny_root)), "test"
    )


def test_image_linked_outside_its_folder_is_refused_unless_allowed(make_task, tiny_root, tmp_path):
    image = tiny_root / "dev" / "dev-850-0-img1.png"
    outside = tmp_path / "elsewhere.png"
    image.rename(outside)
    image.symlink_to(outside)
    with pytest.raises(DataError) as info:
        make_task(data_dir=str(tiny_root)).examples("val")
    assert str(outside) in str(info.value) and "allow_symlinks_out: true" in str(info.value)
    assert "identifier 'dev-850-0-0'" in str(info.value)
    assert len(make_task(data_dir=str(tiny_root), allow_symlinks_out=True).examples("val")) == 4


def test_numbered_train_folder_linked_outside_is_refused(make_task, tiny_root, tmp_path):
    folder = tiny_root / "images" / "train" / "3"
    folder.rename(tmp_path / "3")
    folder.symlink_to(tmp_path / "3")
    with pytest.raises(DataError, match="outside the folder"):
        make_task(data_dir=str(tiny_root)).examples("train")


def test_huge_image_is_refused_before_decoding(make_task, tiny_root):
    from PIL import Image

    image = tiny_root / "test1" / "test1-0-1-img0.png"
    Image.new("1", (12_000, 12_000)).save(image)
    path = next(
        e.images[0] for e in make_task(data_dir=str(tiny_root)).examples("test") if e.images[0] == str(image)
    )
    with pytest.raises(
        UnreadableImageError, match=r"12000 x 12000 = 144,000,000 pixels, more than the 40,000,000"
    ):
        load_image(path)


def _portable(examples, root: Path):
    return [
        (e.id, e.text, e.target, tuple(str(Path(p).relative_to(root)) for p in e.images)) for e in examples
    ]


@pytest.mark.parametrize("place", ["data", "nlvr2/data"])
def test_annotations_as_the_repository_holds_them_read_to_the_same_examples(
    make_task, tiny_root, tmp_path, place
):
    """``data_dir`` at a clone's nlvr2/ (data/train.json) or at the clone itself (nlvr2/data/train.json)."""
    expected = {
        s: _portable(make_task(data_dir=str(tiny_root)).examples(s), tiny_root)
        for s in ("train", "val", "test")
    }
    clone = tmp_path / "clone"
    shutil.copytree(tiny_root, clone)
    (clone / place).mkdir(parents=True)
    for name in ("train.json", "dev.json", "test1.json"):
        (clone / name).rename(clone / place / name)
    task = make_task(data_dir=str(clone))
    assert {s: _portable(task.examples(s), clone) for s in ("train", "val", "test")} == expected
    assert all(p.exists() for p in task.required_paths())
    assert task.required_paths()[0] == clone / place / "train.json"


def test_data_folder_one_level_too_high_says_the_fix(make_task, tiny_root):
    with pytest.raises(MissingDataError) as info:
        make_task(data_dir=str(tiny_root.parent)).examples("val")
    assert f"is one level too high: {tiny_root} holds 6 of the 6" in str(info.value)
    assert f"Fix: set the task option data_dir to {tiny_root}." in str(info.value)
