"""L2P against its paper on fixed tensors: top-N by cosine, the key loss pulls the chosen keys, tokens.

Each check compares with a brute-force computation (Python loops over rows), and is built so that
the defining term matters: keys of very different norms (so a dot product ranks them differently
from the cosine), and a step on the key loss alone.
"""

from __future__ import annotations

import math

import pytest
import torch

from climb_prompts.base import generator
from climb_prompts.l2p import L2P, L2PPool
from climb_prompts.matching import batchwise_choice, cosine, key_loss, top_n


def _pool(**kwargs) -> L2PPool:
    options = {"pool_size": 6, "prompt_length": 2, "top_n": 3, "width": 4, "query_size": 5}
    options.update(kwargs)
    return L2PPool(options.pop("pool_size"), options.pop("prompt_length"), options.pop("top_n"),
                   options.pop("width"), options.pop("query_size"), generator(0), **options)


def _cos(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def _fixed(pool: L2PPool) -> torch.Tensor:
    """Keys of very different norms, and 4 queries."""
    rng = torch.Generator().manual_seed(7)
    with torch.no_grad():
        scales = torch.tensor([0.01, 100.0, 1.0, 10.0, 0.1, 3.0]).unsqueeze(1)
        pool.keys.copy_(torch.randn(6, 5, generator=rng) * scales)
    return torch.randn(4, 5, generator=rng)


def test_chosen_prompts_are_the_top_n_by_cosine_in_order_and_their_tokens_are_prepended():
    pool = _pool().eval()
    query = _fixed(pool)
    prompts = pool(query)
    keys = pool.keys.tolist()
    for row, q in enumerate(query.tolist()):
        by_hand = sorted(range(6), key=lambda m: -_cos(q, keys[m]))[:3]
        assert pool.last_choice[row].tolist() == by_hand
        expected = torch.cat([pool.prompts[m] for m in by_hand])  # (3 * 2, 4): the prompts, concatenated
        assert torch.equal(prompts.tokens[row], expected)
    assert prompts.prefixes == {} and prompts.tokens.shape == (4, 6, 4)
    # the test can tell cosine from a dot product on these keys (a dot product would pick other prompts)
    assert any(sorted(range(6), key=lambda m: -sum(x * y for x, y in zip(q, keys[m])))[:3]
               != sorted(range(6), key=lambda m: -_cos(q, keys[m]))[:3] for q in query.tolist())


def test_the_key_loss_is_the_formula_and_a_step_pulls_only_the_chosen_keys_towards_the_query():
    pool = _pool(key_loss_weight=0.5).train()
    query = _fixed(pool)
    pool(query)
    chosen = pool.last_choice
    loss = pool.take_aux_loss()
    keys = pool.keys.tolist()
    pairs = list(zip(query.tolist(), chosen.tolist()))
    by_hand = 0.5 * sum(sum(1 - _cos(q, keys[m]) for m in row) for q, row in pairs) / 4
    assert loss.item() == pytest.approx(by_hand, rel=1e-5)
    assert pool.take_aux_loss() is None  # taken once
    loss.backward()
    used = set(chosen.flatten().tolist())
    for m in range(6):
        assert bool(pool.keys.grad[m].abs().sum() > 0) == (m in used)  # only the chosen keys get gradient
    assert pool.prompts.grad is None  # the key loss does not touch the prompts
    before = [[1 - _cos(q, keys[m]) for m in row] for q, row in zip(query.tolist(), chosen.tolist())]
    with torch.no_grad():
        pool.keys -= 0.01 * pool.keys.grad / pool.keys.grad.norm(dim=1, keepdim=True).clamp_min(1e-12)
    after_keys = pool.keys.tolist()
    after = [[1 - _cos(q, after_keys[m]) for m in row] for q, row in zip(query.tolist(), chosen.tolist())]
    assert sum(map(sum, after)) < sum(map(sum, before))  # the chosen keys moved towards their queries
    assert all(pool.keys[m].tolist() == keys[m] for m in range(6) if m not in used)


def test_selection_in_training_is_by_key_match_too_and_eval_records_no_loss():
    pool = _pool()
    query = _fixed(pool)
    pool.train()(query)
    trained = pool.last_choice.clone()
    assert pool.take_aux_loss() is not None
    pool.eval()(query)
    assert torch.equal(trained, pool.last_choice) and pool.take_aux_loss() is None


def test_batchwise_choice_is_the_majority_vote_of_the_batch():
    chosen = torch.tensor([[0, 2], [2, 1], [2, 0], [3, 1]])  # counts: 2: 3, 0: 2, 1: 2 (tie: smaller id)
    assert batchwise_choice(chosen, 5).tolist() == [[2, 0]] * 4
    pool = _pool(batchwise=True).eval()
    query = _fixed(pool)
    pool(query)
    rows = pool.last_choice.tolist()
    assert all(row == rows[0] for row in rows)
    per_example = top_n(cosine(query, pool.keys), 3)
    assert rows[0] == batchwise_choice(per_example, 6)[0].tolist()


def test_matching_helpers_on_a_hand_example():
    query = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    keys = torch.tensor([[3.0, 0.0], [1.0, 1.0], [0.0, -1.0]])
    assert torch.allclose(cosine(query, keys), torch.tensor([[1.0, 2**-0.5, 0.0], [0.0, 2**-0.5, -1.0]]))
    assert top_n(cosine(query, keys), 2).tolist() == [[0, 1], [1, 0]]
    loss = key_loss(query, keys, torch.tensor([[0, 1], [1, 0]]))
    assert loss.item() == pytest.approx(((1 - 1) + (1 - 2**-0.5) + (1 - 2**-0.5) + (1 - 0)) / 2)
    with pytest.raises(ValueError, match="top_n <= pool_size"):
        top_n(cosine(query, keys), 4)


def test_options_and_their_official_defaults():
    assert L2P().options == {"pool_size": 10, "prompt_length": 5, "top_n": 5, "key_loss_weight": 0.1,
                             "batchwise_prompt": False}
    with pytest.raises(ValueError, match="no option"):
        L2P({"pool": 3})
    with pytest.raises(ValueError, match="top_n"):
        _pool(top_n=7)
