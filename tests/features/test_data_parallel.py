"""Data-parallel training over 2 CPU processes (gloo, ``climb run --launcher accelerate``) against one
process with the same global batch; algorithms that do not declare support are refused."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from climb_harness.scale.parallel import DataParallel

pytestmark = pytest.mark.slow  # processes launched and killed: CI runs it, the quick loop skips it

needs_accelerate = pytest.mark.skipif(importlib.util.find_spec("accelerate") is None, reason="accelerate is not installed")

#: 49 examples, batch 8: the last training batch has 1 example (one process trains on nothing, weight 0),
#: and the 49 evaluation examples split 25 / 24.
CONFIG = {
    "name": "dp", "encoder": "tiny", "seeds": [0],
    "tasks": [{"name": "synthetic-colour", "options": {"size": 49, "seed": 1}},
              {"name": "synthetic-yesno", "options": {"size": 49, "seed": 2}}],
    "training": {"epochs": 2, "progress": False, "batch_size": 8, "num_workers": 0},
    "references": {"direct": False},
}
#: Stated tolerance: the two sides sum the same gradients in another order, so losses agree to 1e-5
#: (relative) and the accuracy matrices exactly (allowing one example of 49, 2.05 points, for an
#: arg-max that such a difference could flip).
LOSS_RTOL, SCORE_ATOL = 1e-5, 100 / 49 + 1e-6


def _climb(tmp_path: Path, config: dict, out: str, *extra: str) -> subprocess.CompletedProcess:
    path = tmp_path / f"{out}.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "CLIMB_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("WORLD_SIZE", None)
    return subprocess.run([sys.executable, "-m", "climb_harness", "run", "--config", str(path), "--output", str(tmp_path / out),
                           "--plugin", "climb_harness.testing.plugin", *extra], capture_output=True, text=True, env=env, timeout=600)


def _results(tmp_path: Path, out: str, algorithm: str) -> dict:
    return json.loads((tmp_path / out / algorithm / "seed-0" / "results.json").read_text())


def _algorithms() -> list[str]:
    names = ["finetune"]
    if importlib.util.find_spec("climb_ewc"):
        names.append("ewc")
    if importlib.util.find_spec("climb_replay"):
        names.append("experience-replay")
    return names


@needs_accelerate
def test_two_processes_reach_the_one_process_matrix(tmp_path: Path) -> None:
    algorithms = _algorithms()
    options = {"ewc": {"ewc_lambda": 100.0}, "experience-replay": {"replay_frequency": 2, "memory_percentage": 0.2}}
    config = {**CONFIG, "algorithms": [{"name": a, "options": options.get(a, {})} for a in algorithms]}
    one = _climb(tmp_path, config, "one")
    assert one.returncode == 0, one.stderr
    two = _climb(tmp_path, config, "two", "--launcher", "accelerate", "--num-processes", "2")
    assert two.returncode == 0, two.stderr[-3000:]
    assert two.stdout.count("accuracy matrix on the test split") == len(algorithms)  # printed once, by the main process
    for algorithm in algorithms:
        a, b = _results(tmp_path, "one", algorithm), _results(tmp_path, "two", algorithm)
        assert b["status"] == "complete"
        assert a["initial_scores"] == b["initial_scores"]  # gathered evaluation: every example once, in order
        for row_a, row_b in zip(a["accuracy_matrix"], b["accuracy_matrix"], strict=True):
            assert row_b == pytest.approx(row_a, abs=SCORE_ATOL), algorithm
        losses_a = [e["train_loss"] for t in a["training_log"] for e in t["epochs"]]
        losses_b = [e["train_loss"] for t in b["training_log"] for e in t["epochs"]]
        assert losses_b == pytest.approx(losses_a, rel=LOSS_RTOL), algorithm
        assert [e["steps"] for t in b["training_log"] for e in t["epochs"]] == [7, 7, 7, 7]  # global steps
        assert [e["examples"] for t in b["training_log"] for e in t["epochs"]] == [49, 49, 49, 49]  # not per process
        assert b["timing"]["per_task"]["synthetic-yesno"]["eval_examples"] == a["timing"]["per_task"]["synthetic-yesno"]["eval_examples"]
        assert len((tmp_path / "two" / algorithm / "seed-0" / "events.jsonl").read_text().splitlines()) == \
               len((tmp_path / "one" / algorithm / "seed-0" / "events.jsonl").read_text().splitlines())  # written once


@needs_accelerate
@pytest.mark.parametrize("how", ["climb run --launcher accelerate", "accelerate launch -m climb_harness run"])
def test_an_algorithm_without_data_parallel_support_is_refused(tmp_path: Path, how: str) -> None:
    plugin = tmp_path / "undeclared.py"
    plugin.write_text(
        "from climb_harness.api import API_VERSION, algorithm, hookimpl\n"
        "@hookimpl\n"
        "def climb_algorithms():\n"
        "    return [algorithm({'name': 'mine', 'api_version': API_VERSION, 'summary': 'not declared', 'family': 'baseline',\n"
        "                       'options': {'type': 'object', 'additionalProperties': False, 'properties': {}}},\n"
        "                      'climb_harness.api:Algorithm')]\n")
    if how.startswith("climb"):  # checked before any process starts
        done = _climb(tmp_path, {**CONFIG, "algorithms": ["mine"]}, "refused", "--plugin", str(plugin),
                      "--launcher", "accelerate", "--num-processes", "2")
        expected = "do not declare data-parallel support"
    else:  # launched by hand: every process's runner refuses it
        from climb_harness.scale.launch import free_port, launch_command

        path = tmp_path / "refused.yaml"
        path.write_text(yaml.safe_dump({**CONFIG, "algorithms": ["mine"]}))
        command = launch_command(["--config", str(path), "--output", str(tmp_path / "refused"), "--plugin", str(plugin),
                                  "--plugin", "climb_harness.testing.plugin"], 2, free_port())
        env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
        expected = "does not declare data-parallel support"
    assert done.returncode != 0
    assert expected in done.stderr and "data_parallel: true" in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "refused" / "mine" / "seed-0" / "results.json").exists()


@pytest.mark.parametrize("world", [1, 2, 3, 5])
@pytest.mark.parametrize("size", [1, 2, 7, 8, 33])
def test_shards_cover_each_batch_once_with_weights_summing_to_one(world: int, size: int) -> None:
    batch = list(range(100, 100 + size))
    shards = []
    for rank in range(world):
        dp = object.__new__(DataParallel)
        dp.rank, dp.world = rank, world
        shards.append(dp.shard(batch))
        assert list(dp.eval_shard(size)) == [i - 100 for i, _ in zip(batch, range(size)) if i - 100 in dp.eval_shard(size)]
    covered = [i for mine, weight in shards if weight > 0 for i in mine]
    assert covered == batch  # contiguous, in order, no example twice
    assert sum(w for _, w in shards) == pytest.approx(1.0)
    assert all(len(mine) >= 1 for mine, _ in shards)  # every process joins every step
    evaluated = []
    for rank in range(world):
        dp = object.__new__(DataParallel)
        dp.rank, dp.world = rank, world
        evaluated += list(dp.eval_shard(size))
    assert evaluated == list(range(size))


def test_a_launcher_without_accelerate_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from climb_harness.scale import parallel
    from climb_harness.api.errors import RunError

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setitem(sys.modules, "accelerate", None)  # import accelerate -> ImportError
    monkeypatch.setattr(parallel, "_current", None)
    with pytest.raises(RunError, match=r"one of 2 data-parallel processes.*pip install 'climb-harness\[accelerate\]'"):
        parallel.current()


def _processes_naming(text: str) -> list[int]:
    """The pids whose command line contains ``text`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@needs_accelerate
@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="finds the training processes in /proc")
def test_killed_in_the_second_task_then_resumed_on_two_processes_equals_one_uninterrupted(tmp_path: Path, pf) -> None:
    import signal
    import time

    stall_plugin = tmp_path / "stall.py"
    stall_plugin.write_text(pf.STALL_IN_SECOND_TASK)
    config = {**CONFIG, "algorithms": ["finetune"]}
    one = _climb(tmp_path, config, "one")
    assert one.returncode == 0, one.stderr
    path = tmp_path / "dp.yaml"
    path.write_text(yaml.safe_dump(config))
    stalled = tmp_path / "stalled"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "CLIMB_TEST_STALL": str(stalled)}
    env.pop("WORLD_SIZE", None)
    args = [sys.executable, "-m", "climb_harness", "run", "--config", str(path), "--output", str(tmp_path / "two"),
            "--plugin", "climb_harness.testing.plugin", "--plugin", str(stall_plugin), "--launcher", "accelerate",
            "--num-processes", "2"]
    killed = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while not stalled.exists():
        assert killed.poll() is None and time.time() < deadline, "the run never reached its second task"
        time.sleep(0.2)
    os.killpg(killed.pid, signal.SIGKILL)  # the launcher (the training processes run in sessions of their own)
    killed.wait()
    for pid in _processes_naming(str(tmp_path / "two")):  # kill -9 each training process, as a crash would
        os.kill(pid, signal.SIGKILL)
    while _processes_naming(str(tmp_path / "two")):
        time.sleep(0.1)
    partial = _results(tmp_path, "two", "finetune")
    assert partial["status"] == "running" and len(partial["accuracy_matrix"]) == 1
    env.pop("CLIMB_TEST_STALL")
    resumed = subprocess.run(args + ["--resume"], env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming after task 1 of 2" in resumed.stderr
    a, b = _results(tmp_path, "one", "finetune"), _results(tmp_path, "two", "finetune")
    assert b["status"] == "complete"
    assert a["accuracy_matrix_ci"] == b["accuracy_matrix_ci"]
    for row_a, row_b in zip(a["accuracy_matrix"], b["accuracy_matrix"], strict=True):
        assert row_b == pytest.approx(row_a, abs=SCORE_ATOL)
    assert [e["train_loss"] for t in b["training_log"] for e in t["epochs"]] == pytest.approx(
        [e["train_loss"] for t in a["training_log"] for e in t["epochs"]], rel=LOSS_RTOL)


@pytest.mark.parametrize("exc, expected", [
    (RuntimeError("[../gloo/transport/tcp/pair.cc:553] Connection closed by peer [127.0.0.1]:1154"), True),
    (type("DistBackendError", (RuntimeError,), {})("NCCL communicator was aborted"), True),
    (RuntimeError("mat1 and mat2 shapes cannot be multiplied"), False),
    (ValueError("bad option"), False),
])
def test_a_dead_peer_is_told_apart_from_a_bug(exc: BaseException, expected: bool) -> None:
    from climb_harness.scale.parallel import is_peer_failure

    assert is_peer_failure(exc) is expected


def test_the_main_process_gate_on_writes_imports_no_torch(tmp_path: Path) -> None:
    """Every file write asks whether this is the main process; climb report and climb list must stay light."""
    code = ("import sys; from pathlib import Path; from climb_harness.core.results import write_json; "
            "from climb_harness.core.events import EventLog; write_json(Path(sys.argv[1]) / 'x.json', {}); "
            "EventLog(Path(sys.argv[1]), print).write('e'); print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr
    assert (tmp_path / "x.json").exists() and (tmp_path / "events.jsonl").exists()
