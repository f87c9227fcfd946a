"""ViLT-BERT: a frozen pretrained BERT's token states as ViLT's text embeddings.

Because BERT is frozen (no gradient, eval mode, so no dropout), its output for a text never
changes. It therefore runs in :meth:`ViltBertEncoder.collate`, on CPU, once per distinct text
(cached by text, text pair and length limit), never inside a training step: the step costs only
the ViLT part. Tasks repeat texts a lot (easy-VQA has 38,575 training questions but 107 distinct
ones), so BERT runs a handful of times per split.

BERT is held as a plain attribute, not a submodule: it stays on the CPU where collate runs, is not
in ``parameters()`` (no optimizer or continual-learning method can touch it) and is not written to
checkpoints; it is rebuilt from its folder, which is what the options name. Encoders built in one
process with the same ``bert_path`` and ``bert_cache_size`` share one BERT and one cache.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from climb_vilt._model import load_tokenizer, minilm_path, require_folder
from climb_vilt.manifests import VILT_BERT_MANIFEST
from climb_vilt.views import View
from climb_vilt.vilt import ViltEncoderBase

_Key = tuple[str, "str | None", int]
_SHARED: dict[tuple[str, int], BertStates] = {}


class BertStates:
    """Frozen BERT + tokenizer with a least-recently-used cache of per-text hidden states."""

    def __init__(self, folder: Path, cache_size: int, chunk_size: int = 64) -> None:
        from transformers import AutoModel

        self.tokenizer = load_tokenizer(folder, "bert_path")
        self.model = AutoModel.from_pretrained(str(folder))
        self.model.eval()
        self.model.requires_grad_(False)
        self.hidden_size = int(self.model.config.hidden_size)
        self.max_positions = int(self.model.config.max_position_embeddings)
        self.cache_size = cache_size
        self.chunk_size = chunk_size
        self.cache: collections.OrderedDict[_Key, tuple[torch.Tensor, torch.Tensor]] = (
            collections.OrderedDict()
        )
        #: How many texts BERT has encoded so far (each distinct text once while it stays cached).
        self.texts_computed = 0

    @classmethod
    def shared(cls, path: str | None, cache_size: int) -> BertStates:
        """One frozen BERT and cache per folder in a process: every encoder built there (each
        algorithm's run, each direct fine-tuning reference) reuses it instead of reloading BERT and
        recomputing the same texts."""
        folder = (require_folder(path, "BERT", "bert_path") if path else minilm_path()).resolve()
        key = (str(folder), cache_size)
        if key not in _SHARED:
            _SHARED[key] = cls(folder, cache_size)
        return _SHARED[key]

    def __deepcopy__(self, memo: dict) -> BertStates:
        """Copies of an encoder (e.g. a runner's best-epoch snapshot) share the frozen BERT."""
        return self

    def states(self, keys: Sequence[_Key]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """``(hidden (L_i, D), token_type_ids (L_i,))`` for each ``(text, pair, max_length)`` key."""
        found: dict[_Key, tuple[torch.Tensor, torch.Tensor]] = {}
        missing: list[_Key] = []
        for key in dict.fromkeys(keys):  # distinct keys, in order
            hit = self.cache.get(key)
            if hit is None:
                missing.append(key)
            else:
                self.cache.move_to_end(key)
                found[key] = hit
        # Texts with and without a pair are tokenised separately (a call takes one kind).
        for with_pair in (False, True):
            group = [key for key in missing if (key[1] is not None) == with_pair]
            for start in range(0, len(group), self.chunk_size):
                found.update(self._compute(group[start : start + self.chunk_size]))
        for key in missing:
            self._remember(key, found[key])
        return [found[key] for key in keys]

    @torch.no_grad()
    def _compute(self, keys: Sequence[_Key]) -> dict[_Key, tuple[torch.Tensor, torch.Tensor]]:
        texts = [key[0] for key in keys]
        pairs = [key[1] for key in keys] if keys[0][1] is not None else None
        limits = [min(key[2], self.max_positions) for key in keys]
        out: dict[_Key, tuple[torch.Tensor, torch.Tensor]] = {}
        # One tokeniser call per length limit keeps truncation exact when limits differ.
        for limit in sorted(set(limits)):
            idx = [i for i, key_limit in enumerate(limits) if key_limit == limit]
            encoded = self.tokenizer(
                [texts[i] for i in idx],
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
                out[keys[i]] = (
                    hidden[row, :length].clone(),
                    encoded["token_type_ids"][row, :length].clone(),
                )
        self.texts_computed += len(keys)
        return out

    def _remember(self, key: _Key, value: tuple[torch.Tensor, torch.Tensor]) -> None:
        if self.cache_size <= 0:
            return
        self.cache[key] = value
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)


class ViltBertEncoder(ViltEncoderBase):
    """CLiMB's ViLT-BERT: frozen BERT text states replace ViLT's word embeddings.

    ViLT's text embedding layer still adds its position and token-type embeddings and LayerNorm to
    the BERT states. When BERT's width differs from ViLT's (the default all-MiniLM-L6-v2 is 384-d,
    the default ViLT 128-d), a trainable linear projection, registered as
    ``transformer.embeddings.bert_projection`` (so it belongs to the embeddings layer group), maps
    one to the other; CLiMB paired BERT-base (768) with ViLT-B/32 (768) and needed none. ViLT's own
    word embeddings are unused and frozen.
    """

    manifest_template = VILT_BERT_MANIFEST

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        embeddings = self.transformer.embeddings
        if self.bert_states.hidden_size != self.hidden_size:
            embeddings.bert_projection = nn.Linear(self.bert_states.hidden_size, self.hidden_size)
        embeddings.text_embeddings.word_embeddings.requires_grad_(False)

    @property
    def bert(self) -> nn.Module:
        """The frozen BERT (CPU, eval mode, not a submodule)."""
        return self.bert_states.model

    def _init_text(self) -> int:
        # object.__setattr__ keeps BERT out of nn.Module's registry (see the module docstring).
        object.__setattr__(
            self,
            "bert_states",
            BertStates.shared(self.options["bert_path"], int(self.options["bert_cache_size"])),
        )
        self.tokenizer = self.bert_states.tokenizer
        return len(self.tokenizer)

    def _encode_text(self, views: Sequence[View], max_length: int) -> dict[str, torch.Tensor]:
        states = self.bert_states.states([(view.text, view.pair, max_length) for view in views])
        length = max(hidden.shape[0] for hidden, _ in states)
        embeds = torch.zeros(len(states), length, self.bert_states.hidden_size)
        mask = torch.zeros(len(states), length, dtype=torch.long)
        types = torch.zeros(len(states), length, dtype=torch.long)
        for i, (hidden, token_types) in enumerate(states):
            embeds[i, : hidden.shape[0]] = hidden
            mask[i, : hidden.shape[0]] = 1
            types[i, : hidden.shape[0]] = token_types
        return {"inputs_embeds": embeds, "attention_mask": mask, "token_type_ids": types}

    def _text_inputs(self, flat: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        embeddings = self.transformer.embeddings
        projection = getattr(embeddings, "bert_projection", None)
        weight = projection.weight if projection is not None else embeddings.text_embeddings.LayerNorm.weight
        embeds = flat["inputs_embeds"].to(weight.dtype)
        return {"inputs_embeds": projection(embeds) if projection is not None else embeds}
