"""A damaged questions.json is a RunError naming the file and the fix, in the task and in `climb run`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from climb_easyvqa.data import CorruptDataError

from climb_harness.testing import RunError
from climb_harness.testing import cli_main as main

DAMAGE = {
    "invalid JSON": (b'[["what shape", "circle", 0]', "not valid JSON"),
    "not UTF-8": (b'[["\xff\xfe", "circle", 0]]', "not UTF-8"),
    "an object": (b'{"questions": []}', "holds a JSON dict, not a list"),
    "null": (b"null", "holds a JSON NoneType, not a list"),
    "missing field": (b'[["what shape is it?", "circle"]]', "row 0 is"),
    "answer not a string": (b'[["what shape is it?", 3, 0]]', "row 0 is"),
    "image id not a number": (b'[["what shape is it?", "circle", "x7"]]', "image id 'x7'"),
    "image id a list": (b'[["what shape is it?", "circle", [0]]]', "image id [0]"),
    "long row": (json.dumps([["q" * 5000, "circle"]]).encode(), "row 0 is"),
}


def assert_names_file_and_fix(message: str, path: Path, expected: str) -> None:
    assert str(path) in message and expected in message, message
    assert "data_dir" in message and "re-extract" in message
    assert len(message) < 1000 and "\n" not in message


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_corrupt_questions_file_is_a_run_error_naming_it(make_task, tiny_data_dir: Path, case: str) -> None:
    content, expected = DAMAGE[case]
    path = tiny_data_dir / "train" / "questions.json"
    path.write_bytes(content)
    task = make_task("easyvqa-shape", data_dir=str(tiny_data_dir))
    with pytest.raises(CorruptDataError) as info:
        task.examples("train")
    assert isinstance(info.value, RunError) and isinstance(info.value, ValueError)
    assert_names_file_and_fix(str(info.value), path, expected)
    assert path.read_bytes() == content  # left as it is
    assert len(task.examples("test")) > 0  # the other file still reads


def test_corrupt_questions_file_stops_climb_run_with_exit_1(tiny_data_dir: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIMB_CACHE_DIR", str(tmp_path / "cache"))
    path = tiny_data_dir / "test" / "questions.json"
    path.write_text("[[")
    task = {"name": "easyvqa-shape", "options": {"data_dir": str(tiny_data_dir)}}
    config = {"name": "vqa", "tasks": [task], "encoder": "tiny", "algorithms": ["finetune"],
              "training": {"epochs": 1, "progress": False}, "references": {"direct": False}}
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(config))
    args = ["run", "--config", str(tmp_path / "exp.yaml"), "--plugin", "climb_harness.testing.plugin",
            "--output", str(tmp_path / "out")]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "Traceback" not in result.output
    assert_names_file_and_fix(errors[0], path, "not valid JSON")
