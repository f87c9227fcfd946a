"""The index memories on their own: bounds, FIFO order, Algorithm R's uniformity, state round trips."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from climb_replay.memory import ReservoirMemory, TaskMemory, sample


def test_task_memory_holds_ints_and_respects_its_capacity():
    memory = TaskMemory(capacity=3)
    memory.set("a", np.array([5, 1, 7, 9]))
    assert memory.indices("a") == [5, 1, 7] and all(type(i) is int for i in memory.indices("a"))
    memory.set("b", torch.tensor([2]))
    assert memory.tasks() == ["a", "b"] and len(memory) == 4
    assert memory.entries(["b", "a"]) == [("b", 2), ("a", 5), ("a", 1), ("a", 7)]
    assert memory.entries(["c"]) == []


def test_push_is_a_fifo_ring_without_duplicates():
    memory = TaskMemory(capacity=4)
    stream = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]
    for start in range(0, len(stream), 3):
        memory.push("t", stream[start : start + 3])
        assert len(memory.indices("t")) <= 4
    # reference: a deque of the last 4 distinct arrivals (a repeat of a held index is ignored)
    ring: list[int] = []
    for i in stream:
        if i not in ring:
            ring.append(i)
            ring = ring[-4:]
    assert memory.indices("t") == ring == [9, 2, 6, 3]


def test_task_memory_state_round_trip():
    memory = TaskMemory(capacity=10)
    memory.set("a.b", [4, 2])
    memory.set("c", [])
    state = memory.state_dict("mem")
    assert state["mem.tasks"] == ["a.b", "c"] and state["mem.indices.a.b"].dtype == torch.int64
    restored = TaskMemory(capacity=10)
    restored.load_state_dict(state, "mem")
    assert restored.indices("a.b") == [4, 2] and restored.indices("c") == [] and restored.tasks() == ["a.b", "c"]
    with pytest.raises(KeyError, match="mem.indices.c"):
        TaskMemory().load_state_dict({"mem.tasks": ["c"]}, "mem")


def test_reservoir_never_exceeds_its_size_and_keeps_the_first_k():
    rng = np.random.default_rng(0)
    memory = ReservoirMemory(5)
    for i in range(5):
        memory.offer("t", i, rng)
    assert memory.entries == [("t", i) for i in range(5)]
    for i in range(5, 200):
        memory.offer("u" if i % 2 else "t", i, rng)
        assert len(memory) == 5
    assert memory.seen == 200
    assert len(set(memory.entries)) == 5 and all(type(i) is int for _, i in memory.entries)
    assert memory.select(["u"]) == [e for e in memory.entries if e[0] == "u"]


def test_reservoir_keeps_every_example_with_equal_probability():
    """Algorithm R: after a stream of n, each example is held with probability k / n."""
    rng = np.random.default_rng(1)
    n, k, trials = 20, 5, 2000
    kept: Counter[int] = Counter()
    for _ in range(trials):
        memory = ReservoirMemory(k)
        for i in range(n):
            memory.offer("t", i, rng)
        kept.update(i for _, i in memory.entries)
    frequencies = np.array([kept[i] / trials for i in range(n)])
    assert np.abs(frequencies - k / n).max() < 0.04, frequencies  # 4 standard deviations


def test_reservoir_state_round_trip_and_size_check():
    rng = np.random.default_rng(2)
    memory = ReservoirMemory(4)
    for i in range(9):
        memory.offer("ab"[i % 2], i, rng)
    state = memory.state_dict("res")
    assert state["res.seen"] == 9 and state["res.indices"].dtype == torch.int64
    restored = ReservoirMemory(4)
    restored.load_state_dict(state, "res")
    assert restored.entries == memory.entries and restored.seen == 9
    with pytest.raises(ValueError, match="memory_size 2"):
        ReservoirMemory(2).load_state_dict(state, "res")


def test_sample_draws_without_replacement_up_to_what_is_held():
    rng = np.random.default_rng(3)
    entries = [("t", i) for i in range(6)]
    picked = sample(entries, 4, rng)
    assert len(picked) == len(set(picked)) == 4 and set(picked) <= set(entries)
    assert sorted(sample(entries, 50, rng)) == entries
    assert sample([], 3, rng) == []
