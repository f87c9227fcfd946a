"""Every replay method end to end through the core Runner, with resume equality and index-only memories."""

from __future__ import annotations

import pytest

SMALL = {
    "experience-replay": {"memory_percentage": 0.25, "replay_frequency": 2},
    "er-reservoir": {"memory_size": 16, "replay_frequency": 2},
    "er-ring": {"memories_per_task": 12},
    "agem": {"memories_per_task": 12, "sample_size": 16},
}


@pytest.mark.parametrize("name", list(SMALL))
def test_resume_reproduces_an_uninterrupted_run(h, tmp_path, name):
    results = h.assert_resume_reproduces(lambda: h.build(name, **SMALL[name]), tmp_path)
    assert results["algorithm"] == name and len(results["accuracy_matrix"]) == 2
    _, state = h.final_weights(tmp_path / "full", results)
    tensors = {k: v for k, v in state.items() if hasattr(v, "dtype")}
    assert tensors and all(str(v.dtype) == "torch.int64" for v in tensors.values())  # indices only


@pytest.mark.parametrize("name", list(SMALL))
def test_memory_holds_indices_not_tensors(h, tmp_path, name):
    algorithm = h.build(name, **SMALL[name])
    h.run(algorithm, tmp_path)
    h.assert_holds_no_float_tensors(algorithm)
    memory = algorithm.memory
    held = [i for _, i in memory.entries] if hasattr(memory, "seen") else [i for t in memory.tasks() for i in memory.indices(t)]
    assert held and all(type(i) is int for i in held)


def test_the_float_tensor_check_can_fail(h):
    import torch

    algorithm = h.build("er-ring")
    algorithm.memory.cached = {"batch": torch.zeros(2, 3)}
    with pytest.raises(AssertionError, match="float tensor"):
        h.assert_holds_no_float_tensors(algorithm)
