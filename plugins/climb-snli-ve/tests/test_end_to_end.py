"""End to end: snli-ve (then a second, differently sampled task) through the harness's Runner with ViLT.

The encoder is the climb-vilt ViLT built from its manifest's ``test_options`` (one layer, width 32),
trained for one epoch on the tiny folder in the release layout; the images are decoded only in the
encoder's collate.
"""

from __future__ import annotations

import math

import pytest

from climb_harness.api import Algorithm
from climb_harness.testing import build_component, run_algorithm, single_thread


class SequentialFineTuning(Algorithm):
    """The base class is sequential fine-tuning; named for the results file."""

    manifest = {"name": "finetune"}


@pytest.fixture
def vilt_factory(climb_registry):
    try:
        entry = climb_registry.get("encoder", "vilt")
    except Exception as exc:  # noqa: BLE001 - climb-vilt not installed
        pytest.skip(f"climb-vilt is not installed: {exc}")
    options = dict(entry.manifest["test_options"])
    return lambda: climb_registry.build("encoder", "vilt", options)


def _task(climb_registry, snli_dir, name=None, **options):
    from climb_snli_ve.plugin import climb_tasks

    task = build_component(climb_tasks()[0], data_dir=str(snli_dir), **options)
    if name:  # a second snli-ve with another name, so one run can hold both
        task.manifest = {**task.manifest, "name": name}
    return task


def test_two_task_run_with_vilt(climb_registry, snli_dir, tmp_path, vilt_factory):
    tasks = [_task(climb_registry, snli_dir), _task(climb_registry, snli_dir, "snli-ve-small",
                                                    max_train_examples=6, max_eval_examples=2)]
    with single_thread():
        results = run_algorithm(SequentialFineTuning(), tmp_path / "run", tasks=tasks,
                                encoder_factory=vilt_factory, epochs=1, batch_size=4, lr=1e-3)
    assert results["status"] == "complete" and results["tasks"] == ["snli-ve", "snli-ve-small"]
    matrix = results["accuracy_matrix"]
    assert len(matrix) == 2 and all(len(row) == 2 for row in matrix), matrix
    values = [v for row in matrix for v in row if v is not None]
    assert values and all(math.isfinite(v) and 0 <= v <= 100 for v in values), matrix
    for i in range(2):  # the diagonal and the lower triangle are always scored
        assert all(matrix[i][j] is not None for j in range(i + 1)), matrix
