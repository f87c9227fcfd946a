"""The language tasks on hostile data and on folders one level off: bounded, validated reading through
the harness's toolkit, and a missing-data error that names the exact fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from climb_harness.api import DataError, MissingDataError
from climb_harness.cli import main


def _missing(task) -> str:
    with pytest.raises(MissingDataError) as info:
        task.examples("train")
    return str(info.value)


@pytest.mark.parametrize(("name", "release"), [("imdb", "aclImdb"), ("sst2", "SST-2")])
def test_data_dir_at_the_unpacked_release_itself_says_to_use_its_parent(
    make_task, sample_root, name, release
):
    top = sample_root / name
    message = _missing(make_task(name, data_dir=str(top / release)))
    assert f"The folder {top / release} is one level too deep" in message
    assert f"Fix: set the task option data_dir to {top}." in message


@pytest.mark.parametrize("name", ["hellaswag", "piqa", "commonsenseqa", "sst2"])
def test_data_dir_at_the_parent_of_the_task_folder_says_which_child(make_task, sample_root, name):
    message = _missing(make_task(name, data_dir=str(sample_root)))
    assert f"is one level too high: {sample_root / name} holds" in message
    assert f"Fix: set the task option data_dir to {sample_root / name}." in message


def test_data_check_names_the_fix_for_a_data_root_one_level_off(sample_root, monkeypatch):
    monkeypatch.delenv("CLIMB_DATA_ROOT", raising=False)
    result = CliRunner().invoke(main, ["data", "check", "sst2", "--data-root", str(sample_root / "sst2")])
    assert result.exit_code == 1, result.output
    assert (
        f"  hint:    The folder {sample_root / 'sst2' / 'sst2'} is one level too deep: "
        f"{sample_root / 'sst2'} "
        f"holds 2 of the 2 expected path(s). Fix: set the task option data_dir to {sample_root / 'sst2'}."
    ) in result.stdout.splitlines(), result.stdout
    ok = CliRunner().invoke(main, ["data", "check", "sst2", "imdb", "piqa", "--data-root", str(sample_root)])
    assert ok.exit_code == 0, ok.stdout


def test_deep_jsonl_line_and_huge_review_are_data_errors(task_at, sample_root):
    path = sample_root / "hellaswag" / "hellaswag_val.jsonl"
    lines = path.read_text().splitlines()
    lines[1] = "[" * 100_000 + "]" * 100_000
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(
        DataError, match=r"hellaswag_val\.jsonl, line 2: it nests arrays/objects more than 64 deep"
    ):
        task_at("hellaswag").examples("test")
    review = sample_root / "imdb" / "aclImdb" / "train" / "pos" / "0_9.txt"
    review.write_text("a" * (2**20 + 1))
    with pytest.raises(DataError, match=r"0_9\.txt: it is 1,048,577 bytes, more than the 1,048,576"):
        task_at("imdb").examples("train")


def test_sst2_file_that_is_not_utf8_names_the_line(task_at, sample_root):
    path = sample_root / "sst2" / "SST-2" / "dev.tsv"
    lines = path.read_bytes().split(b"\n")
    lines[2] = b"caf\xe9 film\t1"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(DataError, match=r"dev\.tsv, line 3: it is not UTF-8"):
        task_at("sst2").examples("test")


def test_unknown_split_suggests_the_closest(task_at):
    with pytest.raises(ValueError, match=r"no split 'tset' \(did you mean 'test'\?\)"):
        task_at("piqa").examples("tset")


def test_layout_folders_are_relative_to_the_data_folder(task_at, sample_root):
    task = task_at("imdb")
    assert all(Path(p).is_relative_to(sample_root / "imdb") for p in task.required_paths())
