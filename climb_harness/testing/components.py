"""Small real components for testing algorithms and the runner in seconds.

``TinyEncoder`` is a genuine (tiny) trainable encoder: hashed word embeddings for text, a linear
projection of an 8x8 thumbnail for images, fused by an MLP. ``SyntheticTask`` draws examples whose
label is a deterministic function of their text and image, so they are learnable (and forgettable).
Both follow the same contracts as real plugins; they are what the conformance suite and the core's
tests run algorithms against.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from climb_harness.api import Encoder
from climb_harness.api import Example, Task, TaskInfo, load_image
from climb_harness.testing.manifests import TINY_ENCODER_MANIFEST, synthetic_manifest

#: Hash buckets of TinyEncoder's word embeddings.
VOCAB = 512


def _token_ids(text: str | None, length: int) -> list[int]:
    words = (text or "").lower().split()[:length]
    ids = [1 + zlib.crc32(w.encode()) % (VOCAB - 1) for w in words]
    return ids + [0] * (length - len(ids))


class TinyEncoder(Encoder):
    """Text: mean of hashed word embeddings. Image: 8x8 grey thumbnail -> linear. Views kept apart.

    Args:
        options: ``hidden_size`` (default 32) and ``num_layers`` (residual MLP layers, default 2).
    """

    manifest = TINY_ENCODER_MANIFEST

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        hidden = int(self.options.get("hidden_size", 32))
        self.hidden_size = hidden
        self.embeddings = nn.Embedding(VOCAB, hidden, padding_idx=0)
        self.image_proj = nn.Linear(64, hidden)
        layers = int(self.options.get("num_layers", 2))
        self.layers = nn.ModuleList(nn.Sequential(nn.Linear(hidden, hidden), nn.GELU())
                                    for _ in range(layers))

    def collate(self, examples: Sequence[Example], task: TaskInfo) -> dict[str, torch.Tensor]:
        """Hash each view's words (a multiple-choice view appends its choice) and shrink its image.

        Args:
            examples: The examples to encode.
            task: Their task (its views and head type).

        Returns:
            ``input_ids`` ``(N, views, 12)`` and ``pixels`` ``(N, views, 64)``.
        """
        views = task.num_views
        ids = torch.zeros(len(examples), views, 12, dtype=torch.long)
        pixels = torch.zeros(len(examples), views, 64)
        for row, example in enumerate(examples):
            for view in range(views):
                text = example.text
                if task.head.type == "multiple-choice":
                    text = f"{text or ''} {example.choices[view]}"
                ids[row, view] = torch.tensor(_token_ids(text, 12))
                if example.images:
                    source = example.images[min(view, len(example.images) - 1)]
                    image = load_image(source).convert("L").resize((8, 8))
                    grey = np.asarray(image, dtype=np.float32).reshape(-1) / 255.0
                    pixels[row, view] = torch.from_numpy(grey)
        return {"input_ids": ids, "pixels": pixels}

    def forward(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Encode a (possibly sliced) batch from :meth:`collate`.

        Args:
            batch: ``input_ids`` and ``pixels``.

        Returns:
            ``(N, views, hidden_size)`` vectors.
        """
        ids = batch["input_ids"]
        mask = (ids > 0).unsqueeze(-1).float()
        text = (self.embeddings(ids) * mask).sum(-2) / mask.sum(-2).clamp(min=1.0)
        hidden = text + self.image_proj(batch["pixels"])
        for layer in self.layers:
            hidden = hidden + layer(hidden)
        return hidden

    def layer_groups(self) -> list[str]:
        """Parameter-name prefixes from the bottom up (what methods freezing the bottom k layers use).

        Returns:
            ``embeddings``, ``image_proj`` and ``layers.<i>`` for each layer.
        """
        return ["embeddings", "image_proj", *[f"layers.{i}" for i in range(len(self.layers))]]


#: The colours of SyntheticTask's squares (RGB), in label order.
COLOURS = {"red": (220, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 220), "white": (240, 240, 240)}


class SyntheticTask(Task):
    """Questions about a coloured square: "is it <colour>" (yes/no) or "what colour" (4-way), or the
    colour from the image alone (``question: shade``, vision-only).

    Args:
        options: ``question`` ("colour", "yesno" or "shade"), ``size`` (examples per split), ``seed``.
    """

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self._cache: dict[str, list[Example]] = {}

    def examples(self, split: str) -> Sequence[Example]:
        """The split's examples, drawn once from ``(seed, split)`` and cached.

        Args:
            split: ``"train"``, ``"val"`` or ``"test"``.

        Returns:
            ``size`` examples with a 16x16 square image each.

        Raises:
            ValueError: For another split.
        """
        if split not in ("train", "val", "test"):
            raise ValueError(f"task {self.name!r} has splits train, val and test, not {split!r}")
        if split not in self._cache:
            seed = int(self.options.get("seed", 0))
            rng = np.random.default_rng([seed, ("train", "val", "test").index(split)])
            names = list(COLOURS)
            out = []
            for i in range(int(self.options.get("size", 64))):
                colour = names[int(rng.integers(len(names)))]
                image = np.full((16, 16, 3), COLOURS[colour], dtype=np.uint8)
                if self.options.get("question") == "shade":  # vision-only: no text
                    out.append(Example(None, (image,), target=names.index(colour), id=f"{split}-{i}"))
                elif self.options.get("question", "colour") == "colour":
                    target = names.index(colour)
                    text = "what colour is the square"
                    out.append(Example(text, (image,), target=target, id=f"{split}-{i}"))
                else:
                    asked = names[int(rng.integers(len(names)))]
                    target = int(asked == colour)
                    out.append(Example(f"is the square {asked}", (image,), target=target, id=f"{split}-{i}"))
            self._cache[split] = out
        return self._cache[split]


def synthetic_task(name: str, question: str = "colour", size: int = 64, seed: int = 0) -> SyntheticTask:
    """A SyntheticTask with its manifest set, as the registry would build it.

    Args:
        name: The task's name.
        question: ``"colour"`` (4-way) or ``"yesno"``.
        size: Examples per split.
        seed: Draws the data (tasks with other seeds hold other examples).

    Returns:
        The task.
    """
    task = SyntheticTask({"question": question, "size": size, "seed": seed})
    task.manifest = synthetic_manifest(name, question, size)
    return task
