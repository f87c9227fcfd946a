"""``climb data check``: a task's expected files against a folder, with one file missing."""

from __future__ import annotations

from click.testing import CliRunner

from climb_harness.cli import main

SOURCE = '''
from pathlib import Path
from climb_harness.api import Task, data_dir, hookimpl, task

class Files(Task):
    def required_paths(self):
        root = data_dir(self.options["data_dir"], "ztest-files")
        return [root / "train.jsonl", root / "dev.jsonl", root / "images"]

class Shipped(Task):
    pass

OPTIONS = {"type": "object", "additionalProperties": False,
           "properties": {"data_dir": {"type": ["string", "null"], "default": None}}}

def manifest(name):
    return {"name": name, "api_version": "1.0", "summary": name, "modality": "vision-language",
            "images_per_example": 1, "head": {"type": "classification", "num_labels": 2}, "metric": "accuracy",
            "random_baseline": 50.0, "options": OPTIONS,
            "data": {"how_to_get": "from example.org/ztest", "layout": "train.jsonl, dev.jsonl, images/<id>.png"}}

@hookimpl
def climb_tasks():
    return [task(manifest("ztest-files"), Files), task(manifest("ztest-shipped"), Shipped)]
'''


def _invoke(*args):
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result


def test_one_missing_file_is_named_with_how_to_get_it(site, tmp_path, monkeypatch):
    monkeypatch.delenv("CLIMB_DATA_ROOT", raising=False)
    site.add_plugin("climb-ztest-data", source=SOURCE)
    folder = tmp_path / "data" / "ztest-files"
    (folder / "images").mkdir(parents=True)
    (folder / "train.jsonl").write_text("{}\n")
    result = _invoke("data", "check", "ztest-files", "ztest-shipped", "--data-root", str(tmp_path / "data"))
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert "MISSING ztest-files: 2 of 3 expected path(s) present" in lines
    assert f"  missing  {folder / 'dev.jsonl'}" in lines
    assert not any("missing" in line and "train.jsonl" in line for line in lines)
    assert "  get it:  from example.org/ztest" in lines and any(line.startswith("  layout:  train.jsonl") for line in lines)
    assert "ok    ztest-shipped: its data ships with its distribution (nothing to check)" in lines
    assert lines[-1] == "2 task(s) checked, 1 with missing data: ztest-files"

    (folder / "dev.jsonl").write_text("{}\n")
    assert _invoke("data", "check", "ztest-files", "--data-root", str(tmp_path / "data")).exit_code == 0


def test_no_data_folder_set_says_how_to_set_one(site, monkeypatch):
    monkeypatch.delenv("CLIMB_DATA_ROOT", raising=False)
    site.add_plugin("climb-ztest-data", source=SOURCE)
    result = _invoke("data", "check", "ztest-files")
    assert result.exit_code == 1
    assert "set the task's data_dir option, or the environment variable CLIMB_DATA_ROOT" in result.stdout


def test_environment_variable_is_the_default_root(site, tmp_path, monkeypatch):
    site.add_plugin("climb-ztest-data", source=SOURCE)
    monkeypatch.setenv("CLIMB_DATA_ROOT", str(tmp_path))
    result = _invoke("data", "check", "ztest-files")
    assert result.exit_code == 1 and f"  missing  {tmp_path / 'ztest-files' / 'train.jsonl'}" in result.stdout


def test_unknown_task_is_a_usage_error(site):
    result = _invoke("data", "check", "ztest-nope")
    assert result.exit_code == 2 and "No task named 'ztest-nope'" in result.stderr
