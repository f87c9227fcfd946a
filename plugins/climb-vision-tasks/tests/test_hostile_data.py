"""The vision tasks on hostile annotation files and on folders one level off: bounded, validated
reading through the harness's toolkit, and a missing-data error that names the exact fix."""

from __future__ import annotations

import pytest

from climb_harness.api import DataError, MissingDataError


def test_deep_annotation_file_is_a_data_error_naming_it(make_task, release):
    root = release("inaturalist2019")
    (root / "train2019.json").write_text('{"images": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(
        DataError, match=r"train2019\.json, line 1: it nests arrays/objects more than 64 deep"
    ):
        make_task("inaturalist2019", data_dir=str(root)).examples("train")


def test_duplicate_key_and_nan_are_refused(make_task, release):
    root = release("inaturalist2019")
    (root / "train2019.json").write_text('{"images": [], "images": [], "annotations": [], "categories": []}')
    with pytest.raises(DataError, match='the key "images" appears twice'):
        make_task("inaturalist2019", data_dir=str(root)).examples("train")


def test_data_dir_one_level_too_high_says_the_fix(make_task, release):
    root = release("inaturalist2019")
    with pytest.raises(MissingDataError) as info:
        make_task("inaturalist2019", data_dir=str(root.parent)).examples("train")
    assert f"Fix: set the task option data_dir to {root}." in str(info.value)
