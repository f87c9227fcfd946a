"""climb run --backend ray: a 2 x 2 grid on a local cluster equals the local backend, and a cell whose
worker is killed is retried and finishes with the same numbers (skipped when Ray is not installed)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.slow,  # a Ray cluster and killed workers: CI runs it, the quick loop skips it
              pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed (pip install climb-harness[ray])")]

CLIMB = str(Path(sys.executable).with_name("climb"))
CONFIG = {
    "name": "grid", "encoder": "tiny", "seeds": [0, 1], "training": {"epochs": 1, "progress": False},
    "tasks": [{"name": "synthetic-colour", "options": {"size": 32, "seed": 1}},
              {"name": "synthetic-yesno", "options": {"size": 32, "seed": 2}}],
    "algorithms": ["finetune", {"name": "finetune", "label": "finetune-b"}],
    "references": {"direct": True},
}
#: An observer that kills its worker process once, right after the first task of finetune seed 0.
KILLER = '''
import os
from pathlib import Path

from climb_harness.api import hookimpl


@hookimpl
def climb_task_end(run, task_index, task, scores):
    marker = Path(str(run["output_dir"])).parent.parent / "killed-once"
    if run["algorithm"] == "finetune" and run["seed"] == 0 and task_index == 0 and not marker.exists():
        marker.write_text("killed")
        os._exit(1)
'''


def _climb(tmp_path: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    config = tmp_path / "grid.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    # no OMP_NUM_THREADS: the backends must agree with the defaults (training.threads), not by a forced setting
    env = {**{k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}, "HF_HUB_OFFLINE": "1",
           "CLIMB_CACHE_DIR": str(tmp_path / "cache"), "RAY_USAGE_STATS_ENABLED": "0"}
    return subprocess.run([CLIMB, "run", "--config", str(config), "--plugin", "climb_harness.testing.plugin",
                           "--output", str(out), *extra], capture_output=True, text=True, env=env, timeout=300)


def _matrices(out: Path) -> dict[str, tuple]:
    found = {}
    for path in sorted(out.glob("*/seed-*/results.json")):
        results = json.loads(path.read_text())
        assert results["status"] == "complete" and results["provenance"]["threads"] == 1
        found[f"{path.parent.parent.name}/{path.parent.name}"] = (results["accuracy_matrix"], results["accuracy_matrix_ci"])
    return found


@pytest.fixture(scope="module")
def local(tmp_path_factory) -> dict[str, tuple]:
    tmp = tmp_path_factory.mktemp("local")
    done = _climb(tmp, tmp / "out")
    assert done.returncode == 0, done.stderr
    return _matrices(tmp / "out")


def test_a_grid_on_ray_equals_the_local_backend(tmp_path, local):
    done = _climb(tmp_path, tmp_path / "out", "--backend", "ray")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "[4/4]" in done.stderr and len(local) == 4
    assert _matrices(tmp_path / "out") == local


def test_a_killed_cell_is_retried_and_ends_with_the_same_numbers(tmp_path, local):
    killer = tmp_path / "killer_plugin.py"
    killer.write_text(KILLER)
    done = _climb(tmp_path, tmp_path / "out", "--backend", "ray", "--plugin", str(killer), "--retries", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "out" / "killed-once").exists()  # the worker really died once
    assert _matrices(tmp_path / "out") == local


def test_without_ray_the_backend_says_how_to_install_it(tmp_path, monkeypatch):
    from climb_harness.scale import ray as ray_backend

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(Exception, match=r"pip install climb-harness\[ray\]"):
        ray_backend._ray()
