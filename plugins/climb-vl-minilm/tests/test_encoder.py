"""The encoder: shapes for every task kind, frozen parts outside the module and the optimizer,
caches, padding, determinism, layer groups, adapters."""

from __future__ import annotations

import copy

import pytest
import torch

from climb_harness.api import Example
from climb_vl_minilm import image_features, text_states
from climb_vl_minilm.encoder import VlMiniLmEncoder


@pytest.fixture()
def encoder():
    torch.manual_seed(0)
    return VlMiniLmEncoder({})


@pytest.mark.parametrize("task_name", ["vqa", "nlvr2", "vcr", "sst2", "piqa", "fashion"])
def test_collate_and_forward_shapes(task_name, encoder, tasks, examples):
    task = tasks[task_name]
    batch = encoder.collate(examples(task, 3), task)
    n, v = 3, task.num_views
    assert v == {"vqa": 1, "nlvr2": 2, "vcr": 4, "sst2": 1, "piqa": 2, "fashion": 1}[task_name]
    for key, value in batch.items():
        assert value.shape[:2] == (n, v), key
    tokens = 0 if task.modality == "language" else 4  # 64x64 -> EfficientNet's 2x2 feature map
    assert batch["image_features"].shape[2:] == (tokens, 1280)
    assert (
        batch["text_states"].shape[-1] == 384 and batch["text_mask"].shape == batch["text_states"].shape[:3]
    )
    assert (
        batch["image_index"].tolist() == [[0, 1]] * 3
        if task_name == "nlvr2"
        else (batch["image_index"] == 0).all()
    )
    out = encoder(batch)
    assert out.shape == (n, v, encoder.hidden_size) and torch.isfinite(out).all()
    assert encoder.hidden_size == 768


def test_vision_only_views_read_the_dummy_text(encoder, tasks, image):
    task = tasks["fashion"]
    batch = encoder.collate([Example(images=(image(0),))], task)
    expected = encoder.text.states([("This is an image.", None, 128)])[0]
    assert torch.equal(batch["text_states"][0, 0, : expected.shape[0]], expected)


def test_multiple_choice_views_pair_text_and_choice(encoder, tasks, image):
    task = tasks["vcr"]
    example = Example(text="why?", images=(image(0),), choices=("a", "b b", "c", "d"))
    batch = encoder.collate([example], task)
    pair = encoder.text.states([("why?", "b b", 40)])[0]
    assert torch.equal(batch["text_states"][0, 1, : pair.shape[0]], pair)
    assert int(batch["text_mask"][0, 1].sum()) == pair.shape[0] == 7  # [CLS] why ? [SEP] b b [SEP]


def test_long_text_is_truncated(encoder, tasks, image):
    long = Example(text="word " * 120, images=(image(1),))
    assert encoder.collate([long], tasks["vqa"])["text_mask"].shape[-1] == 40  # the task's limit
    capped = VlMiniLmEncoder({"max_text_length": 16})  # below the task's 40
    assert capped.collate([long], tasks["vqa"])["text_mask"].shape[-1] == 16
    pair = Example(text="goal " * 60, choices=("a " * 50, "b"))
    assert encoder.collate([pair], tasks["piqa"])["text_mask"].shape[-1] == 80  # piqa allows 80


def test_frozen_parts_are_outside_the_module_and_the_optimizer(encoder):
    frozen = list(encoder.text_model.parameters()) + list(encoder.image_model.parameters())
    assert frozen and not any(p.requires_grad for p in frozen)
    assert not encoder.text_model.training and not encoder.image_model.training
    ours = {id(p) for p in encoder.parameters()}
    assert not any(id(p) in ours for p in frozen)
    assert all(key.startswith(("transformer.", "image_embeddings.")) for key in encoder.state_dict())
    from climb_harness.testing import TrainingOptions, build_optimizer

    optimizer = build_optimizer(encoder, 1e-3, TrainingOptions())
    optimised = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert optimised == ours and not any(id(p) in optimised for p in frozen)
    encoder.train()
    assert not encoder.text_model.training and not encoder.image_model.training  # .train() cannot reach them


def test_training_step_updates_the_fused_part_never_the_frozen_ones(encoder, tasks, examples, monkeypatch):
    frozen_before = {
        name: p.detach().clone()
        for part in (encoder.text_model, encoder.image_model)
        for name, p in part.named_parameters(prefix=type(part).__name__)
    }
    before = {n: p.detach().clone() for n, p in encoder.named_parameters()}
    batch = encoder.collate(examples(tasks["vqa"], 4), tasks["vqa"])

    def frozen_forward(*args, **kwargs):
        raise AssertionError("a frozen model ran inside a training step")

    monkeypatch.setattr(encoder.text_model, "forward", frozen_forward)
    monkeypatch.setattr(encoder.image_model, "forward", frozen_forward)
    monkeypatch.setattr(encoder.image_model, "extract_features", frozen_forward)
    optimizer = torch.optim.AdamW(encoder.parameters(), lr=1e-3)
    encoder.train()
    encoder(batch).pow(2).sum().backward()
    optimizer.step()
    changed = {n for n, p in encoder.named_parameters() if not torch.equal(p, before[n])}
    assert "image_embeddings.projection.weight" in changed
    assert "transformer.encoder.layer.0.attention.self.query.weight" in changed
    for part in (encoder.text_model, encoder.image_model):
        for name, p in part.named_parameters(prefix=type(part).__name__):
            assert torch.equal(p, frozen_before[name]) and p.grad is None


def test_each_text_and_image_path_is_computed_once(encoder, tasks, image_files):
    task = tasks["vqa"]
    paths = image_files(3, offset=100)
    texts_before, images_before = encoder.text.texts_computed, encoder.images.images_computed
    questions = ["what colour is the cache test shape?", "is there a cache test circle?"] * 6
    batch = encoder.collate([Example(text=q, images=(paths[i % 3],)) for i, q in enumerate(questions)], task)
    assert encoder.text.texts_computed - texts_before == 2
    assert encoder.images.images_computed - images_before == 3
    assert torch.equal(batch["image_features"][0], batch["image_features"][3])
    twin = VlMiniLmEncoder({})  # another run in the same process shares the frozen parts and caches
    assert twin.text is encoder.text and twin.images is encoder.images
    twin.collate([Example(text=questions[1], images=(paths[2],))], task)
    assert (
        encoder.text.texts_computed - texts_before == 2
        and encoder.images.images_computed - images_before == 3
    )


def test_small_caches_still_give_right_features(tasks, image_files):
    paths = image_files(4, offset=200)
    examples = [Example(text=f"question {i % 3}", images=(paths[i % 4],)) for i in range(8)]
    cached = VlMiniLmEncoder({}).collate(examples, tasks["vqa"])
    tiny = VlMiniLmEncoder({"text_cache_size": 1, "image_cache_mb": 0}).collate(examples, tasks["vqa"])
    for key in cached:
        assert torch.allclose(cached[key].float(), tiny[key].float(), atol=1e-5), key


def test_padding_is_masked_out(encoder, tasks, image):
    task = tasks["vqa"]
    short = Example(text="a short one?", images=(image(0),))
    long = Example(text="a much longer question about the shape in the image?", images=(image(1),))
    encoder.eval()
    with torch.no_grad():
        together = encoder(encoder.collate([short, long], task))
        alone = encoder(encoder.collate([short], task))
    assert torch.allclose(together[0], alone[0], atol=1e-5)


def test_two_images_are_told_apart_by_the_image_type_embedding(encoder, tasks, examples):
    batch = encoder.collate(examples(tasks["nlvr2"], 2), tasks["nlvr2"])
    encoder.eval()
    with torch.no_grad():
        before = encoder(batch)
        encoder.image_embeddings.image_type_embeddings.weight[1] += torch.randn(384)  # image two only
        after = encoder(batch)
    assert torch.allclose(before[:, 0], after[:, 0], atol=1e-6)
    assert not torch.allclose(before[:, 1], after[:, 1], atol=1e-3)


def test_same_seed_same_weights_even_when_the_first_build_loads_the_models(monkeypatch):
    monkeypatch.setattr(text_states, "_SHARED", {})
    monkeypatch.setattr(image_features, "_SHARED", {})
    torch.manual_seed(7)
    first = VlMiniLmEncoder({}).state_dict()  # loads MiniLM and EfficientNet
    torch.manual_seed(7)
    second = VlMiniLmEncoder({}).state_dict()  # reuses them
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


def test_copies_share_the_frozen_parts_but_not_the_trainable_ones(encoder):
    twin = copy.deepcopy(encoder)
    assert twin.text is encoder.text and twin.images is encoder.images
    assert twin.transformer is not encoder.transformer
    theirs = encoder.state_dict()
    assert all(torch.equal(value, theirs[key]) for key, value in twin.state_dict().items())


def test_layer_groups_are_bottom_up_prefixes_covering_every_parameter():
    enc = VlMiniLmEncoder({"fusion_layers": 2})
    groups = enc.layer_groups()
    assert groups == ["image_embeddings", "transformer.encoder.layer.0", "transformer.encoder.layer.1"]
    names = [n for n, _ in enc.named_parameters()]
    assert all(any(n.startswith(g + ".") for g in groups) for n in names)


def test_cls_pooling_is_the_first_token(tasks, examples):
    torch.manual_seed(0)
    enc = VlMiniLmEncoder({"pooling": "cls"}).eval()
    batch = enc.collate(examples(tasks["vqa"], 2), tasks["vqa"])
    with torch.no_grad():
        out = enc(batch)
        image = enc.image_embeddings(batch["image_features"][:, 0], batch["image_index"][:, 0])
        tokens = torch.cat([batch["text_states"][:, 0], image], dim=1)
        mask = torch.cat([batch["text_mask"][:, 0], torch.ones(2, 4, dtype=torch.long)], dim=1)
        full = enc.transformer(inputs_embeds=tokens, attention_mask=mask).last_hidden_state
    assert enc.hidden_size == 384 and torch.allclose(out[:, 0], full[:, 0], atol=1e-6)


def test_adapters_attach_to_the_transformer_and_change_the_output(encoder, tasks, examples):
    adapters = pytest.importorskip("adapters")
    assert encoder.adapter_interface is None  # a BertModel: supported natively
    batch = encoder.collate(examples(tasks["vqa"], 4), tasks["vqa"])
    encoder.eval()
    with torch.no_grad():
        plain = encoder(batch)
    adapters.init(encoder.transformer)
    encoder.transformer.add_adapter("task0", config=adapters.DoubleSeqBnConfig(reduction_factor=16))
    encoder.transformer.train_adapter("task0")
    trainable = [n for n, p in encoder.transformer.named_parameters() if p.requires_grad]
    assert trainable and all("adapters.task0" in n for n in trainable)
    assert any("attention.output.adapters" in n for n in trainable) and any(
        ".output.adapters" in n and "attention" not in n for n in trainable
    )  # Houlsby: after attention and after the feed-forward block
    base = {n: p.detach().clone() for n, p in encoder.named_parameters() if "adapters" not in n}
    optimizer = torch.optim.AdamW([p for p in encoder.transformer.parameters() if p.requires_grad], lr=1e-2)
    encoder.train()
    encoder(batch).pow(2).sum().backward()
    optimizer.step()
    encoder.eval()
    with torch.no_grad():
        adapted = encoder(batch)
        encoder.transformer.set_active_adapters(None)
        without = encoder(batch)
    assert not torch.allclose(plain, adapted, atol=1e-3)  # the trained adapter changes the output
    assert torch.allclose(plain, without, atol=1e-5)  # and nothing else changed
    assert all(torch.equal(p, base[n]) for n, p in encoder.named_parameters() if n in base)


@pytest.mark.parametrize("config", ["lora", "pfeiffer"])
def test_other_adapter_kinds_attach(config, tasks, examples):
    adapters = pytest.importorskip("adapters")
    enc = VlMiniLmEncoder({})
    adapters.init(enc.transformer)
    kind = adapters.LoRAConfig(r=4) if config == "lora" else adapters.SeqBnConfig(reduction_factor=16)
    enc.transformer.add_adapter("a", config=kind)
    enc.transformer.train_adapter("a")
    batch = enc.collate(examples(tasks["vqa"], 2), tasks["vqa"])
    enc(batch).pow(2).sum().backward()
    grads = [p.grad for n, p in enc.transformer.named_parameters() if "adapters.a" in n or "lora" in n]
    assert grads and any(g is not None and g.abs().sum() > 0 for g in grads)


def test_the_adapters_algorithm_runs_and_resumes_on_this_encoder(climb_registry, tmp_path):
    """climb-adapters' own algorithm end to end (two tiny tasks, checkpoint, resume) on vl-minilm."""
    pytest.importorskip("adapters")
    if "adapters" not in climb_registry.entries["algorithm"]:
        pytest.skip("climb-adapters is not installed")
    from climb_harness.testing.conformance import check_algorithm

    results = check_algorithm(
        climb_registry, "adapters", tmp_path, encoder_factory=lambda: VlMiniLmEncoder({}), size=12, epochs=1
    )
    failed = [str(r) for r in results if r.status != "passed"]
    assert not failed, failed
