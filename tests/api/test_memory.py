"""The memory toolkit for method authors (climb_harness.api._memory, re-exported by climb_harness.api) and the
loss from the logits of one forward pass (ContinualModel.head_loss).

Brute-force checks: the reservoir's inclusion probabilities against capacity / n over many seeds, the ring's
per-task contents against a reference ring, the class-balanced memory against the paper's bound; seeding,
saved state (with per-example tensors and the generator) and the validation of a bad state on load.
"""

from __future__ import annotations

import doctest
import subprocess
import sys
from collections import Counter, deque

import numpy as np
import pytest
import torch

from climb_harness import api
from climb_harness.api import _memory
from climb_harness.api import (ClassBalancedMemory, ReservoirMemory, TaskMemory, budget_share,
                               sample_without_replacement, seeded_generator)


def test_docstring_examples_run():
    failed, attempted = doctest.testmod(_memory, optionflags=doctest.ELLIPSIS)
    assert attempted >= 6 and failed == 0


def test_the_api_exports_the_toolkit_without_importing_torch():
    names = {"ClassBalancedMemory", "Entry", "ReservoirMemory", "TaskMemory", "budget_share",
             "sample_without_replacement", "seeded_generator"}
    assert names <= set(api.__all__) and all(getattr(api, n) is getattr(_memory, n) for n in names)
    code = ("import sys, climb_harness.api as a; assert 'torch' not in sys.modules; a.TaskMemory; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"  # torch arrives with the first use of the toolkit, not with the API


# --------------------------------------------------------------------------- the reservoir
def test_reservoir_inclusion_probabilities_equal_capacity_over_n():
    """Algorithm R: after n offers (over two tasks), each example is held with probability k / n.

    4000 seeds; the binomial standard deviation of each frequency is sqrt(p (1 - p) / 4000) = 0.0063 at
    p = 0.2, so a 5-sigma bound of 0.032 per example (and a chi-square over all 30) separates uniform from
    the usual mistakes (drawing the slot from [0, n - 1), keeping the first k, replacing every time).
    """
    n, k, trials = 30, 6, 4000
    kept: Counter[tuple[str, int]] = Counter()
    for seed in range(trials):
        memory = ReservoirMemory(k, seed=seed)
        for i in range(n):
            memory.offer("a" if i < 12 else "b", i)
        assert len(memory) == k and memory.seen == n and len(set(memory.entries)) == k
        kept.update(memory.entries)
    frequencies = np.array([kept[("a" if i < 12 else "b", i)] / trials for i in range(n)])
    p = k / n
    sigma = np.sqrt(p * (1 - p) / trials)
    assert np.abs(frequencies - p).max() < 5 * sigma, frequencies
    chi2 = float((((frequencies - p) * trials) ** 2 / (p * trials)).sum())
    assert chi2 < 70, chi2  # 29 degrees of freedom: P(chi2 > 70) < 1e-4 under uniformity


def test_reservoir_is_seeded_reproducible_and_resumable_mid_stream():
    def stream(memory, start, stop):
        for i in range(start, stop):
            memory.offer("t", i)

    a, b = ReservoirMemory(5, seed=[3, 1]), ReservoirMemory(5, seed=[3, 1])
    stream(a, 0, 50), stream(b, 0, 50)
    assert a.entries == b.entries
    c = ReservoirMemory(5, seed=[3, 2])
    stream(c, 0, 50)
    assert c.entries != a.entries  # another seed, another sample
    # saved half-way (generator included) and resumed in a fresh object: the same as uninterrupted
    full, half = ReservoirMemory(5, seed=9), ReservoirMemory(5, seed=9)
    stream(full, 0, 80), stream(half, 0, 40)
    resumed = ReservoirMemory(5, seed=123)
    resumed.load_state_dict(half.state_dict("res"), "res")
    stream(resumed, 40, 80)
    assert resumed.entries == full.entries and resumed.seen == full.seen == 80
    # reseed gives the stream a seeded generator of its own (what a method does at each task start)
    d, e = ReservoirMemory(5), ReservoirMemory(5)
    d.reseed(0, 2, 77), e.reseed(0, 2, 77)
    stream(d, 0, 50), stream(e, 0, 50)
    assert d.entries == e.entries
    # a generator passed to the call is used instead of the memory's own
    f, g = ReservoirMemory(5), ReservoirMemory(5)
    rng_f, rng_g = seeded_generator(4), seeded_generator(4)
    for i in range(50):
        f.offer("t", i, rng_f), g.offer("t", i, rng_g)
    assert f.entries == g.entries


def test_reservoir_keeps_each_entrys_tensor_from_its_insertion():
    memory = ReservoirMemory(4, fields=("logits",), seed=0)
    written = {}
    for i in range(40):
        width = 3 if i % 2 else 5  # two tasks, two head widths
        value = torch.full((width,), float(i))
        slot = memory.offer("ab"[i % 2], i, logits=value)
        value.add_(1000.0)  # a later change of the caller's tensor must not reach the memory
        if slot is not None:
            written[slot] = i
    for slot, (task, index) in enumerate(memory.entries):
        assert written[slot] == index
        assert torch.equal(memory.value("logits", slot), torch.full((3 if index % 2 else 5,), float(index)))
    restored = ReservoirMemory(4, fields=("logits",))
    restored.load_state_dict(memory.state_dict("res"), "res")
    assert restored.entries == memory.entries
    assert all(torch.equal(restored.value("logits", s), memory.value("logits", s)) for s in range(4))
    slots = memory.offer_batch("a", [100, 101], logits=torch.zeros(2, 5))
    assert len(slots) == 2 and memory.seen == 42
    with pytest.raises(ValueError, match="fields"):
        ReservoirMemory(2, fields=("logits",)).offer("a", 0)
    with pytest.raises(ValueError, match="one row per index"):
        memory.offer_batch("a", [1, 2], logits=torch.zeros(3, 5))


# --------------------------------------------------------------------------- the per-task ring
def test_ring_keeps_the_counts_and_the_examples_it_promises():
    """Random streams over three tasks with different capacities: each task holds min(capacity, distinct
    indices seen) entries, exactly the last distinct ones of its own stream, in arrival order."""
    rng = np.random.default_rng(5)
    capacity = {"a": 4, "b": 7, "c": 1}
    memory = TaskMemory(capacity=3)
    reference = {task: deque() for task in capacity}
    for _ in range(300):
        task = str(rng.choice(list(capacity)))
        batch = [int(i) for i in rng.integers(0, 12, size=int(rng.integers(1, 6)))]
        memory.push(task, batch, capacity=capacity[task])
        ring = reference[task]
        for index in batch:
            if index not in ring:
                ring.append(index)
                if len(ring) > capacity[task]:
                    ring.popleft()
        for name in capacity:
            assert memory.indices(name) == list(reference[name])
    assert [len(memory.indices(t)) for t in capacity] == [4, 7, 1]
    assert len(memory) == 12 and memory.entries(["c", "a"])[0][0] == "c"


def test_ring_fields_follow_their_indices_and_survive_a_state_round_trip():
    memory = TaskMemory(capacity=3, fields=("logits",), seed=0)
    for start in range(0, 12, 2):
        memory.push("t", [start, start + 1], logits=torch.tensor([[float(start)], [float(start + 1)]]))
    memory.set("u", [7, 8, 9, 10], capacity=2, logits=torch.ones(4, 2))
    assert memory.indices("t") == [9, 10, 11]
    assert [float(v) for v in memory.values("logits", "t")] == [9.0, 10.0, 11.0]
    assert memory.indices("u") == [7, 8] and len(memory.values("logits", "u")) == 2
    state = memory.state_dict("ring")
    assert state["ring.values.logits.t"].shape == (3, 1) and state["ring.indices.u"].dtype == torch.int64
    restored = TaskMemory(capacity=3, fields=("logits",))
    restored.load_state_dict(state, "ring")
    assert restored.tasks() == ["t", "u"] and restored.indices("t") == [9, 10, 11]
    assert torch.equal(torch.stack(restored.values("logits", "t")), state["ring.values.logits.t"])
    assert restored.rng.bit_generator.state == memory.rng.bit_generator.state


# --------------------------------------------------------------------------- GDumb's class-balanced memory
def test_class_balanced_memory_stays_balanced_on_a_skewed_stream():
    """Prabhu et al.'s sampler: once full, no class seen can be starved below capacity / classes (when it
    offered that many) nor can the largest exceed the smallest by more than one, whatever the skew."""
    for seed in range(20):
        rng = np.random.default_rng(seed)
        memory = ClassBalancedMemory(30, seed=seed)
        labels = rng.choice(6, size=600, p=[0.6, 0.2, 0.1, 0.05, 0.03, 0.02])
        offered: Counter[tuple[str, int]] = Counter()
        for i, label in enumerate(labels):
            task = "early" if i < 300 else "late"  # classes are (task, label): 12 in all
            memory.offer(task, i, int(label))
            offered[(task, int(label))] += 1
            assert len(memory) == min(i + 1, 30)
        counts = memory.class_counts()
        assert sum(counts.values()) == 30 and set(counts) == set(offered)
        fair = 30 / len(counts)
        plenty = [c for c in counts if offered[c] >= np.ceil(fair)]
        assert all(counts[c] >= np.floor(fair) for c in plenty), (counts, offered)
        assert all(counts[c] == offered[c] for c in counts if offered[c] < np.floor(fair))  # rare: all kept
        assert max(counts[c] for c in plenty) - min(counts[c] for c in plenty) <= 1, counts


def test_class_balanced_state_round_trip_and_validation():
    memory = ClassBalancedMemory(5, seed=1)
    for i in range(20):
        memory.offer("t", i, "x,y" if i % 3 else 0)
    restored = ClassBalancedMemory(5)
    restored.load_state_dict(memory.state_dict("gd"), "gd")
    assert restored.entries == memory.entries and restored.class_counts() == memory.class_counts()
    bad = {**memory.state_dict("gd"), "gd.labels": memory.labels[:-1]}
    with pytest.raises(ValueError, match="gd.labels"):
        ClassBalancedMemory(5).load_state_dict(bad, "gd")
    with pytest.raises(TypeError, match="label"):
        memory.offer("t", 99, 1.5)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- a bad state names its key
@pytest.mark.parametrize("change, error, key", [
    (lambda s: s.pop("res.task_ids"), ValueError, "res.indices"),
    (lambda s: s.update({"res.indices": torch.tensor([[1, 2]])}), ValueError, "res.indices"),
    (lambda s: s.update({"res.indices": torch.tensor([0.5, 1.0, 2.0])}), ValueError, "res.indices"),
    (lambda s: s.update({"res.task_ids": torch.tensor([0, 0, 9])}), ValueError, "res.task_ids"),
    (lambda s: s.update({"res.seen": 1}), ValueError, "res.seen"),
    (lambda s: s.update({"res.seen": "many"}), ValueError, "res.seen"),
    (lambda s: s.update({"res.task_names": "a"}), ValueError, "res.task_names"),
    (lambda s: s.pop("res.values.logits.a"), KeyError, "res.values.logits.a"),
    (lambda s: s.update({"res.values.logits.a": torch.zeros(7, 2)}), ValueError, "res.values.logits.a"),
    (lambda s: s.update({"res.rng": {"bit_generator": "MT19937"}}), ValueError, "res.rng"),
    (lambda s: s.update({"res.rng": {**s["res.rng"], "state": {"state": "x"}}}), ValueError, "res.rng"),
])
def test_a_bad_reservoir_state_is_refused_naming_the_key(change, error, key):
    memory = ReservoirMemory(3, fields=("logits",))
    for i in range(6):
        memory.offer("a", i, logits=torch.zeros(2))
    state = memory.state_dict("res")
    change(state)
    with pytest.raises(error, match=key.replace(".", r"\.")):
        ReservoirMemory(3, fields=("logits",)).load_state_dict(state, "res")


def test_a_bad_task_memory_state_is_refused_naming_the_key():
    with pytest.raises(KeyError, match=r"mem\.indices\.c"):
        TaskMemory().load_state_dict({"mem.tasks": ["c"]}, "mem")
    with pytest.raises(ValueError, match=r"mem\.indices\.c"):
        TaskMemory().load_state_dict({"mem.tasks": ["c"], "mem.indices.c": torch.tensor([-1])}, "mem")
    with pytest.raises(ValueError, match=r"mem\.tasks"):
        TaskMemory().load_state_dict({"mem.tasks": [3]}, "mem")
    with pytest.raises(KeyError, match=r"mem\.values\.z\.c"):
        state = {"mem.tasks": ["c"], "mem.indices.c": torch.tensor([1])}
        TaskMemory(fields=("z",)).load_state_dict(state, "mem")
    TaskMemory().load_state_dict({}, "mem")  # an empty state (written before any task) is fine


def test_constructor_arguments_are_checked():
    with pytest.raises(ValueError, match="at least 1"):
        ReservoirMemory(0)
    with pytest.raises(ValueError, match="at least 1"):
        TaskMemory(capacity=0)
    with pytest.raises(ValueError, match="identifier"):
        ReservoirMemory(2, fields=("a.b",))


def test_budget_shares_add_up_and_draws_are_without_replacement():
    for total in (1, 7, 100, 101):
        for tasks in (1, 3, 7):
            shares = [budget_share(total, tasks, i) for i in range(tasks)]
            assert sum(shares) == total and max(shares) - min(shares) <= 1
    with pytest.raises(ValueError, match="outside"):
        budget_share(10, 3, 3)
    drawn = sample_without_replacement(list(range(10)), 6, seeded_generator(1))
    assert len(drawn) == len(set(drawn)) == 6
    assert sample_without_replacement([], 3, seeded_generator(1)) == []


# --------------------------------------------------------------------------- the loss from one forward pass
def test_head_loss_from_logits_equals_the_loss_for_every_head_type():
    from climb_harness.core.heads import ContinualModel
    from climb_harness.testing.components import TinyEncoder

    heads = {"classification": {"type": "classification", "num_labels": 4},
             "soft-score": {"type": "soft-score", "num_labels": 5},
             "multi-label": {"type": "multi-label", "num_labels": 3},
             "multiple-choice": {"type": "multiple-choice", "num_choices": 2}}
    infos = {name: api.TaskInfo(name=name, modality="language", images_per_example=0,
                                head=api.HeadSpec.from_manifest(head)) for name, head in heads.items()}
    torch.manual_seed(0)
    model = ContinualModel(TinyEncoder({}), infos)
    targets = {"classification": torch.tensor([0, 3, 1]), "soft-score": torch.rand(3, 5),
               "multi-label": (torch.rand(3, 3) > 0.5).float(), "multiple-choice": torch.tensor([1, 0, 1])}
    for name, info in infos.items():
        views = info.num_views
        batch = {"input_ids": torch.randint(1, 100, (3, views, 12)), "pixels": torch.rand(3, views, 64),
                 "targets": targets[name]}
        model.eval()  # the multiple-choice head's dropout: the same forward twice
        logits = model(name, batch)
        assert torch.equal(model.head_loss(name, logits, batch["targets"]), model.loss(name, batch)), name
