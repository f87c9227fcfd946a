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


BUDGET = {  # a native per-task size that differs from the budget's share, to show memory_size overrides it
    "experience-replay": {"memory_percentage": 0.5, "replay_frequency": 2},
    "er-reservoir": {"replay_frequency": 2},
    "er-ring": {"memories_per_task": 20},
    "agem": {"memories_per_task": 20, "sample_size": 4},
}


@pytest.mark.parametrize("name", list(BUDGET))
def test_memory_size_is_one_total_budget_over_the_sequence(h, tmp_path, name):
    """memory_size=7 over 3 tasks: 7 examples stored in all, 3 + 2 + 2 where the memory is per task."""
    algorithm = h.build(name, memory_size=7, **BUDGET[name])
    results = h.run(algorithm, tmp_path, tasks=3)
    memory = algorithm.memory
    if name == "er-reservoir":  # one shared reservoir of 7, filled from the stream of all tasks
        assert len(memory) == 7 and memory.seen == 3 * 48
    else:
        assert [len(memory.indices(t)) for t in results["tasks"]] == [3, 2, 2]
        assert all(len(set(memory.indices(t))) == len(memory.indices(t)) for t in results["tasks"])


def test_budget_shares_add_up_to_the_total():
    from climb_replay._common import budget_share

    for total in (1, 2, 7, 100, 101):
        for tasks in (1, 2, 3, 7):
            shares = [budget_share(total, tasks, i) for i in range(tasks)]
            assert sum(shares) == total and max(shares) - min(shares) <= 1 and shares == sorted(shares, reverse=True)
    with pytest.raises(ValueError):
        budget_share(10, 3, 3)
