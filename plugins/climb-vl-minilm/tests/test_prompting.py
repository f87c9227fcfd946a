"""The capabilities prompt-tuning and prefix-tuning (climb_harness.api.prompting) on vl-minilm.

The contract's own checks (plain forward unchanged bit for bit, prompts change the output and get
gradients while the frozen encoder gets none, an attached prompter is used) on every task kind; then,
against by-hand computations on the real fused BertModel: the plain output, tokens inserted after
[CLS] and left out of the pooling, and a prefix reaching exactly its own layer.
"""

from __future__ import annotations

import pytest
import torch

from climb_harness.api import prompting
from climb_vl_minilm.encoder import VlMiniLmEncoder

BOTH = (prompting.PROMPT_TUNING, prompting.PREFIX_TUNING)


def build(**options) -> VlMiniLmEncoder:
    torch.manual_seed(0)
    return VlMiniLmEncoder(options)


@pytest.mark.parametrize("task_name", ["vqa", "nlvr2", "vcr", "sst2", "fashion"])
def test_the_contract_holds_on_every_task_kind(task_name, tasks, examples):
    encoder = build()
    batch = encoder.collate(examples(tasks[task_name], 3), tasks[task_name])
    assert prompting.verify_prompting(encoder, batch, BOTH) == []
    assert (encoder.prompt_width, encoder.prompt_layers) == (384, 1)


@pytest.mark.parametrize("options", [{"fusion_layers": 2}, {"fusion_layers": 2, "pooling": "cls"}])
def test_the_contract_holds_with_two_fused_layers_and_cls_pooling(options, tasks, examples):
    encoder = build(**options)
    batch = encoder.collate(examples(tasks["vqa"], 4), tasks["vqa"])
    assert encoder.prompt_layers == 2 and prompting.verify_prompting(encoder, batch, BOTH) == []


def _by_hand(encoder, batch, tokens=None):
    """The fused BertModel run directly on [text ; image tokens] (tokens after [CLS]), mean-pooled."""
    text, text_mask = batch["text_states"].flatten(0, 1), batch["text_mask"].flatten(0, 1)
    features, index = batch["image_features"].flatten(0, 1), batch["image_index"].flatten(0, 1)
    image = encoder.image_embeddings(features, index)
    sequence = torch.cat([text, image], dim=1)
    mask = torch.cat([text_mask, torch.ones(image.shape[:2], dtype=torch.long)], dim=1)
    count = 0
    if tokens is not None:
        count = tokens.shape[1]
        sequence = torch.cat([sequence[:, :1], tokens, sequence[:, 1:]], dim=1)
        mask = torch.cat([mask[:, :1], torch.ones(tokens.shape[:2], dtype=torch.long), mask[:, 1:]], dim=1)
    out = encoder.transformer(inputs_embeds=sequence, attention_mask=mask).last_hidden_state
    out = torch.cat([out[:, :1], out[:, 1 + count :]], dim=1)  # the prompt tokens' outputs are not pooled
    length = text.shape[1]
    weights = text_mask.float().unsqueeze(-1)
    pooled = torch.cat([(out[:, :length] * weights).sum(1) / weights.sum(1), out[:, length:].mean(1)], dim=-1)
    return pooled.view(*batch["text_states"].shape[:2], -1)


def test_plain_and_token_prompted_outputs_equal_the_fused_model_by_hand(tasks, examples):
    encoder = build().eval()
    batch = encoder.collate(examples(tasks["vqa"], 3), tasks["vqa"])  # texts of different lengths: padding
    assert batch["text_mask"].sum(-1).unique().numel() > 1
    with torch.no_grad():
        assert torch.equal(encoder(batch), _by_hand(encoder, batch))  # the plain forward is unchanged
        tokens = torch.randn(3, 5, 384, generator=torch.Generator().manual_seed(1))
        prompted = encoder.forward_with_prompts(batch, prompting.Prompts(tokens=tokens))
        assert torch.allclose(prompted, _by_hand(encoder, batch, tokens), atol=1e-6)
        assert not torch.allclose(prompted, encoder(batch), atol=1e-3)


def test_a_prefix_reaches_exactly_its_layer(tasks, examples):
    encoder = build(fusion_layers=2).eval()
    batch = encoder.collate(examples(tasks["vqa"], 3), tasks["vqa"])
    outputs: dict[int, torch.Tensor] = {}
    hooks = [layer.register_forward_hook(lambda m, a, out, i=i: outputs.__setitem__(i, out[0].clone()))
             for i, layer in enumerate(encoder.transformer.encoder.layer)]
    generator = torch.Generator().manual_seed(2)
    prefix = (torch.randn(3, 4, 384, generator=generator), torch.randn(3, 4, 384, generator=generator))
    with torch.no_grad():
        encoder(batch)
        plain = dict(outputs)
        encoder.forward_with_prompts(batch, prompting.Prompts(prefixes={1: prefix}))
        assert torch.equal(outputs[0], plain[0])  # the layer below is untouched
        assert not torch.allclose(outputs[1], plain[1], atol=1e-3)
        encoder.forward_with_prompts(batch, prompting.Prompts(prefixes={0: prefix}))
        assert not torch.allclose(outputs[0], plain[0], atol=1e-3)
    for hook in hooks:
        hook.remove()


def test_a_prefix_for_a_layer_the_encoder_lacks_is_one_clear_error(tasks, examples):
    encoder = build()
    batch = encoder.collate(examples(tasks["vqa"], 2), tasks["vqa"])
    prefix = (torch.zeros(2, 1, 384), torch.zeros(2, 1, 384))
    with pytest.raises(ValueError, match=r"1 promptable layer\(s\)"):
        encoder.forward_with_prompts(batch, prompting.Prompts(prefixes={3: prefix}))
    with torch.no_grad():  # no hook survives the error
        assert torch.equal(encoder.eval()(batch), _by_hand(encoder, batch))
