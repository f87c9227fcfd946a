"""Hostile VCR data and the release as it unpacks: bytes that are not UTF-8, deep or huge lines, paths
out of vcr1images/ and huge images are refused naming the file, the line and the field; reading is
linear in a line's size; vcr1annots.zip unpacked flat reads to the same examples as CLiMB's layout."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import pytest
from climb_vcr.data import VcrDataError

from climb_harness.api import DataError, MissingDataError, UnreadableImageError, load_image


def _error(task, split: str = "test") -> str:
    with pytest.raises(VcrDataError) as info:
        task.examples(split)
    message = str(info.value)
    assert "\n" not in message and "Fix:" in message and len(message) < 1000, message
    return message


def _rewrite_line(path: Path, number: int, text: str) -> None:
    lines = path.read_text().splitlines()
    lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n")


def test_annotation_file_that_is_not_utf8_is_a_data_error_naming_the_line(make_task, tiny_data_dir):
    path = tiny_data_dir / "annotation" / "val.jsonl"
    data = path.read_bytes().split(b"\n")
    data[4] = data[4].replace(b'"Nothing"', b'"Noth\xe9ng"')  # Latin-1, not UTF-8
    path.write_bytes(b"\n".join(data))
    message = _error(make_task(data_dir=str(tiny_data_dir)))
    assert f"{path.resolve()}, line 5: it is not UTF-8 text" in message, message


def test_deep_line_names_the_line(make_task, tiny_data_dir):
    path = tiny_data_dir / "annotation" / "val.jsonl"
    _rewrite_line(path, 2, '{"question": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert f"{path.resolve()}, line 2: it nests arrays/objects more than 64 deep" in _error(
        make_task(data_dir=str(tiny_data_dir))
    )


@pytest.mark.parametrize("img_fn", ["../../etc/passwd", "/etc/passwd", "movie/\x00.jpg", "movie/../../x.jpg"])
def test_img_fn_that_leaves_vcr1images_names_the_field(make_task, tiny_data_dir, tiny_records, img_fn):
    path = tiny_data_dir / "annotation" / "val.jsonl"
    _rewrite_line(path, 3, json.dumps(dict(tiny_records["val"][2], img_fn=img_fn)))
    message = _error(make_task(data_dir=str(tiny_data_dir)))
    assert f"{path.resolve()}, line 3, field 'img_fn'" in message


def test_image_linked_outside_vcr1images_is_refused_unless_allowed(
    make_task, tiny_data_dir, tiny_records, tmp_path
):
    image = tiny_data_dir / "vcr1images" / tiny_records["val"][1]["img_fn"]
    outside = tmp_path / "elsewhere.jpg"
    image.rename(outside)
    image.symlink_to(outside)
    with pytest.raises(DataError) as info:
        make_task(data_dir=str(tiny_data_dir)).examples("test")
    assert str(outside) in str(info.value) and "allow_symlinks_out: true" in str(info.value)
    assert len(make_task(data_dir=str(tiny_data_dir), allow_symlinks_out=True).examples("test")) == 8


def test_vcr1images_linked_in_from_another_disk_is_allowed(make_task, tiny_data_dir, tmp_path):
    """r2c's data/README.md: extract the images elsewhere and link vcr1images/ into the data folder."""
    (tiny_data_dir / "vcr1images").rename(tmp_path / "vcr1images")
    (tiny_data_dir / "vcr1images").symlink_to(tmp_path / "vcr1images")
    assert len(make_task(data_dir=str(tiny_data_dir)).examples("test")) == 8


def test_huge_image_is_refused_before_decoding(make_task, tiny_data_dir, tiny_records):
    from PIL import Image

    image = tiny_data_dir / "vcr1images" / tiny_records["val"][0]["img_fn"]
    Image.new("1", (12_000, 12_000)).save(image, format="PNG")
    path = make_task(data_dir=str(tiny_data_dir)).examples("test")[0].images[0]
    assert Path(path) == image.resolve()
    with pytest.raises(UnreadableImageError, match="more than the 16,000,000 its task decodes"):
        load_image(path)


def _portable(examples, root: Path):
    return [(e.id, e.text, e.choices, e.target, str(Path(e.images[0]).relative_to(root))) for e in examples]


def test_vcr1annots_unpacked_flat_reads_to_the_same_examples(make_task, tiny_data_dir, tmp_path):
    """The official zip unpacks train.jsonl, val.jsonl, test.jsonl beside vcr1images/ (r2c's data/)."""
    root = tiny_data_dir.resolve()
    expected = {
        s: _portable(make_task(data_dir=str(root)).examples(s), root) for s in ("train", "val", "test")
    }
    flat = tmp_path / "flat"
    shutil.copytree(root, flat)
    for name in ("train.jsonl", "val.jsonl", "test.jsonl"):
        (flat / "annotation" / name).rename(flat / name)
    (flat / "annotation").rmdir()
    task = make_task(data_dir=str(flat))
    assert {s: _portable(task.examples(s), flat.resolve()) for s in ("train", "val", "test")} == expected
    assert list(task.required_paths()) == [
        flat.resolve() / "train.jsonl",
        flat.resolve() / "val.jsonl",
        flat.resolve() / "vcr1images",
    ]


def test_data_folder_one_level_too_deep_says_the_fix(make_task, tiny_data_dir):
    with pytest.raises(MissingDataError) as info:
        make_task(data_dir=str(tiny_data_dir / "vcr1images")).examples("test")
    assert f"Fix: set the task option data_dir to {tiny_data_dir.resolve()}." in str(info.value)


def _huge_record(n: int) -> dict:
    """One record with ``n`` objects, each referred to in the question, some classes repeated."""
    return {
        "annot_id": "val-huge",
        "img_fn": "m/x.jpg",
        "objects": ["chair", "person", "dog"] * (n // 3),
        "question": [tok for i in range(n) for tok in ("is", [i], ",")],
        "answer_label": 0,
        "answer_choices": [["yes"], ["no"], [[0, 1, 2], "."], ["maybe"]],
    }


def test_numbering_repeated_objects_is_linear_in_the_objects(tmp_path):
    """distinguish_repeated_objects counted each reference's class over all objects: quadratic."""
    from climb_vcr.data import _parse_distinguishing

    path = tmp_path / "val.jsonl"
    path.write_text(json.dumps(_huge_record(30_000)) + "\n")
    start = time.perf_counter()
    [record] = _parse_distinguishing(path)
    assert time.perf_counter() - start < 20  # about 0.1 s; quadratic: 9e8 comparisons
    assert record.question.startswith(
        "is the gray chair 1, is Riley, is the gray dog 1, is the gray chair 2,"
    )


@pytest.mark.slow
def test_a_100_mb_line_parses_in_time_linear_in_its_size(tmp_path):
    from climb_vcr.data import _parse

    record = _huge_record(300)
    record["question"] = ["why", [0], "?"] * 5_000_000
    record["answer_choices"][3] = ["a"] * 3_000_000
    path = tmp_path / "val.jsonl"
    path.write_text(json.dumps(record) + "\n")
    assert path.stat().st_size > 100e6
    start = time.perf_counter()
    [parsed] = _parse(path)
    seconds = time.perf_counter() - start
    print(
        f"\nVCR: a {path.stat().st_size / 1e6:.0f} MB line read and rendered in {seconds:.1f} s",
        file=sys.stderr,
    )
    assert parsed.question.startswith("why the gray chair? why the gray chair?") and seconds < 120
