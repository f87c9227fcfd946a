"""Hostile SNLI-VE data: ids that cannot name a file, NUL bytes, deep lines, links out of the images
folder and huge images are refused naming the file, the line and the field; the Flickr30k archive's
own folder name is found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from climb_snli_ve.data import SnliVeDataError

from climb_harness.api import DataError, MissingDataError, UnreadableImageError, load_image


def _rewrite_line(path: Path, number: int, text: str) -> None:
    lines = path.read_text().splitlines()
    lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n")


def _error(task, split: str = "train") -> str:
    with pytest.raises(SnliVeDataError) as info:
        task.examples(split)
    assert "\n" not in str(info.value) and "Fix:" in str(info.value)
    return str(info.value)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("Flickr30K_ID", "1000366164\x00", "not an image id"),
        ("Flickr30K_ID", "\x00", "not an image id"),
        ("Flickr30K_ID", "..", "not an image id"),
        ("sentence2", "A dog\x00 runs.", "not a non-empty string"),
    ],
)
def test_nul_bytes_and_folder_references_name_file_line_and_field(
    make_task, snli_dir, tiny_records, field, value, expected
):
    path = snli_dir / "snli_ve_train.jsonl"
    _rewrite_line(path, 2, json.dumps(dict(tiny_records["train"][1], **{field: value})))
    message = _error(make_task(data_dir=str(snli_dir)))
    assert f"{path}, line 2, field {field!r}" in message and expected in message, message


def test_deep_line_names_the_line(make_task, snli_dir):
    path = snli_dir / "snli_ve_dev.jsonl"
    _rewrite_line(path, 3, "[" * 100_000 + "]" * 100_000)
    assert f"{path}, line 3: it nests arrays/objects more than 64 deep" in _error(
        make_task(data_dir=str(snli_dir)), "val"
    )


def test_image_linked_outside_the_images_folder_is_refused_unless_allowed(make_task, snli_dir, tmp_path):
    image = snli_dir / "flickr30k_images" / "1000366164.jpg"
    outside = tmp_path / "elsewhere.jpg"
    image.rename(outside)
    image.symlink_to(outside)
    with pytest.raises(DataError) as info:
        make_task(data_dir=str(snli_dir)).examples("test")
    assert str(outside) in str(info.value) and "allow_symlinks_out: true" in str(info.value)
    assert any(
        e.images[0] == str(image)
        for e in make_task(data_dir=str(snli_dir), allow_symlinks_out=True).examples("test")
    )


def test_huge_image_is_refused_before_decoding(make_task, snli_dir):
    from PIL import Image

    image = snli_dir / "flickr30k_images" / "1000366164.jpg"
    Image.new("1", (12_000, 12_000)).save(image, format="PNG")
    path = next(
        e.images[0] for e in make_task(data_dir=str(snli_dir)).examples("test") if e.images[0] == str(image)
    )
    with pytest.raises(UnreadableImageError, match="more than the 4,000,000 its task decodes"):
        load_image(path)


def test_images_folder_named_as_the_flickr30k_archive_unpacks(make_task, snli_dir):
    (snli_dir / "flickr30k_images").rename(snli_dir / "flickr30k-images")
    task = make_task(data_dir=str(snli_dir))
    assert task.required_paths()[-1] == snli_dir / "flickr30k-images"
    assert all(Path(e.images[0]).parent == snli_dir / "flickr30k-images" for e in task.examples("val"))


def test_data_folder_one_level_too_high_says_the_fix(make_task, snli_dir):
    with pytest.raises(MissingDataError) as info:
        make_task(data_dir=str(snli_dir.parent)).examples("val")
    assert f"Fix: set the task option data_dir to {snli_dir}." in str(info.value)
