"""DualPrompt against its paper: the expert prompt is the one whose key matches, general prompts are
shared and sit in the lower layers, and each prefix reaches the right layers' keys and values."""

from __future__ import annotations

import math

import pytest
import torch

from climb_harness.api import prompting
from climb_prompts.base import generator
from climb_prompts.dualprompt import DualPrompt, DualPromptModule, default_layers


def _module(g_layers=(0, 1), e_layers=(2, 3, 4), **kwargs) -> DualPromptModule:
    return DualPromptModule(3, list(g_layers), list(e_layers), 2, 3, 4, 5, generator(0), **kwargs)


def _cos(a, b) -> float:
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def test_default_layers_put_the_general_prompt_below_the_expert_prompts():
    assert default_layers(12) == default_layers(5) == ([0, 1], [2, 3, 4])  # the paper's
    assert default_layers(1) == ([0], [0])
    assert default_layers(2) == ([0], [1]) and default_layers(4) == ([0], [1, 2, 3])
    for available in range(2, 13):
        g, e = default_layers(available)
        assert max(g) < min(e) and max(e) < available


def test_training_uses_the_task_s_expert_prompt_and_pulls_only_its_key():
    module = _module(key_loss_weight=0.5)
    module.start_task(1)
    module.train()
    module.task = 1
    query = torch.randn(4, 5, generator=torch.Generator().manual_seed(1))
    prompts = module(query)
    assert module.last_choice.flatten().tolist() == [1] * 4
    assert sorted(prompts.prefixes) == [0, 1, 2, 3, 4]
    for j, layer in enumerate([2, 3, 4]):  # expert prefix: task 1's E-prompt, keys and values
        keys, values = prompts.prefixes[layer]
        assert torch.equal(keys, module.e_prompts[1][j, 0].expand(4, -1, -1))
        assert torch.equal(values, module.e_prompts[1][j, 1].expand(4, -1, -1))
    for j, layer in enumerate([0, 1]):  # general prefix: the same for every sequence
        keys, values = prompts.prefixes[layer]
        assert torch.equal(keys, module.g_prompt[j, 0].expand(4, -1, -1))
        assert torch.equal(values, module.g_prompt[j, 1].expand(4, -1, -1))
    loss = module.take_aux_loss()
    key = module.e_keys[1].tolist()
    assert loss.item() == pytest.approx(0.5 * sum(1 - _cos(q, key) for q in query.tolist()) / 4, rel=1e-5)
    (loss + sum(p.sum() for k, v in prompts.prefixes.values() for p in (k, v))).backward()
    assert module.e_keys[1].grad is not None and module.e_prompts[1].grad is not None
    assert module.g_prompt.grad is not None
    for t in (0, 2):  # other tasks' expert prompts and keys are frozen: no gradient
        assert not module.e_prompts[t].requires_grad and module.e_prompts[t].grad is None
        assert not module.e_keys[t].requires_grad and module.e_keys[t].grad is None


def test_a_new_task_s_expert_prompt_starts_as_the_previous_one():
    module = _module()
    module.start_task(0)
    assert not torch.equal(module.e_prompts[0], module.e_prompts[1])
    module.start_task(1)
    assert torch.equal(module.e_prompts[0], module.e_prompts[1])
    fresh = _module(share_previous=False)
    fresh.start_task(1)
    assert not torch.equal(fresh.e_prompts[0], fresh.e_prompts[1])


def test_evaluation_takes_the_expert_prompt_whose_key_matches_among_the_tasks_learned():
    module = _module().eval()
    rng = torch.Generator().manual_seed(2)
    centres = torch.randn(3, 5, generator=rng)
    with torch.no_grad():
        for t in range(3):
            module.e_keys[t].copy_(centres[t] * (t + 1) * 10)  # different norms: cosine, not dot product
    queries = torch.cat([centres[t] + 0.3 * torch.randn(3, 5, generator=rng) for t in (2, 0, 1)])
    module.start_task(2)  # three tasks learned
    prompts = module(queries)
    keys = [k.tolist() for k in module.e_keys]
    by_hand = [max(range(3), key=lambda t: _cos(q, keys[t])) for q in queries.tolist()]
    assert module.last_choice.flatten().tolist() == by_hand == [2, 2, 2, 0, 0, 0, 1, 1, 1]
    for row, task in enumerate(by_hand):
        assert torch.equal(prompts.prefixes[3][0][row], module.e_prompts[task][1, 0])
    module.tasks_started = 2  # task 2 not learned yet: its key is never matched
    module(queries)
    assert 2 not in module.last_choice.flatten().tolist()
    assert module.take_aux_loss() is None


def test_one_layer_holds_expert_and_general_prefixes_side_by_side():
    module = _module(g_layers=(0,), e_layers=(0,)).eval()
    module.start_task(0)
    prompts = module(torch.randn(2, 5, generator=torch.Generator().manual_seed(3)))
    keys, values = prompts.prefixes[0]
    assert keys.shape == (2, 3 + 2, 4)
    assert torch.equal(keys[0], torch.cat([module.e_prompts[0][0, 0], module.g_prompt[0, 0]]))
    assert torch.equal(values[1], torch.cat([module.e_prompts[0][0, 1], module.g_prompt[0, 1]]))


class _Ctx:
    def __init__(self, tasks: int) -> None:
        self.task_order = [f"t{i}" for i in range(tasks)]
        self.seed = 0


def attention_by_hand(attention, hidden, mask, prefix=None):
    """softmax(q [k_p ; K]^T / sqrt(d) + [0 ; mask]) [v_p ; V], head by head (ViltSelfAttention's weights)."""
    heads, size = attention.num_attention_heads, attention.attention_head_size
    q, k, v = attention.query(hidden), attention.key(hidden), attention.value(hidden)
    if prefix is not None:
        k, v = torch.cat([prefix[0], k], dim=1), torch.cat([prefix[1], v], dim=1)
        mask = torch.cat([torch.zeros(*mask.shape[:-1], prefix[0].shape[1]), mask], dim=-1)
    split = lambda x: x.view(x.shape[0], x.shape[1], heads, size).transpose(1, 2)  # noqa: E731
    scores = split(q) @ split(k).transpose(-1, -2) / math.sqrt(size) + mask
    out = torch.softmax(scores, dim=-1) @ split(v)
    return out.transpose(1, 2).reshape(hidden.shape[0], hidden.shape[1], heads * size)


def test_each_prefix_reaches_the_keys_and_values_of_its_layers_in_a_real_vilt(tasks_examples, tiny_vilt):
    torch.manual_seed(0)
    encoder = tiny_vilt().eval()  # 5 layers: the paper's G layers [0, 1] and E layers [2, 3, 4]
    batch = tasks_examples(encoder)
    module = DualPrompt({"g_prompt_length": 2, "e_prompt_length": 3}).build(_Ctx(3), encoder)
    module.start_task(0)
    assert (module.g_layers, module.e_layers) == ([0, 1], [2, 3, 4])
    seen: dict[int, tuple] = {}
    hooks = []
    for i, layer in enumerate(encoder.transformer.encoder.layer):
        def hook(m, args, kwargs, out, i=i):  # the attention's own input (mask unpadded: registered first)
            seen[i] = (args[0], args[1], out[0])
        hooks.append(layer.attention.attention.register_forward_hook(hook, with_kwargs=True))
    encoder.prompter = module
    with torch.no_grad():
        prompts = module(encoder.prompt_query(batch).flatten(0, 1))
        torch.manual_seed(0)
        encoder(batch)  # the query pass, then the prompted pass: `seen` holds the prompted one
        for i in range(5):
            hidden, mask, output = seen[i]
            expected = attention_by_hand(encoder.transformer.encoder.layer[i].attention.attention, hidden,
                                         mask[..., -hidden.shape[1]:], prompts.prefixes[i])
            assert torch.allclose(output, expected, atol=1e-5), i
            plain = attention_by_hand(encoder.transformer.encoder.layer[i].attention.attention, hidden,
                                      mask[..., -hidden.shape[1]:])
            assert not torch.allclose(output, plain, atol=1e-4), i
    for hook in hooks:
        hook.remove()
    del encoder.prompter
    lengths = {i: prompts.prefixes[i][0].shape[1] for i in prompts.prefixes}
    assert lengths == {0: 2, 1: 2, 2: 3, 3: 3, 4: 3}
    assert torch.equal(prompts.prefixes[1][0], module.g_prompt[1, 0].expand(3, -1, -1))  # G in layer 1
    assert torch.equal(prompts.prefixes[4][1], module.e_prompts[0][2, 1].expand(3, -1, -1))  # E in layer 4


@pytest.fixture
def tasks_examples():
    import numpy as np

    from climb_harness.api import Example, HeadSpec, TaskInfo

    task = TaskInfo("vqa", "vision-language", 1, HeadSpec("classification", 3), 16)
    rng = np.random.default_rng(0)
    examples = [Example(text="what is shape " + "very " * i + "big?",
                        images=(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8),), target=0)
                for i in range(3)]

    def make(encoder):
        return encoder.collate(examples, task)

    return make


def test_prefix_layers_outside_the_encoder_are_one_clear_error(tiny_vilt):
    encoder = tiny_vilt(num_hidden_layers=2)
    with pytest.raises(ValueError, match=r"e_layers=\[2, 3, 4\] but the encoder has 2 promptable layer"):
        DualPrompt({"e_layers": [2, 3, 4]}).build(_Ctx(2), encoder)
    assert prompting.PREFIX_TUNING == DualPrompt.capability
