"""The capabilities prompt-tuning and prefix-tuning (climb_harness.api.prompting) on vilt and vilt-bert.

The contract's own checks (plain forward unchanged bit for bit, prompts change the output and get
gradients while the frozen encoder gets none, an attached prompter is used) on every task kind and
both encoders; then, against by-hand computations on the real ViltModel: the plain pooled output,
tokens inserted after the text [CLS], a prefix reaching exactly its own layer, and each sequence's
prompts reaching that sequence only (two-image tasks run one ViLT call per view).
"""

from __future__ import annotations

import pytest
import torch

from climb_harness.api import prompting
from climb_vilt.images import normalise
from climb_vilt.vilt import ViltEncoder
from climb_vilt.vilt_bert import ViltBertEncoder

BOTH = (prompting.PROMPT_TUNING, prompting.PREFIX_TUNING)


def build(kind, options, bert_dir=None):
    torch.manual_seed(0)
    if kind == "vilt":
        return ViltEncoder(options)
    return ViltBertEncoder({**options, "bert_path": str(bert_dir)})


@pytest.mark.parametrize("kind", ["vilt", "vilt-bert"])
@pytest.mark.parametrize("task_name", ["vqa", "nlvr2", "vcr", "sst2", "fashion"])
def test_the_contract_holds_on_every_task_kind(kind, task_name, tasks, examples, tiny_options, tiny_bert_dir):
    encoder = build(kind, tiny_options, tiny_bert_dir)
    task = tasks[task_name]
    encoder.adapt_to_tasks([task])
    batch = encoder.collate(examples(task, 3), task)
    assert prompting.verify_prompting(encoder, batch, BOTH) == []
    assert (encoder.prompt_width, encoder.prompt_layers) == (32, 2)


def _inputs(encoder, batch):
    flat = {key: value.flatten(0, 1) for key, value in batch.items() if key != "image_token_type"}
    return {"input_ids": flat["input_ids"], "attention_mask": flat["attention_mask"],
            "token_type_ids": flat["token_type_ids"], "pixel_mask": flat["pixel_mask"],
            "pixel_values": normalise(flat["pixel_values"], torch.float32), "image_token_type_idx": 1}


def _by_hand(encoder, batch, tokens=None):
    """ViltModel's steps run one by one (embeddings, [tokens after CLS], layers, LayerNorm, pooler)."""
    model, inputs = encoder.transformer, _inputs(encoder, batch)
    hidden, mask = model.embeddings(inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"],
                                    inputs["pixel_values"], inputs["pixel_mask"], None, None, 1)
    if tokens is not None:
        hidden = torch.cat([hidden[:, :1], tokens, hidden[:, 1:]], dim=1)
        mask = torch.cat([mask[:, :1], torch.ones(tokens.shape[:2], dtype=mask.dtype), mask[:, 1:]], dim=1)
    additive = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    out = model.encoder(hidden, attention_mask=additive).last_hidden_state
    return model.pooler(model.layernorm(out))


def test_plain_and_token_prompted_outputs_equal_vilt_by_hand(tasks, examples, tiny_options):
    encoder = build("vilt", tiny_options).eval()
    batch = encoder.collate(examples(tasks["vqa"], 3), tasks["vqa"])
    tokens = torch.randn(3, 4, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.manual_seed(5)
        plain = encoder(batch)
        torch.manual_seed(5)  # ViLT orders image patches with the global RNG: the same draws
        assert torch.equal(plain[:, 0], encoder.transformer(**_inputs(encoder, batch)).pooler_output)
        torch.manual_seed(5)
        assert torch.allclose(plain[:, 0], _by_hand(encoder, batch), atol=1e-6)
        torch.manual_seed(5)
        prompted = encoder.forward_with_prompts(batch, prompting.Prompts(tokens=tokens))
        torch.manual_seed(5)
        assert torch.allclose(prompted[:, 0], _by_hand(encoder, batch, tokens), atol=1e-6)
        assert (prompted - plain).abs().max() > 1e-4  # a random tiny ViLT: small but real changes


def test_a_prefix_reaches_exactly_its_layer(tasks, examples, tiny_options):
    encoder = build("vilt", {**tiny_options, "num_hidden_layers": 3}).eval()
    batch = encoder.collate(examples(tasks["vqa"], 3), tasks["vqa"])
    outputs: dict[int, torch.Tensor] = {}
    hooks = [layer.register_forward_hook(lambda m, a, out, i=i: outputs.__setitem__(i, out[0].clone()))
             for i, layer in enumerate(encoder.transformer.encoder.layer)]
    generator = torch.Generator().manual_seed(2)
    prefix = (torch.randn(3, 2, 32, generator=generator), torch.randn(3, 2, 32, generator=generator))
    with torch.no_grad():
        for layer in range(3):
            torch.manual_seed(0)
            encoder(batch)
            plain = dict(outputs)
            torch.manual_seed(0)
            encoder.forward_with_prompts(batch, prompting.Prompts(prefixes={layer: prefix}))
            assert all(torch.equal(outputs[i], plain[i]) for i in range(layer))  # layers below: untouched
            assert not torch.allclose(outputs[layer], plain[layer], atol=1e-3)
    for hook in hooks:
        hook.remove()


@pytest.mark.parametrize("task_name", ["vqa", "nlvr2"])
def test_each_sequence_gets_its_own_row_of_prompts(task_name, tasks, examples, tiny_options):
    """Sequences are example-major (row n * V + v); NLVR2's views run as separate ViLT calls."""
    encoder = build("vilt", tiny_options).eval()
    task = tasks[task_name]
    encoder.adapt_to_tasks([task])
    batch = encoder.collate(examples(task, 3), task)
    views = task.num_views
    generator = torch.Generator().manual_seed(3)
    base = torch.randn(1, 2, 32, generator=generator).expand(3 * views, -1, -1).clone()
    row = 3 * views - 2  # example 1 (nlvr2: its second image) or example 1
    other = base.clone()
    other[row] = torch.randn(2, 32, generator=generator)
    outputs = []
    with torch.no_grad():
        for keys in (base, other):
            torch.manual_seed(0)
            prompts = prompting.Prompts(tokens=keys, prefixes={1: (keys, keys)})
            outputs.append(encoder.forward_with_prompts(batch, prompts))
    changed = (outputs[0] - outputs[1]).abs().amax(-1) > 1e-4
    expected = torch.zeros(3, views, dtype=torch.bool)
    expected[row // views, row % views] = True
    assert torch.equal(changed, expected)
