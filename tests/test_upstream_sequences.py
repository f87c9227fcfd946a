"""CLiMB's upstream tasks in two-task sequences, end to end, on each plugin's sample release.

VQAv2 -> NLVR2 (a soft-score head, then a two-image task: ViLT's token-type table grows) and
SNLI-VE -> VCR (three-way classification, then multiple choice), with the smallest ViLT (its
manifest's ``test_options``), sequential fine-tuning, one epoch, and a resume from task 1 that must
reproduce the run exactly.
"""

from __future__ import annotations

import importlib
import math
from pathlib import Path

import pytest

from climb_harness.registry import Registry
from climb_harness.testing import run_algorithm, single_thread

PACKAGES = {"vqav2": "climb_vqav2", "nlvr2": "climb_nlvr2", "snli-ve": "climb_snli_ve", "vcr": "climb_vcr"}


def _tasks(registry: Registry, names: list[str], root: Path) -> list:
    tasks = []
    for name in names:
        try:
            sample = importlib.import_module(f"{PACKAGES[name]}.sample")
        except ImportError as exc:
            pytest.skip(f"the {name} plugin (with its sample release) is not installed: {exc}")
        folder = sample.write_sample_release(root / name)
        tasks.append(registry.build("task", name, {"data_dir": str(folder)}))
    return tasks


@pytest.mark.parametrize("names", [["vqav2", "nlvr2"], ["snli-ve", "vcr"]], ids=lambda n: "->".join(n))
def test_two_task_sequence_runs_and_resumes_exactly(names, tmp_path):
    registry = Registry()
    if "vilt" not in registry.entries["encoder"]:
        pytest.skip("climb-vilt is not installed")
    options = dict(registry.get("encoder", "vilt").manifest["test_options"])
    algorithm = lambda: registry.build("algorithm", "sequential-ft")  # noqa: E731
    encoder = lambda: registry.build("encoder", "vilt", options)  # noqa: E731
    with single_thread():
        full = run_algorithm(algorithm(), tmp_path / "full", tasks=_tasks(registry, names, tmp_path / "data"),
                             encoder_factory=encoder, epochs=1, batch_size=4, lr=1e-3)
        tasks = _tasks(registry, names, tmp_path / "data2")
        with pytest.raises(BaseException):  # the crash after task 1, as a killed process leaves the run
            run_algorithm(algorithm(), tmp_path / "resumed", tasks=tasks, encoder_factory=encoder, epochs=1,
                          batch_size=4, lr=1e-3, stop_after=0)
        resumed = run_algorithm(algorithm(), tmp_path / "resumed", tasks=tasks, encoder_factory=encoder, epochs=1,
                                batch_size=4, lr=1e-3, resume=True)
    matrix = full["accuracy_matrix"]
    assert full["tasks"] == names and len(matrix) == 2 and all(len(row) == 2 for row in matrix)
    assert all(math.isfinite(v) and 0 <= v <= 100 for row in matrix for v in row)
    assert resumed["accuracy_matrix"] == matrix
