"""The data pipeline: preloaded splits, batches collated in DataLoader workers, and ``preload: auto``."""

from __future__ import annotations

import pytest
import torch

from climb_harness.data import SplitData, iterate_batches
from climb_harness.errors import ClimbError, PluginError
from climb_harness.testing.components import TinyEncoder
from climb_harness.testing.runs import tiny_tasks


def _split(preload, budget=4096.0, encoder=None):
    task = tiny_tasks()[0]
    return SplitData(task.examples("train"), task.info, encoder or TinyEncoder({}), preload, memory_budget_mb=budget)


@pytest.mark.parametrize("workers", [0, 2])
def test_loaded_batches_equal_preloaded_slices(workers):
    preloaded, lazy = _split(True), _split(False)
    assert preloaded.preloaded and not lazy.preloaded
    plan = [("t", [5, 1, 9]), ("t", [0]), ("t", list(range(20, 30)))]
    got = list(iterate_batches({"t": lazy}, plan, workers=workers))
    assert [(task, idx) for task, idx, _ in got] == plan
    for (_, indices, batch) in got:
        expected = preloaded.batch(indices)
        assert batch.keys() == expected.keys()
        assert all(torch.equal(batch[k], expected[k]) for k in batch)


def test_auto_preloads_only_what_fits_the_budget(monkeypatch):
    monkeypatch.setattr("climb_harness.data.SIZE_SAMPLE", 8)  # the tiny split is smaller than the real sample
    fits = _split("auto", budget=4096.0)
    assert fits.preloaded
    tiny_budget = _split("auto", budget=1e-6)
    assert not tiny_budget.preloaded and tiny_budget.estimated_mb is not None and tiny_budget.estimated_mb > 1e-6


class _Broken(TinyEncoder):
    def collate(self, examples, task):
        if len(examples) == 1:
            raise ValueError("cannot decode image 7.png")
        return super().collate(examples, task)


def test_a_failure_in_a_worker_is_one_paragraph_naming_the_encoder():
    split = _split(False, encoder=_Broken({}))
    with pytest.raises(ClimbError) as caught:
        list(iterate_batches({"t": split}, [("t", [0, 1]), ("t", [3])], workers=2))
    assert isinstance(caught.value, PluginError)
    assert "cannot decode image 7.png" in str(caught.value) and "Traceback" not in str(caught.value)
