"""The ``vl-minilm`` encoder: frozen image and text features in collate, fused layers in forward.

Batch layout (``N`` examples, ``V`` = ``task.num_views`` views, ``L`` text tokens, ``T`` image
tokens per view, ``D`` = 384, ``C`` = 1280)::

    text_states      (N, V, L, D)  float  frozen MiniLM states after its bottom layers (0 = padding)
    text_mask        (N, V, L)     long   1 on real text tokens
    image_features   (N, V, T, C)  float  frozen EfficientNet-Lite0 feature-map cells (T = 0: language-only)
    image_index      (N, V)        long   which image of the example the view shows (0 or 1)

Text is padded to the longest text of one :meth:`collate` call, so tensors from separate calls
may differ in ``L``. Nothing here draws random numbers outside ``__init__`` (dropout aside).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from climb_harness.api import Encoder, Example, TaskInfo, prompting

from climb_vl_minilm._paths import efficientnet_file, minilm_folder
from climb_vl_minilm.fusion import ImageEmbeddings, build_fused_bert
from climb_vl_minilm.image_features import ImageFeatures
from climb_vl_minilm.manifest import option_defaults
from climb_vl_minilm.text_states import TextStates
from climb_vl_minilm.views import View, example_views, text_limit


def _with_defaults(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The harness passes validated, complete options; fill defaults for direct construction."""
    full = option_defaults()
    unknown = sorted(set(options or {}) - set(full))
    if unknown:
        raise ValueError(
            f"encoder 'vl-minilm' has no option(s) {', '.join(unknown)}; its options are {', '.join(sorted(full))}."
        )
    full.update(options or {})
    return full


class VlMiniLmEncoder(prompting.PromptableMixin, Encoder):
    """VisualBERT-style single stream over pretrained parts (see the module and package READMEs).

    Trainable (in ``parameters()``): ``image_embeddings`` (projection, positions, image types,
    LayerNorm) and ``transformer`` (the top ``fusion_layers`` MiniLM layers, a ``BertModel``).
    Frozen and outside the module: ``image_model`` (EfficientNet-Lite0) and ``text_model``
    (MiniLM's embeddings and bottom layers), which run only in :meth:`collate`.
    """

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(_with_defaults(options))
        opts = self.options
        fusion = int(opts["fusion_layers"])
        # object.__setattr__ keeps the frozen parts out of nn.Module's registry (not parameters, not saved).
        text = TextStates.shared(minilm_folder(opts["minilm_path"]), fusion, int(opts["text_cache_size"]))
        object.__setattr__(self, "text", text)
        images = ImageFeatures.shared(
            efficientnet_file(opts["efficientnet_weights"]),
            int(opts["image_size"]),
            opts["image_grid"],
            int(opts["image_cache_mb"]) * 2**20,
        )
        object.__setattr__(self, "images", images)
        self.transformer = build_fused_bert(text.config, text.top_state, fusion)
        self.image_embeddings = ImageEmbeddings(
            images.channels, text.hidden_size, images.tokens_per_image, text.output_norm
        )
        self.pooling = str(opts["pooling"])
        self.hidden_size = text.hidden_size * (2 if self.pooling == "mean" else 1)
        self.adapter_interface = None  # transformer is a BertModel: adapters supports it natively

    @property
    def text_model(self) -> torch.nn.Module:
        """MiniLM's frozen embeddings and bottom layers (CPU, eval mode, not a submodule)."""
        return self.text.model

    @property
    def image_model(self) -> torch.nn.Module:
        """The frozen EfficientNet-Lite0 (CPU, eval mode, not a submodule)."""
        return self.images.model

    # ------------------------------------------------------------------ harness contract
    def layer_groups(self) -> list[str]:
        """Bottom-up: ``image_embeddings`` (the only trainable embeddings; the text ones are frozen),
        then ``transformer.encoder.layer.{i}``. Match a prefix as ``name == p or name.startswith(p + ".")``."""
        return ["image_embeddings"] + [
            f"transformer.encoder.layer.{i}" for i in range(len(self.transformer.encoder.layer))
        ]

    def collate(self, examples: Sequence[Example], task: TaskInfo) -> dict[str, torch.Tensor]:
        """Run the frozen text layers and CNN (cached) and pad; see the module docstring."""
        if not examples:
            raise ValueError(f"encoder vl-minilm's collate got no examples for task {task.name!r}")
        per_example = [example_views(example, task) for example in examples]
        n, v = len(per_example), task.num_views
        flat = [view for views in per_example for view in views]
        batch = self._text(flat, text_limit(task, int(self.options["max_text_length"])))
        if task.modality == "language":
            batch["image_features"] = torch.zeros(len(flat), 0, self.images.channels)
        else:
            batch["image_features"] = self.images.features([view.image for view in flat])
        batch["image_index"] = torch.tensor([view.image_index for view in flat], dtype=torch.long)
        return {key: value.reshape(n, v, *value.shape[1:]) for key, value in batch.items()}

    def _text(self, views: Sequence[View], limit: int) -> dict[str, torch.Tensor]:
        states = self.text.states([(view.text, view.pair, limit) for view in views])
        length = max(state.shape[0] for state in states)
        padded = torch.zeros(len(states), length, self.text.hidden_size)
        mask = torch.zeros(len(states), length, dtype=torch.long)
        for i, state in enumerate(states):
            padded[i, : state.shape[0]] = state
            mask[i, : state.shape[0]] = 1
        return {"text_states": padded, "text_mask": mask}

    # ------------------------------------------------------------------ prompt-tuning, prefix-tuning
    # forward(batch) and prompt_query(batch) come from prompting.PromptableMixin: forward_with_prompts
    # with an attached prompter's prompts (none: the plain forward); the plain output in eval mode.
    @property
    def prompt_width(self) -> int:
        """Prompt tokens and prefixes are MiniLM-wide (384): the fused layers' width."""
        return int(self.text.hidden_size)

    @property
    def prompt_layers(self) -> int:
        """The fused layers (``fusion_layers``); the lower ones run frozen in collate() and see no prompt."""
        return len(self.transformer.encoder.layer)

    def forward_with_prompts(
        self, batch: Mapping[str, torch.Tensor], prompts: prompting.Prompts | None
    ) -> torch.Tensor:
        """``(N, V, hidden_size)``: the fused layers over [text ; image tokens], pooled per view, with
        ``prompts`` (climb_harness.api.prompting): tokens go right after [CLS] at the input of the first
        fused layer (their outputs are left out of the pooling), prefixes into fused layer ``i``'s keys
        and values. None or empty: the plain forward, bit for bit."""
        n, v, length = batch["text_states"].shape[:3]
        text = batch["text_states"].flatten(0, 1)
        text_mask = batch["text_mask"].flatten(0, 1)
        image = self.image_embeddings(
            batch["image_features"].flatten(0, 1), batch["image_index"].flatten(0, 1)
        )
        tokens = torch.cat([text.to(image.dtype), image], dim=1)
        mask = torch.cat([text_mask, text_mask.new_ones(image.shape[:2])], dim=1)
        if prompts is None or prompts.empty:
            out = self.transformer(inputs_embeds=tokens, attention_mask=mask).last_hidden_state
        else:
            out = self._prompted(tokens, mask, prompts)
        return self._pool(out, text_mask, length).view(n, v, -1)

    def _prompted(self, tokens: torch.Tensor, mask: torch.Tensor, prompts: prompting.Prompts) -> torch.Tensor:
        count = 0 if prompts.tokens is None else int(prompts.tokens.shape[1])
        if count:
            tokens, mask = prompting.insert_prompt_tokens(tokens, mask, prompts.tokens)
        slots = [
            prompting.AttentionSlots(attention, attention.key, attention.value)
            for attention in (layer.attention.self for layer in self.transformer.encoder.layer)
        ]
        with prompting.prefix_hooks(slots, prompts.prefixes):
            out = self.transformer(inputs_embeds=tokens, attention_mask=mask).last_hidden_state
        return prompting.drop_prompt_tokens(out, count)

    def _pool(self, out: torch.Tensor, text_mask: torch.Tensor, length: int) -> torch.Tensor:
        if self.pooling == "cls":
            return out[:, 0]
        weights = text_mask.to(out.dtype).unsqueeze(-1)
        text = (out[:, :length] * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        image_tokens = out[:, length:]
        image = image_tokens.mean(1) if image_tokens.shape[1] else torch.zeros_like(text)
        return torch.cat([text, image], dim=-1)
