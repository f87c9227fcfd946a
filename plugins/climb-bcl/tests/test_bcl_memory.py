"""The dual memory (split, sampling, checkpointing) and the distillation term."""

from __future__ import annotations

import pytest
import torch
from climb_bcl.distill import distillation_loss
from climb_bcl.memory import DualMemory, split_memory
from torch.nn import functional as F


@pytest.mark.parametrize(
    "n,n_val,expected_eval",
    [(65, 0.2, 13), (10, 0.2, 2), (2, 0.2, 1), (3, 0.9, 2), (1, 0.5, 0), (10, 0.0, 0)],
)
def test_split_is_disjoint_and_covers_the_memory(n, n_val, expected_eval):
    indices = [100 + i for i in range(n)]
    replay, evaluation = split_memory(indices, n_val)
    assert len(evaluation) == expected_eval
    assert not set(replay) & set(evaluation)
    assert sorted(replay + evaluation) == indices
    assert len(replay) >= 1


def test_sampling_draws_from_the_right_store_without_replacement():
    memory = DualMemory()
    memory.add_task("a", list(range(20)), 0.25)
    memory.add_task("b", list(range(100, 110)), 0.2)
    generator = torch.Generator().manual_seed(0)
    for kind, store in (("replay", memory.replay), ("eval", memory.evaluation)):
        drawn = memory.sample(kind, 8, generator)
        picked = [int(i) for _, idx, _ in drawn for i in idx]
        assert len(picked) == len(set(picked)) == min(8, memory.size(kind))
        for task, idx, rows in drawn:
            assert torch.equal(store[task][rows], idx)
    everything = memory.sample("eval", 1000, generator)  # more than stored: all of it, once
    assert sum(len(idx) for _, idx, _ in everything) == memory.size("eval") == 5 + 2


def test_state_round_trip():
    memory = DualMemory()
    memory.add_task("a", [5, 3, 9, 1, 7], 0.2)
    memory.set_teacher("a", torch.randn(4, 3))
    state = memory.state_dict()
    assert all(isinstance(v, torch.Tensor) for k, v in state.items() if k != "memory.tasks")
    again = DualMemory()
    again.load_state_dict(state)
    assert again.tasks == ["a"]
    assert torch.equal(again.replay["a"], memory.replay["a"]) and torch.equal(
        again.evaluation["a"], memory.evaluation["a"]
    )
    assert torch.equal(again.teacher["a"], memory.teacher["a"])


def test_teacher_rows_must_match_replay():
    memory = DualMemory()
    memory.add_task("a", [1, 2, 3], 0.0)
    with pytest.raises(ValueError, match="teacher logits"):
        memory.set_teacher("a", torch.zeros(2, 4))


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
def test_softmax_distillation_matches_the_released_code_scale():
    student, teacher = torch.randn(6, 5), torch.randn(6, 5)
    reference = torch.nn.KLDivLoss()(
        F.log_softmax(student / 5, dim=1), F.softmax(teacher / 5, dim=1)
    )  # the released code's term
    assert distillation_loss("classification", student, teacher, 5.0).item() == pytest.approx(
        reference.item(), rel=1e-5
    )
    assert distillation_loss("multiple-choice", teacher, teacher, 5.0).item() == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize("head", ["soft-score", "multi-label"])
def test_sigmoid_distillation_is_a_divergence(head):
    teacher = torch.randn(4, 7)
    assert distillation_loss(head, teacher.clone(), teacher, 2.0).item() == pytest.approx(0.0, abs=1e-6)
    student = (teacher + torch.randn(4, 7)).requires_grad_(True)
    loss = distillation_loss(head, student, teacher, 2.0)
    assert loss.item() > 0
    loss.backward()
    # gradient descent moves the student's probabilities towards the teacher's
    moved = student - 0.5 * student.grad
    assert distillation_loss(head, moved, teacher, 2.0).item() < loss.item()
