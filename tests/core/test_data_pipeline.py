"""The data pipeline: preloaded splits, batches collated in DataLoader workers, and ``preload: auto``."""

from __future__ import annotations

import pytest
import torch

import dataclasses
import json
import os

import numpy as np
from PIL import Image

from climb_harness.api import Algorithm, UnreadableImageError
from climb_harness.core.data import BatchLoader, SplitData, iterate_batches
from climb_harness.api.errors import ClimbError, PluginError
from climb_harness.core.results import read_results
from climb_harness.core.engine import Runner

from climb_harness.testing.components import SyntheticTask, TinyEncoder, synthetic_task
from climb_harness.testing.runs import run_spec, tiny_tasks


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
    monkeypatch.setattr("climb_harness.core.data.SIZE_SAMPLE", 8)  # the tiny split is smaller than the real sample
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


# --------------------------------------------------------------------------- unreadable images
class _ImageFiles(SyntheticTask):
    """A synthetic task whose images are PNG files (``broken`` indices of the train split corrupt)."""

    def __init__(self, base: SyntheticTask, folder, broken: dict[str, set[int]]) -> None:
        super().__init__(base.options)
        self.manifest = base.manifest
        self._folder, self._broken, self._files = folder, broken, {}

    def examples(self, split):
        if split not in self._files:
            out = []
            for i, example in enumerate(super().examples(split)):
                path = self._folder / f"{self.name}-{split}-{i}.png"
                if i in self._broken.get(split, set()):
                    path.write_bytes(b"not a png")
                else:
                    Image.fromarray(np.asarray(example.images[0])).save(path)
                out.append(dataclasses.replace(example, images=(str(path),)))
            self._files[split] = out
        return self._files[split]


def _file_split(tmp_path, broken, preload, skip):
    task = _ImageFiles(synthetic_task("files", size=24), tmp_path, {"train": broken})
    return SplitData(task.examples("train"), task.info, TinyEncoder({}), preload, skip_unreadable=skip)


@pytest.mark.parametrize("workers", [0, 2])
def test_an_unreadable_image_stops_the_run_naming_the_file(tmp_path, workers):
    split = _file_split(tmp_path, {3}, False, skip=False)
    with pytest.raises(UnreadableImageError) as caught:
        list(iterate_batches({"t": split}, [("t", [0, 1]), ("t", [2, 3, 4])], workers=workers))
    assert caught.value.path.endswith("files-train-3.png") and "files-train-3.png" in str(caught.value)
    assert "skip_unreadable_images" in str(caught.value) and "Traceback" not in str(caught.value)
    with pytest.raises(UnreadableImageError):
        _file_split(tmp_path, {3}, True, skip=False)  # preloading meets it too


@pytest.mark.parametrize(("preload", "workers"), [(True, 0), (False, 0), (False, 2)])
def test_skipping_leaves_out_exactly_the_unreadable_examples(tmp_path, preload, workers):
    split = _file_split(tmp_path, {3, 7, 8}, preload, skip=True)
    plan = [("t", [0, 3, 5]), ("t", [7, 8]), ("t", [1, 2, 9])]
    got = list(iterate_batches({"t": split}, plan, workers=workers))
    assert [indices for _, indices, _ in got] == [[0, 5], [1, 2, 9]]  # the all-unreadable batch is left out
    assert sorted(split.skipped) == [3, 7, 8]
    assert all(path.endswith(f"files-train-{i}.png") for i, path in split.skipped.items())
    for _, indices, batch in got:
        assert torch.equal(batch["targets"], split.targets[indices])
        assert batch["input_ids"].shape[0] == len(indices)
    with pytest.raises(ClimbError, match="None of the 2 requested examples"):
        split.batch([7, 8])


def test_skipped_examples_are_reported_in_results_and_merged_on_resume(tmp_path):
    (tmp_path / "img").mkdir()
    tasks = [_ImageFiles(t, tmp_path / "img", {"train": {1, 2}, "test": {0}}) for t in tiny_tasks(2, size=16)]
    spec = run_spec(Algorithm(), tmp_path / "run", tasks=tasks, stop_after=0)
    spec.training = dataclasses.replace(spec.training, skip_unreadable_images=True, preload=False, num_workers=2)
    lines = []
    spec.echo = lines.append
    with pytest.raises(Exception):
        Runner(spec).run()
    first = json.loads((tmp_path / "run" / "results.json").read_text())
    assert first["skipped_examples"]["colours"]["train"] == {"count": 2, "indices": [1, 2], "files": [
        str(tmp_path / "img" / "colours-train-1.png"), str(tmp_path / "img" / "colours-train-2.png")]}
    assert first["skipped_examples"]["colours"]["test"]["indices"] == [0]
    assert any("left out" in line and "colours" in line for line in lines)
    spec.hooks = None
    results = Runner(spec).run(resume=True)
    read_results(tmp_path / "run" / "results.json")  # valid against the schema
    skipped = results["skipped_examples"]
    assert skipped["colours"]["train"]["indices"] == [1, 2]  # found by the first process, kept on resume
    assert skipped["yesno"]["train"]["indices"] == [1, 2] and skipped["yesno"]["test"]["indices"] == [0]


# --------------------------------------------------------------------------- persistent workers
class _Pid(TinyEncoder):
    def collate(self, examples, task):
        return {**super().collate(examples, task), "pid": torch.full((len(examples),), os.getpid())}


def test_workers_persist_across_passes_and_stop_on_close():
    split = _split(False, encoder=_Pid({}))
    loader = BatchLoader({"t": split}, workers=2)
    plan = [("t", [i, i + 1]) for i in range(0, 16, 2)]
    first = {int(p) for _, _, batch in loader.batches(plan) for p in batch["pid"]}
    second = {int(p) for _, _, batch in loader.batches(plan[:3]) for p in batch["pid"]}
    assert os.getpid() not in first and len(first) == 2 and second <= first
    loader.close()
    for pid in first:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
