"""The frozen bottom of MiniLM: text-only hidden states, computed in ``collate()`` once per text.

MiniLM's embeddings and its bottom ``depth - fusion_layers`` layers are frozen (eval mode, no
gradient), so their output for a text never changes: they run on the CPU once per distinct
(text, pair, length limit), kept in a least-recently-used cache (easy-VQA's 38,575 training
questions have 107 distinct texts), never inside a training step. The weights of the top
``fusion_layers`` layers are handed to the trainable fused model (:mod:`climb_vl_minilm.fusion`),
so the two together are exactly the pretrained MiniLM.

Like the frozen CNN this is a plain attribute of the encoder, not a submodule (not in
``parameters()``, not checkpointed), shared by every encoder of a process with the same folder,
depth and cache size.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

_Key = tuple[str, "str | None", int]
_SHARED: dict[tuple[str, int, int], TextStates] = {}


class TextStates:
    """Tokenizer + MiniLM cut after its bottom layers, with a cache of per-text hidden states."""

    def __init__(self, folder: Path, fusion_layers: int, cache_size: int, chunk_size: int = 64) -> None:
        from transformers import AutoModel, AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        except (OSError, ValueError) as err:
            raise FileNotFoundError(
                f"climb-vl-minilm: no tokenizer could be loaded from {str(folder)!r} (option 'minilm_path'): "
                f"{err}. Save one there with tokenizer.save_pretrained(folder)."
            ) from err
        with torch.random.fork_rng(devices=[]):  # loading must not move the global RNG (see image_features)
            model = AutoModel.from_pretrained(str(folder))
        layers = model.encoder.layer
        if not 1 <= fusion_layers <= len(layers):
            raise ValueError(
                f"climb-vl-minilm: fusion_layers={fusion_layers} but the model in {str(folder)!r} has "
                f"{len(layers)} layers; choose 1..{len(layers)}."
            )
        bottom = len(layers) - fusion_layers
        #: The pretrained config and the top layers' weights, renumbered from 0, for the fused model.
        self.config: Any = model.config
        self.top_state = {
            f"{i - bottom}.{name}": value.detach().clone()
            for i in range(bottom, len(layers))
            for name, value in layers[i].state_dict().items()
        }
        #: The LayerNorm whose output the text states are (it initialises the image tokens' LayerNorm).
        self.output_norm = layers[bottom - 1].output.LayerNorm if bottom else model.embeddings.LayerNorm
        model.encoder.layer = torch.nn.ModuleList(layers[:bottom])
        model.eval()
        model.requires_grad_(False)
        self.model = model
        self.bottom_layers = bottom
        self.hidden_size = int(model.config.hidden_size)
        self.max_positions = int(model.config.max_position_embeddings)
        self.cache_size = cache_size
        self.chunk_size = chunk_size
        self.cache: collections.OrderedDict[_Key, torch.Tensor] = collections.OrderedDict()
        #: How many texts the frozen layers have encoded so far (each cached text once).
        self.texts_computed = 0

    @classmethod
    def shared(cls, folder: Path, fusion_layers: int, cache_size: int) -> TextStates:
        """One frozen bottom and cache per (folder, fusion_layers, cache size) in a process."""
        key = (str(folder), fusion_layers, cache_size)
        if key not in _SHARED:
            _SHARED[key] = cls(folder, fusion_layers, cache_size)
        return _SHARED[key]

    def __deepcopy__(self, memo: dict) -> TextStates:
        """Copies of an encoder (e.g. a runner's best-epoch snapshot) share the frozen layers."""
        return self

    def states(self, keys: Sequence[_Key]) -> list[torch.Tensor]:
        """``(L_i, hidden)`` states for each ``(text, pair, max_length)`` key."""
        found: dict[_Key, torch.Tensor] = {}
        missing: list[_Key] = []
        for key in dict.fromkeys(keys):  # distinct keys, in order
            hit = self.cache.get(key)
            if hit is None:
                missing.append(key)
            else:
                self.cache.move_to_end(key)
                found[key] = hit
        for with_pair in (False, True):  # a tokenizer call takes texts with pairs or without
            group = [key for key in missing if (key[1] is not None) == with_pair]
            for start in range(0, len(group), self.chunk_size):
                found.update(self._compute(group[start : start + self.chunk_size]))
        for key in missing:
            self._remember(key, found[key])
        return [found[key] for key in keys]

    @torch.no_grad()
    def _compute(self, keys: Sequence[_Key]) -> dict[_Key, torch.Tensor]:
        pairs = [key[1] for key in keys] if keys[0][1] is not None else None
        limits = [min(key[2], self.max_positions) for key in keys]
        out: dict[_Key, torch.Tensor] = {}
        for limit in sorted(set(limits)):  # one tokenizer call per limit keeps truncation exact
            idx = [i for i, key_limit in enumerate(limits) if key_limit == limit]
            encoded = self.tokenizer(
                [keys[i][0] for i in idx],
                [pairs[i] for i in idx] if pairs is not None else None,
                padding="longest",
                truncation=True,
                max_length=limit,
                return_tensors="pt",
                return_token_type_ids=True,
            )
            hidden = self.model(**encoded).last_hidden_state
            lengths = encoded["attention_mask"].sum(dim=1).tolist()
            for row, (i, length) in enumerate(zip(idx, lengths, strict=True)):
                out[keys[i]] = hidden[row, :length].clone()
        self.texts_computed += len(keys)
        return out

    def _remember(self, key: _Key, value: torch.Tensor) -> None:
        if self.cache_size <= 0:
            return
        self.cache[key] = value
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
