"""The ViLT encoder (and the base ViLT-BERT shares): shapes, token types, truncation, gradients,
adapters, layer groups, loading a saved checkpoint."""

from __future__ import annotations

import pytest
import torch

from climb_vilt.vilt import ViltEncoder
from climb_vilt.vilt_bert import ViltBertEncoder

KINDS = ["vilt", "vilt-bert"]


def build(kind: str, options: dict, tiny_bert_dir=None):
    if kind == "vilt":
        return ViltEncoder(options)
    return ViltBertEncoder({**options, "bert_path": str(tiny_bert_dir)})


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("task_name", ["vqa", "nlvr2", "vcr", "sst2", "piqa", "fashion"])
def test_collate_and_forward_shapes(kind, task_name, tasks, examples, tiny_options, tiny_bert_dir):
    torch.manual_seed(0)
    task = tasks[task_name]
    enc = build(kind, tiny_options, tiny_bert_dir)
    enc.adapt_to_tasks([task])
    batch = enc.collate(examples(task, 3), task)
    n, v = 3, task.num_views
    assert v == {"vqa": 1, "nlvr2": 2, "vcr": 4, "sst2": 1, "piqa": 2, "fashion": 1}[task_name]
    for key, value in batch.items():
        assert value.shape[:2] == (n, v), key
    assert batch["pixel_values"].shape[2:] == (3, 32, 32) and batch["pixel_values"].dtype == torch.uint8
    assert batch["pixel_mask"].shape == (n, v, 32, 32)
    if kind == "vilt":
        assert batch["input_ids"].shape == batch["attention_mask"].shape == batch["token_type_ids"].shape
    else:
        assert "input_ids" not in batch and batch["inputs_embeds"].shape[-1] == 24
    out = enc(batch)
    assert out.shape == (n, v, enc.hidden_size) and torch.isfinite(out).all()


def test_two_image_views_use_image_token_types_1_and_2(tasks, examples, tiny_options):
    torch.manual_seed(0)
    task = tasks["nlvr2"]
    enc = ViltEncoder(tiny_options).eval()
    enc.adapt_to_tasks([task])
    batch = enc.collate(examples(task, 2), task)
    assert batch["image_token_type"].tolist() == [[1, 2], [1, 2]]
    with torch.no_grad():
        before = enc(batch)
        enc.transformer.embeddings.token_type_embeddings.weight[2] += torch.randn(
            enc.hidden_size
        )  # image two only
        after = enc(batch)
    assert torch.allclose(before[:, 0], after[:, 0], atol=1e-6)
    assert not torch.allclose(before[:, 1], after[:, 1], atol=1e-3)


def test_token_types_grow_only_for_two_image_tasks_deterministically(tasks, tiny_options):
    enc = ViltEncoder(tiny_options)

    def table() -> torch.Tensor:
        return enc.transformer.embeddings.token_type_embeddings.weight

    enc.adapt_to_tasks([tasks["vqa"], tasks["vcr"], tasks["sst2"], tasks["fashion"]])
    assert table().shape[0] == 2
    original = table().detach().clone()
    rng = torch.get_rng_state()
    enc.adapt_to_tasks([tasks["vqa"], tasks["nlvr2"]])
    assert torch.equal(torch.get_rng_state(), rng)  # no random numbers used
    assert table().shape[0] == 3 and enc.transformer.config.modality_type_vocab_size == 3
    assert torch.equal(table()[:2], original) and torch.equal(table()[2], original[1])
    assert table().requires_grad
    enc.adapt_to_tasks([tasks["nlvr2"]])  # idempotent
    assert table().shape[0] == 3
    assert "transformer.embeddings.token_type_embeddings.weight" in dict(enc.named_parameters())


@pytest.mark.parametrize("kind", KINDS)
def test_long_text_is_truncated(kind, tasks, image, tiny_options, tiny_bert_dir):
    from climb_harness.api import Example

    enc = build(kind, tiny_options, tiny_bert_dir)
    long = Example(text="word " * 120, images=(image(1),))
    batch = enc.collate([long], tasks["vqa"])
    assert batch["attention_mask"].shape[-1] == 40  # ViLT's 40 positions, not 122 tokens
    assert enc(batch).shape == (1, 1, enc.hidden_size)
    piqa = tasks["piqa"]  # max_text_length 80 > 40: still capped at 40
    pair = Example(text="goal " * 60, choices=("a " * 50, "b"))
    assert enc.collate([pair], piqa)["attention_mask"].shape[-1] == 40


def test_pooled_output_is_reproducible_under_a_seed(tasks, examples, tiny_options):
    enc = ViltEncoder(tiny_options).eval()
    batch = enc.collate(examples(tasks["vqa"], 4), tasks["vqa"])
    with torch.no_grad():
        torch.manual_seed(3)
        a = enc(batch)
        torch.manual_seed(3)
        b = enc(batch)
        c = enc(batch)  # another patch order: same pooled output up to float rounding
    assert torch.equal(a, b)
    assert torch.allclose(a, c, atol=1e-5)


def test_gradients_reach_every_layer(tasks, examples, tiny_options):
    torch.manual_seed(0)
    enc = ViltEncoder(tiny_options)
    batch = enc.collate(examples(tasks["vqa"], 4), tasks["vqa"])
    enc(batch).pow(2).sum().backward()
    for prefix in enc.layer_groups():
        grads = [
            p.grad for n, p in enc.named_parameters() if n.startswith(prefix + ".") and p.grad is not None
        ]
        assert grads and any(g.abs().sum() > 0 for g in grads), prefix


@pytest.mark.parametrize("kind", KINDS)
def test_layer_groups_are_bottom_up_prefixes(kind, tiny_options, tiny_bert_dir):
    enc = build(kind, tiny_options, tiny_bert_dir)
    groups = enc.layer_groups()
    assert groups == ["transformer.embeddings", "transformer.encoder.layer.0", "transformer.encoder.layer.1"]
    names = [n for n, _ in enc.named_parameters()]
    covered = {n for n in names for g in groups if n.startswith(g + ".")}
    assert set(names) - covered == {
        n for n in names if n.startswith(("transformer.layernorm.", "transformer.pooler."))
    }
    if kind == "vilt-bert":
        assert "transformer.embeddings.bert_projection.weight" in covered


def test_adapters_library_attaches_with_adapter_interface(tasks, examples, tiny_options):
    adapters = pytest.importorskip("adapters")
    torch.manual_seed(0)
    enc = ViltEncoder(tiny_options)
    assert enc.transformer is enc._modules["transformer"]
    adapters.init(enc.transformer, interface=adapters.AdapterModelInterface(**enc.adapter_interface))
    enc.transformer.add_adapter("task0", config="seq_bn")
    enc.transformer.train_adapter("task0")
    base = {n: p.detach().clone() for n, p in enc.named_parameters() if "adapters" not in n}
    trainable = [n for n, p in enc.named_parameters() if p.requires_grad]
    assert trainable and all("adapters.task0" in n for n in trainable)
    adapter_before = {n: p.detach().clone() for n, p in enc.named_parameters() if p.requires_grad}
    optimizer = torch.optim.AdamW([p for p in enc.parameters() if p.requires_grad], lr=1e-2)
    batch = enc.collate(examples(tasks["vqa"], 4), tasks["vqa"])
    enc(batch).pow(2).sum().backward()
    optimizer.step()
    after = dict(enc.named_parameters())
    assert all(torch.equal(base[n], after[n]) for n in base)
    assert any(not torch.equal(adapter_before[n], after[n]) for n in adapter_before)


def test_pretrained_path_round_trip(tmp_path, tasks, examples):
    from transformers import AutoTokenizer, ViltConfig, ViltModel

    from climb_vilt._model import minilm_path

    tokenizer = AutoTokenizer.from_pretrained(str(minilm_path()))
    torch.manual_seed(1)
    config = ViltConfig(
        vocab_size=len(tokenizer),
        hidden_size=48,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        image_size=32,
        patch_size=8,
        max_position_embeddings=24,
    )
    saved = ViltModel(config)
    saved.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    enc = ViltEncoder({"pretrained_path": str(tmp_path), "image_size": 32})  # hidden 128 etc. ignored
    assert enc.hidden_size == 48 and enc.layer_groups()[-1] == "transformer.encoder.layer.0"
    loaded = enc.transformer.state_dict()
    assert all(torch.equal(value, loaded[key]) for key, value in saved.state_dict().items())
    batch = enc.collate(examples(tasks["vqa"], 2), tasks["vqa"])
    assert batch["attention_mask"].shape[-1] <= 24  # the checkpoint's position table
    assert enc(batch).shape == (2, 1, 48)


def test_missing_folders_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="pretrained_path"):
        ViltEncoder({"pretrained_path": str(tmp_path / "nope")})
    with pytest.raises(FileNotFoundError, match="tokenizer_path"):
        ViltEncoder({"tokenizer_path": str(tmp_path / "nope")})
    with pytest.raises(ValueError, match="hidden_size"):
        ViltEncoder({"hiden_size": 3})


def test_two_image_batch_without_adapt_to_tasks_is_a_clear_error(tasks, examples, tiny_options):
    enc = ViltEncoder(tiny_options)
    batch = enc.collate(examples(tasks["nlvr2"], 1), tasks["nlvr2"])
    with pytest.raises(ValueError, match="adapt_to_tasks"):
        enc(batch)


@pytest.mark.parametrize("kind", KINDS)
def test_images_of_different_sizes_are_padded_and_masked(kind, tasks, image, tiny_options, tiny_bert_dir):
    from climb_harness.api import Example

    enc = build(kind, tiny_options, tiny_bert_dir)
    wide = Example(text="a wide one", images=(image(0, (80, 40)),))
    square = Example(text="a square one", images=(image(1, (40, 40)),))
    batch = enc.collate([wide, square], tasks["vqa"])
    assert batch["pixel_values"].shape[-2:] == (32, 48)  # wide: 32 x 53 -> 32 x 48; square: 32 x 32
    assert batch["pixel_mask"][0].all() and batch["pixel_mask"][1, 0, :, 32:].sum() == 0
    enc.eval()
    with torch.no_grad():
        out = enc(batch)
        alone = enc(enc.collate([square], tasks["vqa"]))
    assert out.shape == (2, 1, enc.hidden_size) and torch.isfinite(out).all()
    assert torch.allclose(out[1], alone[0], atol=1e-5)  # padding (pixels and text) is masked out


@pytest.mark.parametrize("kind", KINDS)
def test_long_language_tasks_tile_the_text_position_table(kind, tiny_options, tiny_bert_dir):
    from climb_harness.api import Example, HeadSpec, TaskInfo

    imdb = TaskInfo("imdb", "language", 0, HeadSpec("classification", 2), max_text_length=100)
    enc = build(kind, tiny_options, tiny_bert_dir)
    table = enc.transformer.embeddings.text_embeddings.position_embeddings
    original = table.weight.detach().clone()
    rows = original.shape[0]
    rng = torch.get_rng_state()
    enc.adapt_to_tasks([imdb])
    assert torch.equal(torch.get_rng_state(), rng)
    grown = enc.transformer.embeddings.text_embeddings.position_embeddings.weight
    assert grown.shape[0] == 100 and grown.requires_grad
    assert all(torch.equal(grown[i], original[i % rows]) for i in range(100))
    batch = enc.collate([Example(" ".join(["word"] * 150), target=0)], imdb)
    assert batch["attention_mask"].shape[-1] == 100  # not truncated to the original table
    assert enc(batch).shape == (1, 1, enc.hidden_size)
    truncating = build(kind, {**tiny_options, "long_text": "truncate"}, tiny_bert_dir)
    truncating.adapt_to_tasks([imdb])
    assert truncating.collate([Example(" ".join(["word"] * 150), target=0)], imdb)["attention_mask"].shape[-1] == rows
