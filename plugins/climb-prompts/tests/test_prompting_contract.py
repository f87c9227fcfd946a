"""climb_harness.api.prompting, the contract the methods rely on: prefix hooks against attention by hand
on real transformers attention modules, token insertion, and the verifier failing broken encoders."""

from __future__ import annotations

import doctest
import math

import pytest
import torch

from climb_harness.api import prompting


def _attention(kind: str):
    if kind == "vilt":
        from transformers import ViltConfig
        from transformers.models.vilt.modeling_vilt import ViltSelfAttention

        return ViltSelfAttention(ViltConfig(hidden_size=8, num_attention_heads=2))
    from transformers import BertConfig
    from transformers.models.bert.modeling_bert import BertSelfAttention, BertSdpaSelfAttention

    config = BertConfig(hidden_size=8, num_attention_heads=2)
    return (BertSelfAttention if kind == "bert-eager" else BertSdpaSelfAttention)(config)


def _by_hand(attention, hidden, additive_mask, prefix):
    """softmax(q [k_p ; K]^T / sqrt(d) + [0 ; mask]) [v_p ; V], head by head."""
    heads, size = attention.num_attention_heads, attention.attention_head_size
    k = torch.cat([prefix[0], attention.key(hidden)], dim=1)
    v = torch.cat([prefix[1], attention.value(hidden)], dim=1)
    q = attention.query(hidden)
    out = torch.zeros_like(q)
    for s in range(hidden.shape[0]):
        for h in range(heads):
            cols = slice(h * size, (h + 1) * size)
            scores = q[s, :, cols] @ k[s, :, cols].t() / math.sqrt(size)
            scores = scores + torch.cat([torch.zeros(prefix[0].shape[1]), additive_mask[s]])
            out[s, :, cols] = torch.softmax(scores, dim=-1) @ v[s, :, cols]
    return out


@pytest.mark.parametrize("kind", ["vilt", "bert-eager", "bert-sdpa"])
def test_a_prefix_is_attention_over_prefix_and_own_keys_by_hand(kind):
    attention = _attention(kind).eval()
    rng = torch.Generator().manual_seed(0)
    hidden = torch.randn(2, 5, 8, generator=rng)
    minimum = torch.finfo(torch.float32).min
    padding = torch.tensor([[0.0] * 5, [0.0] * 3 + [minimum] * 2])  # sequence 1 ends in 2 pads
    prefix = (torch.randn(2, 3, 8, generator=rng), torch.randn(2, 3, 8, generator=rng))
    slots = [prompting.AttentionSlots(attention, attention.key, attention.value)]
    mask = padding[:, None, None, :]
    if kind == "bert-sdpa":
        mask = mask.expand(2, 1, 5, 5)  # the 4-D mask BERT's SDPA path receives
    with torch.no_grad(), prompting.prefix_hooks(slots, {0: prefix}):
        out = attention(hidden, attention_mask=mask)[0] if kind != "vilt" else attention(hidden, mask)[0]
    assert torch.allclose(out, _by_hand(attention, hidden, padding, prefix), atol=1e-5)
    assert not attention.key._forward_hooks and not attention._forward_pre_hooks  # removed on exit
    with torch.no_grad(), prompting.prefix_hooks(slots, {0: prefix}):
        unmasked = attention(hidden)[0]  # no mask at all (BERT's SDPA path passes None without padding)
    assert torch.allclose(unmasked, _by_hand(attention, hidden, torch.zeros(2, 5), prefix), atol=1e-5)


def test_hooks_are_removed_even_when_the_forward_fails():
    attention = _attention("vilt")
    slots = [prompting.AttentionSlots(attention, attention.key, attention.value)]
    bad = (torch.zeros(3, 1, 8), torch.zeros(3, 1, 8))  # 3 rows for 2 sequences
    with pytest.raises(ValueError, match="does not fit"), prompting.prefix_hooks(slots, {0: bad}):
        attention(torch.zeros(2, 4, 8))
    assert not attention.key._forward_hooks and not attention.value._forward_hooks
    with pytest.raises(ValueError, match="1 promptable layer"), prompting.prefix_hooks(slots, {1: bad}):
        pass


def test_tokens_go_after_the_first_and_come_out_again():
    hidden = torch.arange(2 * 3 * 2, dtype=torch.float32).view(2, 3, 2)
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    tokens = -torch.ones(2, 2, 2)
    joined, joined_mask = prompting.insert_prompt_tokens(hidden, mask, tokens)
    assert joined[:, 0].tolist() == hidden[:, 0].tolist() and (joined[:, 1:3] == -1).all()
    assert joined_mask.tolist() == [[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]]
    assert torch.equal(prompting.drop_prompt_tokens(joined, 2), hidden)
    with pytest.raises(ValueError, match="do not fit"):
        prompting.insert_prompt_tokens(hidden, mask, torch.zeros(2, 2, 3))


def test_prompts_rows_and_emptiness():
    tokens, keys = torch.arange(6.0).view(3, 2, 1), torch.arange(3.0).view(3, 1, 1)
    prompts = prompting.Prompts(tokens=tokens, prefixes={2: (keys, keys + 10)})
    part = prompts.rows(slice(1, None, 2))
    assert part.tokens.tolist() == [[[2.0], [3.0]]] and part.prefixes[2][1].flatten().tolist() == [11.0]
    assert prompting.Prompts().empty and prompting.Prompts(tokens=torch.zeros(3, 0, 1)).empty
    assert not prompts.empty
    failed, attempted = doctest.testmod(prompting)
    assert attempted and not failed


class _Broken(torch.nn.Module):
    """A promptable toy encoder (one attention layer) with switchable faults, to show the verifier fails."""

    def __init__(self, fault: str | None = None) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.embed = torch.nn.Linear(3, 8)
        self.attention = _attention("vilt")
        self.hidden_size, self.prompt_width, self.prompt_layers, self.fault = 8, 8, 1, fault

    def forward(self, batch):
        return self.forward_with_prompts(batch, prompting.prompts_for(self, batch))

    def prompt_query(self, batch):
        if self.fault == "query-with-gradient":
            return self.forward_with_prompts(batch, None)
        return prompting.frozen_query(self, batch)

    def forward_with_prompts(self, batch, prompts):
        hidden = self.embed(batch["x"])
        mask = torch.ones(hidden.shape[:2], dtype=torch.long)
        slots = [prompting.AttentionSlots(self.attention, self.attention.key, self.attention.value)]
        if prompts is not None and prompts.tokens is not None and self.fault != "ignores-tokens":
            hidden, mask = prompting.insert_prompt_tokens(hidden, mask, prompts.tokens)
        prefixes = {} if prompts is None or self.fault == "ignores-prefixes" else prompts.prefixes
        if self.fault == "leaves-hooks" and prompts is not None and not prompts.empty:
            # a hook that is never removed
            self.attention.key.register_forward_hook(lambda module, args, output: output * 1.5)
        with prompting.prefix_hooks(slots, prefixes):
            out = self.attention(hidden)[0]
        return out[:, :1]  # (N, V=1, 8): the first token's output


@pytest.mark.parametrize("fault, problem", [
    (None, None),
    ("ignores-tokens", "prompt tokens left the output unchanged"),
    ("ignores-prefixes", "a prefix in layer 0 left the output unchanged"),
    ("leaves-hooks", "a hook was left behind"),
    ("query-with-gradient", "prompt_query differs"),
])
def test_the_verifier_passes_a_good_encoder_and_names_each_fault(fault, problem):
    encoder = _Broken(fault)
    batch = {"x": torch.randn(2, 4, 3, generator=torch.Generator().manual_seed(1))}
    problems = prompting.verify_prompting(encoder, batch, (prompting.PROMPT_TUNING, prompting.PREFIX_TUNING))
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems
    assert all(p.requires_grad for p in encoder.parameters())  # requires_grad restored


def test_check_promptable_names_what_is_missing():
    missing = "lacks prompt_query, forward_with_prompts, prompt_width, prompt_layers"
    with pytest.raises(ValueError, match=missing):
        prompting.check_promptable(torch.nn.Linear(2, 2), prompting.PREFIX_TUNING)
    prompting.check_promptable(_Broken(), prompting.PREFIX_TUNING)
