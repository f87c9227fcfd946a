"""Nothing lost, nothing trusted: one owner per output folder, validated caches, cell and results files, bounded
JSON everywhere, and reports of foreign files that show names as text.

Each case here failed before the reliability work of issue 20: two runs shared a folder, a cache score of 1e308 ended
in a results.json that failed its own schema, deep JSON raised RecursionError, a ``$`` in a label broke the figures."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from climb_harness.cli import main
from climb_harness.api.errors import RunError
from climb_harness.core.lock import LOCK_FILE, FolderLockedError, acquire
from climb_harness.core.results import read_results, write_results
from climb_harness.testing.results import results_dict
from climb_harness.transfer.cells import cell_problem

TEST_PLUGIN = "climb_harness.testing.plugin"
CONFIG = {
    "name": "tiny",
    "tasks": [{"name": "synthetic-colour", "options": {"size": 32, "seed": 1}},
              {"name": "synthetic-yesno", "options": {"size": 32, "seed": 2}}],
    "encoder": "tiny", "algorithms": ["finetune"], "seeds": [0],
    "training": {"epochs": 1, "progress": False}, "references": {"direct": True},
}
DEEP = "[" * 100_000 + "]" * 100_000


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def one_paragraph(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    assert lines and "Traceback" not in text and "unexpected" not in text, text
    return text


# --------------------------------------------------------------------------- one owner per folder
def test_a_second_process_is_refused_naming_the_owner_and_a_released_lock_is_taken_again(tmp_path: Path) -> None:
    first = acquire(tmp_path / "out", "climb run")
    code = ("import sys; from pathlib import Path; from climb_harness.core.lock import acquire\n"
            f"acquire(Path({str(tmp_path / 'out')!r}), 'climb run')")
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert second.returncode != 0 and "FolderLockedError" in second.stderr
    assert f"process {os.getpid()}" in second.stderr and "in use by another climb-harness process" in second.stderr
    first.release()
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr


def test_a_lock_left_by_a_dead_process_is_taken_over_with_a_note(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    code = ("import os; from pathlib import Path; from climb_harness.core.lock import acquire\n"
            f"acquire(Path({str(folder)!r}), 'climb run'); os._exit(0)")  # dies holding it: the system frees it
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    notes: list[str] = []
    with acquire(folder, "climb run", notes.append):
        assert json.loads((folder / LOCK_FILE).read_text())["pid"] == os.getpid()
    assert notes and "no longer running" in notes[0]


@pytest.mark.slow  # two processes
def test_two_concurrent_runs_on_one_folder_the_second_is_refused_and_the_first_is_intact(tmp_path: Path, pf) -> None:
    stall_plugin = tmp_path / "stall.py"
    stall_plugin.write_text(pf.STALL_IN_SECOND_TASK)
    first_config, second_config = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first_config.write_text(yaml.safe_dump(CONFIG))
    second_config.write_text(yaml.safe_dump({**CONFIG, "training": {"epochs": 2, "progress": False}}))
    stalled = tmp_path / "stalled"
    env = {**os.environ, "CLIMB_CACHE_DIR": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"}
    common = ["--plugin", TEST_PLUGIN, "--output", str(tmp_path / "out")]
    first = subprocess.Popen([sys.executable, "-m", "climb_harness", "run", "--config", str(first_config), *common,
                              "--plugin", str(stall_plugin)], env={**env, "CLIMB_TEST_STALL": str(stalled)},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 240
        while not stalled.exists():
            assert first.poll() is None and time.time() < deadline, "the first run never reached its second task"
            time.sleep(0.1)
        results = tmp_path / "out" / "finetune" / "seed-0" / "results.json"
        before = results.read_bytes()
        second = subprocess.run([sys.executable, "-m", "climb_harness", "run", "--config", str(second_config), *common],
                                env=env, capture_output=True, text=True, timeout=240)
        assert second.returncode == 1
        assert "is in use by another climb-harness process" in second.stderr and str(first.pid) in second.stderr
        assert results.read_bytes() == before
        assert json.loads((tmp_path / "out" / "experiment.json").read_text())["training"]["epochs"] == 1
    finally:
        first.kill()
        first.wait()


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="finds the training processes in /proc")
def test_kill_9_of_only_the_climb_process_of_a_data_parallel_run_leaves_nothing_running(tmp_path: Path, pf) -> None:
    pytest.importorskip("accelerate")
    stall_plugin = tmp_path / "stall.py"
    stall_plugin.write_text(pf.STALL_IN_SECOND_TASK)
    path = tmp_path / "dp.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    stalled, out = tmp_path / "stalled", tmp_path / "dp-out"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CLIMB_TEST_STALL": str(stalled), "CLIMB_CACHE_DIR": str(tmp_path / "c")}
    env.pop("WORLD_SIZE", None)
    climb = subprocess.Popen([sys.executable, "-m", "climb_harness", "run", "--config", str(path), "--output", str(out),
                              "--plugin", TEST_PLUGIN, "--plugin", str(stall_plugin), "--launcher", "accelerate",
                              "--num-processes", "2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not stalled.exists():
        assert climb.poll() is None and time.time() < deadline, "the run never reached its second task"
        time.sleep(0.2)
    os.kill(climb.pid, signal.SIGKILL)  # only the climb process: the launcher and workers must follow it
    climb.wait()
    killed_at = time.time()
    while _processes_naming(str(out)) and time.time() < killed_at + 10:
        time.sleep(0.2)
    left = _processes_naming(str(out))
    for pid in left:  # clean up before failing
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes of the run still alive 10 s after the climb process died: {left}"


def _processes_naming(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


# --------------------------------------------------------------------------- nothing read back is trusted
@pytest.fixture(scope="module")
def cached(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run, its direct references in a cache of its own."""
    root = tmp_path_factory.mktemp("cached")
    (root / "exp.yaml").write_text(yaml.safe_dump(CONFIG))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLIMB_CACHE_DIR", str(root / "cache"))
        done = invoke("run", "--config", str(root / "exp.yaml"), "--plugin", TEST_PLUGIN, "--output", str(root / "first"))
    assert done.exit_code == 0, done.output
    return root


@pytest.mark.parametrize(("field", "value"), [
    ("score", 1e308), ("score", -5000.0), ("score", True), ("score", " 12 "), ("interval", "12"),
    ("interval", [90.0, 10.0]), ("key", "someone-else"),
])
def test_a_bad_cache_entry_is_recomputed_with_a_warning_and_the_results_validate(cached: Path, tmp_path: Path,
                                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                                  field: str, value) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    for source in (cached / "cache" / "direct").iterdir():
        (cache / "direct").mkdir(exist_ok=True)
        (cache / "direct" / source.name).write_bytes(source.read_bytes())
    entry = sorted((cache / "direct").glob("synthetic-colour-*.json"))[0]
    data = json.loads(entry.read_text())
    data[field] = value
    entry.write_text(json.dumps(data))
    monkeypatch.setenv("CLIMB_CACHE_DIR", str(cache))
    done = invoke("run", "--config", str(cached / "exp.yaml"), "--plugin", TEST_PLUGIN, "--output", str(tmp_path / "o"))
    assert done.exit_code == 0, done.output
    assert "cannot be used" in done.output and "recomputing" in done.output and str(entry) in done.output
    results = read_results(tmp_path / "o" / "finetune" / "seed-0" / "results.json")  # schema-valid
    assert results["references"]["direct"]["synthetic-colour"] <= 100


def test_nan_and_deep_nesting_in_a_cache_entry_are_recomputed(cached: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache" / "direct"
    cache.mkdir(parents=True)
    for source in (cached / "cache" / "direct").iterdir():
        (cache / source.name).write_bytes(source.read_bytes())
    colour, yesno = sorted(cache.glob("synthetic-colour-*.json"))[0], sorted(cache.glob("synthetic-yesno-*.json"))[0]
    colour.write_text(colour.read_text().replace('"score": ', '"score": NaN, "x": ', 1))
    yesno.write_text(DEEP)
    monkeypatch.setenv("CLIMB_CACHE_DIR", str(tmp_path / "cache"))
    done = invoke("run", "--config", str(cached / "exp.yaml"), "--plugin", TEST_PLUGIN, "--output", str(tmp_path / "o"))
    assert done.exit_code == 0, done.output
    assert done.output.count("recomputing") == 2
    read_results(tmp_path / "o" / "finetune" / "seed-0" / "results.json")


def test_the_writer_refuses_a_results_file_that_fails_its_own_schema(tmp_path: Path) -> None:
    results = results_dict(["a", "b"], [[50.0, 10.0], [40.0, 60.0]])
    results["accuracy_matrix"][0][0] = 1e308
    with pytest.raises(RunError, match="fails its own schema.*bug in the harness") as info:
        write_results(tmp_path / "results.json", results)
    assert str(tmp_path / "results.json") in str(info.value) and not (tmp_path / "results.json").exists()


@pytest.mark.parametrize(("text", "words"), [
    (DEEP, "64 deep"),
    ('{"schema_version": "1.2", "accuracy_matrix": [[NaN]]}', "NaN"),
    ('{"a": 1e999}', "infinity"),
])
def test_hostile_results_and_transfer_files_are_one_paragraph_naming_the_file(tmp_path: Path, text: str,
                                                                             words: str) -> None:
    for name in ("results.json", "transfer.json"):
        folder = tmp_path / name.split(".")[0]
        folder.mkdir()
        (folder / name).write_text(text)
        done = invoke("report", str(folder))
        assert done.exit_code == 1, done.output
        assert str(folder / name) in one_paragraph(done.output)
        assert words.lower() in done.output.lower()


@pytest.mark.parametrize("record", [
    [], {"identity": {}, "score": "high"}, {"identity": []}, "cell",
])
def test_a_cell_file_that_is_not_a_cell_is_named_as_such(record) -> None:
    assert cell_problem(record) is not None


def test_a_cell_with_an_impossible_score_or_interval_is_refused() -> None:
    valid = {"source": "pretrained", "algorithm": None, "upstream_seed": 0, "after_task": None, "task_index": None,
             "checkpoint": None, "task": "digits", "modality": "vision", "shots": "16/class", "seed": 10,
             "train_examples": 160, "score": 70.0, "ci": [65.0, 75.0], "best_epoch": 1, "random": 10.0,
             "seconds": 1.0, "ignored_tensors": 0, "identity": {"task": "digits"}}
    assert cell_problem(valid) is None
    assert "maximum" in str(cell_problem({**valid, "score": 1e308}))
    assert "does not hold its score" in str(cell_problem({**valid, "ci": [71.0, 75.0]}))


# --------------------------------------------------------------------------- reports of foreign files
@pytest.mark.parametrize("label", ["$x^2$ and $", "x" * 100_000, "<script>alert(1)</script>", "a|b](javascript:1)"])
def test_a_report_of_hostile_labels_shows_them_as_text(cached: Path, tmp_path: Path, label: str) -> None:
    pytest.importorskip("matplotlib")
    run = json.loads((cached / "first" / "finetune" / "seed-0" / "results.json").read_text())
    for seed in (0, 1):
        folder = tmp_path / "runs" / f"r{seed}"
        folder.mkdir(parents=True)
        (folder / "results.json").write_text(json.dumps({**run, "algorithm": label, "seed": seed}))
    done = invoke("report", str(tmp_path / "runs"), "--output", str(tmp_path / "report"))
    assert done.exit_code == 0, done.output
    text = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert not re.search(r"(?<!\\)<script>", text) and not re.search(r"(?<!\\)\]\(javascript", text)
    assert all(len(p.name) < 120 for p in (tmp_path / "report" / "figures").iterdir())
    assert "<script>" not in (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
