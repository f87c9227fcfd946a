"""ViLT-BERT: BERT is frozen, runs only in collate, once per distinct text; its states feed ViLT."""

from __future__ import annotations

import pytest
import torch

from climb_harness.api import Example
from climb_vilt.vilt_bert import ViltBertEncoder


@pytest.fixture()
def encoder(tiny_options, tiny_bert_dir):
    torch.manual_seed(0)
    return ViltBertEncoder({**tiny_options, "bert_path": str(tiny_bert_dir)})


def test_default_is_the_real_minilm_with_a_projection(tiny_options, tasks, examples):
    enc = ViltBertEncoder(tiny_options)
    assert enc.bert.config.hidden_size == 384 and enc.bert.config.num_hidden_layers == 6
    projection = enc.transformer.embeddings.bert_projection
    assert (projection.in_features, projection.out_features) == (384, 32)
    batch = enc.collate(examples(tasks["vqa"], 2), tasks["vqa"])
    assert batch["inputs_embeds"].shape[-1] == 384 and enc(batch).shape == (2, 1, 32)


def test_bert_is_frozen_and_outside_the_module(encoder, tasks, examples):
    bert_params = list(encoder.bert.parameters())
    assert bert_params and not any(p.requires_grad for p in bert_params)
    assert not encoder.bert.training
    ids = {id(p) for p in encoder.parameters()}
    assert not any(id(p) in ids for p in bert_params)
    assert not any(key.startswith("bert") for key in encoder.state_dict())
    assert not encoder.transformer.embeddings.text_embeddings.word_embeddings.weight.requires_grad  # unused


def test_training_step_updates_vilt_never_bert(encoder, tasks, examples, monkeypatch):
    bert_before = {n: p.detach().clone() for n, p in encoder.bert.named_parameters()}
    vilt_before = {n: p.detach().clone() for n, p in encoder.named_parameters() if p.requires_grad}
    batch = encoder.collate(examples(tasks["vcr"], 3), tasks["vcr"])

    def no_bert(*args, **kwargs):
        raise AssertionError("BERT ran inside a training step")

    monkeypatch.setattr(encoder.bert, "forward", no_bert)  # forward and backward must not need BERT
    optimizer = torch.optim.AdamW([p for p in encoder.parameters() if p.requires_grad], lr=1e-2)
    encoder.train()
    encoder(batch).pow(2).sum().backward()
    assert encoder.transformer.embeddings.bert_projection.weight.grad.abs().sum() > 0
    assert encoder.transformer.encoder.layer[0].attention.attention.query.weight.grad.abs().sum() > 0
    optimizer.step()
    assert all(torch.equal(p, bert_before[n]) for n, p in encoder.bert.named_parameters())
    assert all(p.grad is None for p in encoder.bert.parameters())
    changed = [
        n for n, p in encoder.named_parameters() if p.requires_grad and not torch.equal(p, vilt_before[n])
    ]
    assert "transformer.embeddings.bert_projection.weight" in changed and len(changed) > 10


def test_each_distinct_text_is_computed_once(encoder, tasks, image):
    task = tasks["vqa"]
    start = encoder.bert_states.texts_computed
    questions = ["what colour is the cache test shape?", "is there a cache test circle?"] * 6
    batch = encoder.collate([Example(text=q, images=(image(i),)) for i, q in enumerate(questions)], task)
    assert encoder.bert_states.texts_computed - start == 2
    assert torch.equal(batch["inputs_embeds"][0], batch["inputs_embeds"][2])
    encoder.collate([Example(text="is there a cache test circle?", images=(image(0),))], task)
    assert encoder.bert_states.texts_computed - start == 2  # cached across calls
    mc = tasks["vcr"]  # 4 choices paired with one question: 4 distinct pairs
    example = Example(text="why cache?", images=(image(0),), choices=("a", "b", "c", "a b"))
    encoder.collate([example, example], mc)
    assert encoder.bert_states.texts_computed - start == 6


def test_encoders_in_one_process_share_bert_and_cache(tiny_options, tiny_bert_dir, encoder):
    twin = ViltBertEncoder({**tiny_options, "bert_path": str(tiny_bert_dir)})
    assert twin.bert_states is encoder.bert_states
    other = ViltBertEncoder({**tiny_options, "bert_path": str(tiny_bert_dir), "bert_cache_size": 7})
    assert other.bert_states is not encoder.bert_states


def test_states_are_berts_last_hidden_state(encoder, tasks, image):
    text = "what shape is in the image?"
    batch = encoder.collate(
        [Example(text=text, images=(image(0),)), Example(text="no", images=(image(1),))], tasks["vqa"]
    )
    encoded = encoder.bert_states.tokenizer([text], return_tensors="pt")
    with torch.no_grad():
        expected = encoder.bert(**encoded).last_hidden_state[0]
    length = expected.shape[0]
    assert torch.allclose(batch["inputs_embeds"][0, 0, :length], expected, atol=1e-5)
    assert batch["attention_mask"][0, 0].sum() == length
    short = batch["attention_mask"][1, 0].sum()
    assert short < length and batch["inputs_embeds"][1, 0, short:].abs().sum() == 0  # padding


def test_small_cache_still_gives_right_states(tiny_options, tiny_bert_dir, tasks, image):
    options = {**tiny_options, "bert_path": str(tiny_bert_dir)}
    cached = ViltBertEncoder({**options, "bert_cache_size": 1})
    uncached = ViltBertEncoder({**options, "bert_cache_size": 0})
    examples = [Example(text=f"question {i % 3}", images=(image(i),)) for i in range(6)]
    a = cached.collate(examples, tasks["vqa"])["inputs_embeds"]
    b = uncached.collate(examples, tasks["vqa"])["inputs_embeds"]
    assert torch.allclose(a, b, atol=1e-6)
    assert len(cached.bert_states.cache) == 1 and len(uncached.bert_states.cache) == 0


def test_no_projection_when_widths_match(tiny_options, tiny_bert_dir, tasks, examples):
    enc = ViltBertEncoder(
        {**tiny_options, "hidden_size": 24, "num_attention_heads": 2, "bert_path": str(tiny_bert_dir)}
    )
    assert not hasattr(enc.transformer.embeddings, "bert_projection")
    enc.adapt_to_tasks([tasks["nlvr2"]])
    assert enc(enc.collate(examples(tasks["nlvr2"], 2), tasks["nlvr2"])).shape == (2, 2, 24)


def test_missing_bert_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="bert_path"):
        ViltBertEncoder({"bert_path": str(tmp_path / "missing")})


def test_copies_share_the_frozen_bert_but_not_vilt(encoder):
    import copy

    twin = copy.deepcopy(encoder)
    assert twin.bert is encoder.bert
    assert twin.transformer is not encoder.transformer
    theirs = encoder.state_dict()
    assert all(torch.equal(value, theirs[key]) for key, value in twin.state_dict().items())
