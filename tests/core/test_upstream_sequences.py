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

from climb_harness.core.checkpoints import adapted_tasks, checkpoint_path, load_checkpoint
from climb_harness.core.registry import Registry
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
    # The checkpoint says what adapt_to_tasks changed (NLVR2 grows ViLT's token types to 3 rows), and the
    # tasks it was adapted to rebuild a model the weights load into without guessing.
    path = checkpoint_path(tmp_path / "full", 1, names[1])
    state, metadata, _ = load_checkpoint(path)
    table = "encoder.transformer.embeddings.token_type_embeddings.weight"
    hidden = state[table].shape[1]
    expected = {table: [[2, hidden], [3, hidden]]} if "nlvr2" in names else {}
    assert metadata["encoder_shape_changes"] == expected
    rebuilt = encoder()
    rebuilt.adapt_to_tasks(adapted_tasks(path, metadata))
    assert [t.name for t in adapted_tasks(path, metadata)] == names
    encoder_state = {k.removeprefix("encoder."): v for k, v in state.items() if k.startswith("encoder.")}
    assert rebuilt.load_state_dict(encoder_state, strict=True)
