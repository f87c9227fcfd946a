"""CODA-Prompt against its paper: the attention-weighted sum by hand, components orthogonal to earlier
tasks' frozen ones (which receive no gradient), the orthogonality regulariser's formula and its pull."""

from __future__ import annotations

import math

import pytest
import torch

from climb_prompts.coda import CodaPrompt, CodaPromptModule, gram_schmidt, ortho_penalty, weighted_prompt


def _module(**kwargs) -> CodaPromptModule:
    """3 tasks x 2 components, layers 0 and 2, length 4, width 3, query 6."""
    return CodaPromptModule(3, 2, [0, 2], 4, 3, 6, seed=0, **kwargs)


def _cos(a, b) -> float:
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def test_the_weighted_prompt_is_the_formula_by_hand():
    rng = torch.Generator().manual_seed(0)
    query, keys, attention = (torch.randn(*shape, generator=rng) for shape in ((2, 3), (4, 3), (4, 3)))
    prompts = torch.randn(4, 2, 5, generator=rng)
    out = weighted_prompt(query, prompts, keys, attention)
    for s, q in enumerate(query.tolist()):
        alphas = [_cos([qi * ai for qi, ai in zip(q, attention[m].tolist())], keys[m].tolist())
                  for m in range(4)]
        for row in range(2):
            for col in range(5):
                by_hand = sum(alphas[m] * prompts[m, row, col].item() for m in range(4))
                assert out[s, row, col].item() == pytest.approx(by_hand, abs=1e-5)


def test_prefixes_are_the_halves_of_the_weighted_prompt_in_the_chosen_layers():
    module = _module().eval()
    module.start_task(1)
    query = torch.randn(3, 6, generator=torch.Generator().manual_seed(1))
    prompts = module(query)
    assert sorted(prompts.prefixes) == [0, 2] and prompts.tokens is None
    parts = module.components["layer_2"]
    full = weighted_prompt(query, torch.cat(list(parts["P"][:2])), torch.cat(list(parts["K"][:2])),
                           torch.cat(list(parts["A"][:2])))  # tasks 0 and 1: the tasks started
    keys, values = prompts.prefixes[2]
    assert torch.equal(keys, full[:, :2]) and torch.equal(values, full[:, 2:])
    assert module.take_aux_loss() is None  # no regulariser outside training


def test_gram_schmidt_gives_unit_rows_orthogonal_to_the_earlier_ones():
    rng = torch.Generator().manual_seed(2)
    earlier = gram_schmidt(torch.zeros(0, 8), 3, rng)
    new = gram_schmidt(earlier * 1.5, 4, rng)  # earlier rows need not be unit length (training drift)
    both = torch.cat([earlier, new])
    assert torch.allclose(both @ both.t(), torch.eye(7), atol=1e-6)
    with pytest.raises(ValueError, match="pool_size"):
        gram_schmidt(both, 2, rng)  # 9 orthogonal rows in 8 dimensions


def test_ortho_penalty_is_the_formula():
    rows = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    gram = [[1.0, 1.0, 0.0], [1.0, 2.0, 2.0], [0.0, 2.0, 4.0]]
    by_hand = sum((gram[i][j] - (i == j)) ** 2 for i in range(3) for j in range(3)) / 9
    assert ortho_penalty(rows).item() == pytest.approx(by_hand)
    assert ortho_penalty(torch.eye(3)).item() == 0.0


def _perturb_and_step(module: CodaPromptModule, task: int) -> None:
    """One training step on a loss of the prompts (as training moves task ``task``'s components)."""
    optimiser = torch.optim.SGD([p for p in module.parameters() if p.requires_grad], lr=0.5)
    module.train()
    module.task = task
    prompts = module(torch.randn(5, 6, generator=torch.Generator().manual_seed(10 + task)))
    loss = sum(k.pow(2).sum() + v.sum() for k, v in prompts.prefixes.values())
    extra = module.take_aux_loss()
    (loss + (extra if extra is not None else 0)).backward()
    optimiser.step()
    optimiser.zero_grad()


def test_new_components_start_orthogonal_to_earlier_tasks_frozen_ones_which_get_no_gradient():
    module = _module()
    module.start_task(0)
    _perturb_and_step(module, 0)  # task 0's components move away from orthonormal
    frozen = {name: p.detach().clone() for name, p in module.named_parameters() if name.endswith(".0")}
    module.start_task(1)
    for layer in ("layer_0", "layer_2"):
        for part in ("P", "K", "A"):
            chunks = module.components[layer][part]
            old, new = chunks[0].flatten(1), chunks[1].flatten(1)
            assert torch.allclose(new @ old.t(), torch.zeros(2, 2), atol=1e-6), (layer, part)
            assert torch.allclose(new @ new.t(), torch.eye(2), atol=1e-6), (layer, part)
            assert not chunks[0].requires_grad and chunks[1].requires_grad and not chunks[2].requires_grad
    module.train()
    prompts = module(torch.randn(5, 6, generator=torch.Generator().manual_seed(4)))
    sum(k.sum() + v.sum() for k, v in prompts.prefixes.values()).backward()
    for name, p in module.named_parameters():
        if name.endswith(".0"):
            assert p.grad is None, name  # earlier task: frozen, no gradient
        elif name.endswith(".1"):
            assert p.grad is not None and p.grad.abs().sum() > 0, name
    _perturb_and_step(module, 1)
    assert all(torch.equal(p, frozen[name]) for name, p in module.named_parameters() if name.endswith(".0"))


def test_the_regulariser_pulls_new_components_back_towards_orthogonality():
    """Training that drags task 1's keys towards task 0's: with the regulariser they stay nearer
    orthogonal."""
    overlaps = []
    for weight in (0.0, 5.0):
        module = _module(ortho_weight=weight)
        module.start_task(1)
        parts = module.components["layer_0"]
        optimiser = torch.optim.SGD([parts["K"][1]], lr=0.05)
        module.train()
        for _ in range(30):
            module(torch.randn(2, 6, generator=torch.Generator().manual_seed(5)))
            penalty = module.take_aux_loss()
            drag = -(parts["K"][1] @ parts["K"][0].t()).sum()  # a task loss that favours overlap
            (drag + (penalty if penalty is not None else 0)).backward()
            optimiser.step()
            optimiser.zero_grad()
        overlaps.append((parts["K"][1] @ parts["K"][0].t()).abs().sum().item())
    assert overlaps[1] < 0.5 * overlaps[0]


def test_the_regulariser_counts_earlier_components_and_is_off_at_weight_zero():
    module = _module(ortho_weight=0.3)
    module.start_task(1)
    with torch.no_grad():  # task 1's components overlap task 0's: the cross terms count
        for layer in ("layer_0", "layer_2"):
            for part in ("K", "A", "P"):
                chunks = module.components[layer][part]
                chunks[1].add_(0.3 * chunks[0])
    module.train()
    module(torch.randn(2, 6, generator=torch.Generator().manual_seed(6)))
    by_hand = 0.0
    for layer in ("layer_0", "layer_2"):
        for part in ("K", "A", "P"):
            rows = torch.cat([c.flatten(1) for c in module.components[layer][part][:2]])  # tasks 0 and 1
            by_hand += ortho_penalty(rows).item()
    assert by_hand > 0.01 and module.take_aux_loss().item() == pytest.approx(0.3 * by_hand, rel=1e-5)
    off = _module(ortho_weight=0.0).train()
    off(torch.randn(2, 6))
    assert off.take_aux_loss() is None


def test_pool_size_defaults_to_what_can_be_orthogonal_and_is_checked(tiny_vilt):
    class Ctx:
        task_order = ["a", "b", "c"]
        seed = 0

    encoder = tiny_vilt()  # width 32: queries are 32-d, so at most 32 orthogonal keys
    module = CodaPrompt().build(Ctx(), encoder)
    assert module.components["layer_0"]["K"][0].shape == (10, 32)  # min(100, 32) // 3 tasks
    assert module.layers == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="between 3 and 32"):
        CodaPrompt({"pool_size": 100}).build(Ctx(), encoder)
    assert CodaPrompt().options == {"pool_size": None, "prompt_length": 8, "layers": None,
                                    "ortho_weight": 0.1}
