"""The trainable part: image-token embeddings and MiniLM's top layers as a ``transformers.BertModel``.

The fused layers are a real ``BertModel`` (so the ``adapters`` library supports it natively:
Houlsby, Pfeiffer and LoRA attach to its layers) whose embedding slot passes its ``inputs_embeds``
through unchanged: its inputs are already hidden states, the frozen text states followed by the
image tokens. Its layers start as copies of the pretrained MiniLM's top layers.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn


class NoWordEmbeddings(nn.Module):
    """What ``BertModel.get_input_embeddings()`` returns here: the fused layers have no word table
    (the text was embedded by the frozen bottom). ``adapters.init`` asks for it (prompt tuning keeps
    a reference); holding no parameters, it adds nothing to ``parameters()`` or checkpoints."""

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        raise ValueError(
            "climb-vl-minilm's fused layers have no word embeddings (the text is embedded by MiniLM's frozen "
            "bottom in collate()); methods that embed token ids here (e.g. prompt tuning initialised from a "
            "string) are not supported."
        )


class PassThroughEmbeddings(nn.Module):
    """``BertModel.embeddings`` for inputs that are hidden states already (no parameters)."""

    def __init__(self) -> None:
        super().__init__()
        self.word_embeddings = NoWordEmbeddings()

    def forward(
        self, input_ids: Any = None, inputs_embeds: torch.Tensor | None = None, **_: Any
    ) -> torch.Tensor:
        if inputs_embeds is None:
            raise ValueError(
                "climb-vl-minilm's fused BertModel takes inputs_embeds (text states and image tokens), not "
                "input_ids: call the encoder, not its transformer, on collated batches."
            )
        return inputs_embeds


def build_fused_bert(config: Any, top_state: Mapping[str, torch.Tensor], layers: int) -> nn.Module:
    """A ``BertModel`` of ``layers`` layers holding ``top_state`` (the pretrained top layers' weights)."""
    from transformers import BertModel

    config = copy.deepcopy(config)
    config.num_hidden_layers = layers
    model = BertModel(config, add_pooling_layer=False)
    model.embeddings = PassThroughEmbeddings()
    model.encoder.layer.load_state_dict(dict(top_state))
    return model


class ImageEmbeddings(nn.Module):
    """Image features -> tokens of MiniLM's width: ``LayerNorm(projection(f) + position + image type)``.

    The position (one row per grid cell) and image-type (image one / image two of an example) tables
    start at zero and the LayerNorm as a copy of the one the text states come out of, so the image
    tokens start with the text states' per-feature scale and offset; the projection is randomly
    initialised (under the harness's seed). Nothing here is pretrained.
    """

    def __init__(self, channels: int, hidden: int, tokens: int, like: nn.LayerNorm) -> None:
        super().__init__()
        self.projection = nn.Linear(channels, hidden)
        self.position_embeddings = nn.Embedding(max(1, tokens), hidden)
        self.image_type_embeddings = nn.Embedding(2, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=like.eps)
        with torch.no_grad():
            self.position_embeddings.weight.zero_()
            self.image_type_embeddings.weight.zero_()
            self.LayerNorm.weight.copy_(like.weight)
            self.LayerNorm.bias.copy_(like.bias)

    def forward(self, features: torch.Tensor, image_index: torch.Tensor) -> torch.Tensor:
        """``(B, T, channels)`` features and ``(B,)`` image indices -> ``(B, T, hidden)`` tokens."""
        tokens = features.shape[1]
        x = self.projection(features.to(self.projection.weight.dtype))
        x = x + self.position_embeddings.weight[:tokens] + self.image_type_embeddings(image_index)[:, None]
        return self.LayerNorm(x)
