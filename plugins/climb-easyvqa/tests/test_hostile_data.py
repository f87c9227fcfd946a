"""easy-VQA on hostile data: ids that are not image ids, links out of the images folder and huge images
are refused before anything is read from them; a data folder one level off names the fix."""

from __future__ import annotations

import json

import pytest
from climb_easyvqa.data import CorruptDataError

from climb_harness.api import DataError, MissingDataError, UnreadableImageError, load_image


@pytest.mark.parametrize("image_id", [-1, "-1", "٣", 2.0])
def test_image_id_that_is_not_a_file_number_is_refused(make_task, tiny_data_dir, image_id):
    path = tiny_data_dir / "train" / "questions.json"
    rows = json.loads(path.read_text())
    rows[1][2] = image_id
    path.write_text(json.dumps(rows))
    with pytest.raises(CorruptDataError, match=r"row 1 has the image id .*expected an integer 0 or more"):
        make_task("easyvqa-shape", data_dir=str(tiny_data_dir)).examples("train")


def test_image_linked_outside_its_folder_is_refused_unless_allowed(make_task, tiny_data_dir, tmp_path):
    images = tiny_data_dir / "test" / "images"
    image = sorted(images.iterdir())[0]
    outside = tmp_path / "elsewhere.png"
    image.rename(outside)
    image.symlink_to(outside)
    with pytest.raises(DataError) as info:
        make_task("easyvqa-shape", data_dir=str(tiny_data_dir), max_eval_examples=None).examples("test")
    assert str(outside) in str(info.value) and "allow_symlinks_out: true" in str(info.value)
    allowed = make_task(
        "easyvqa-shape", data_dir=str(tiny_data_dir), max_eval_examples=None, allow_symlinks_out=True
    )
    assert str(image) in {e.images[0] for e in allowed.examples("test")}


def test_huge_image_is_refused_before_decoding(make_task, tiny_data_dir):
    from PIL import Image

    image = sorted((tiny_data_dir / "test" / "images").iterdir())[0]
    Image.new("1", (12_000, 12_000)).save(image)
    task = make_task("easyvqa-shape", data_dir=str(tiny_data_dir), max_eval_examples=None)
    path = next(e.images[0] for e in task.examples("test") if e.images[0] == str(image))
    with pytest.raises(UnreadableImageError, match="more than the 1,000,000 its task decodes"):
        load_image(path)


def test_data_dir_one_level_too_deep_says_the_fix(make_task, tiny_data_dir):
    with pytest.raises(MissingDataError) as info:
        make_task("easyvqa-shape", data_dir=str(tiny_data_dir / "train")).examples("train")
    assert f"Fix: set the task option data_dir to {tiny_data_dir}." in str(info.value)
