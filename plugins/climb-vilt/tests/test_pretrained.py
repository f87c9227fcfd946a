"""A pretrained ViLT loads from a local folder (as a copy of dandelin/vilt-b32-mlm would) for both encoders."""

from __future__ import annotations

import pytest
import torch

from climb_vilt.images import normalise
from climb_vilt.vilt_bert import ViltBertEncoder


@pytest.fixture(scope="module")
def vilt_folder(tmp_path_factory):
    """A small ViltModel and the BERT-uncased tokenizer saved with save_pretrained, as a real checkpoint is."""
    from transformers import AutoTokenizer, ViltConfig, ViltModel

    from climb_vilt._model import minilm_path

    folder = tmp_path_factory.mktemp("vilt-pretrained")
    tokenizer = AutoTokenizer.from_pretrained(str(minilm_path()))
    torch.manual_seed(5)
    config = ViltConfig(
        vocab_size=len(tokenizer),
        hidden_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=96,
        image_size=32,
        patch_size=8,
        max_position_embeddings=24,
    )
    ViltModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _saved(folder):
    from transformers import ViltModel

    return ViltModel.from_pretrained(str(folder)).eval()


def test_vilt_from_pretrained_path_is_the_saved_model(vilt_folder, tasks, examples, climb_registry):
    """Built as a config's `encoder.options.pretrained_path` builds it: the saved weights, the saved
    model's own pooled output, the checkpoint's architecture over the options' defaults."""
    enc = climb_registry.build("encoder", "vilt", {"pretrained_path": str(vilt_folder), "image_size": 32})
    saved = _saved(vilt_folder)
    assert enc.hidden_size == 48 and len(enc.layer_groups()) == 3  # embeddings + 2 layers, not the defaults
    loaded = enc.transformer.state_dict()
    assert loaded.keys() == saved.state_dict().keys()
    assert all(torch.equal(value, loaded[key]) for key, value in saved.state_dict().items())
    assert len(enc.tokenizer) == saved.config.vocab_size  # the folder's tokenizer
    batch = enc.collate(examples(tasks["vqa"], 2), tasks["vqa"])
    enc.eval()
    with torch.no_grad():
        torch.manual_seed(0)
        ours = enc(batch)[:, 0]
        flat = {key: value[:, 0] for key, value in batch.items()}
        torch.manual_seed(0)
        theirs = saved(
            input_ids=flat["input_ids"],
            attention_mask=flat["attention_mask"],
            token_type_ids=flat["token_type_ids"],
            pixel_values=normalise(flat["pixel_values"], torch.float32),
            pixel_mask=flat["pixel_mask"],
        ).pooler_output
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_vilt_bert_from_pretrained_path_keeps_the_saved_vilt(vilt_folder, tiny_bert_dir, tasks, examples):
    enc = ViltBertEncoder(
        {"pretrained_path": str(vilt_folder), "bert_path": str(tiny_bert_dir), "image_size": 32}
    )
    saved = _saved(vilt_folder).state_dict()
    loaded = enc.transformer.state_dict()
    assert all(torch.equal(value, loaded[key]) for key, value in saved.items())
    projection = enc.transformer.embeddings.bert_projection  # BERT 24 -> the checkpoint's 48
    assert (projection.in_features, projection.out_features) == (24, 48)
    assert set(loaded) - set(saved) == {
        "embeddings.bert_projection.weight",
        "embeddings.bert_projection.bias",
    }
    out = enc(enc.collate(examples(tasks["vqa"], 2), tasks["vqa"]))
    assert out.shape == (2, 1, 48) and torch.isfinite(out).all()
