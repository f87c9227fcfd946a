"""Frozen EfficientNet-Lite0 image tokens, computed in ``collate()`` once per image.

The CNN is frozen (eval mode, no gradient), so its output for an image never changes: it runs on the
CPU where collate runs, never inside a training step, and features of images given as paths are
kept in a least-recently-used cache bounded in bytes (easy-VQA asks ~10 questions per image and
the runner collates every split of every run). Like the frozen text model it is a plain attribute of
the encoder, not a submodule: it is not in ``parameters()``, not checkpointed, and one instance per
(weights, image size, grid, cache size) is shared by every encoder of a process.

Preprocessing is the package's own: resize to a square ``image_size`` (Pillow, bicubic), then
``(x - 127) / 128`` per channel; the tokens are the cells of the final 1280-channel feature map
(``extract_features``), optionally average-pooled to ``grid x grid``.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from climb_harness.api import ImageLike, load_image

#: Channels of EfficientNet-Lite0's final feature map (its head convolution is not scaled).
CHANNELS = 1280
#: Total stride of that map: a ``s x s`` input gives ``ceil(s / 32)`` cells a side.
STRIDE = 32

_SHARED: dict[tuple[str, int, int | None, int], ImageFeatures] = {}


def build_efficientnet(weights: Path, image_size: int) -> torch.nn.Module:
    """EfficientNet-Lite0 from the efficientnet-lite-pytorch package with ``weights`` (a plain state
    dict, loaded with ``weights_only=True``), frozen and in eval mode. Built under a forked RNG: the
    random initialisation it overwrites must not move the global RNG (encoders built later in the
    process would otherwise start from other weights than the first)."""
    from efficientnet_lite_pytorch import EfficientNet

    with torch.random.fork_rng(devices=[]):
        model = EfficientNet.from_name("efficientnet-lite0", image_size=image_size)
    state = torch.load(str(weights), map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model.eval()
    model.requires_grad_(False)
    return model


def to_input(image: Image.Image, size: int) -> torch.Tensor:
    """One RGB image as EfficientNet-Lite's ``(3, size, size)`` float input."""
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BICUBIC)
    pixels = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1)
    return (pixels.float() - 127.0) / 128.0


class ImageFeatures:
    """Frozen EfficientNet-Lite0 + a least-recently-used cache of each image's ``(tokens, 1280)`` features."""

    def __init__(
        self, weights: Path, image_size: int, grid: int | None, cache_bytes: int, chunk_size: int = 64
    ) -> None:
        self.model = build_efficientnet(weights, image_size)
        self.image_size = image_size
        self.grid = grid
        side = grid if grid is not None else math.ceil(image_size / STRIDE)
        self.tokens_per_image = side * side
        self.channels = CHANNELS
        self.cache_bytes = cache_bytes
        self.chunk_size = chunk_size
        self.cache: collections.OrderedDict[str, torch.Tensor] = collections.OrderedDict()
        self._cached_bytes = 0
        #: How many images the CNN has encoded so far (each cached image once).
        self.images_computed = 0

    @classmethod
    def shared(cls, weights: Path, image_size: int, grid: int | None, cache_bytes: int) -> ImageFeatures:
        """One CNN and cache per setting in a process: every encoder built there (each algorithm's run,
        each direct fine-tuning reference) reuses it instead of recomputing the same images."""
        key = (str(weights), image_size, grid, cache_bytes)
        if key not in _SHARED:
            _SHARED[key] = cls(weights, image_size, grid, cache_bytes)
        return _SHARED[key]

    def __deepcopy__(self, memo: dict) -> ImageFeatures:
        """Copies of an encoder share the frozen CNN and its cache."""
        return self

    def features(self, images: Sequence[ImageLike]) -> torch.Tensor:
        """``(len(images), tokens_per_image, 1280)`` float32 features."""
        found: dict[str, torch.Tensor] = {}
        missing: list[str] = []
        for image in images:
            if isinstance(image, str) and image not in found:
                hit = self.cache.get(image)
                if hit is None:
                    if image not in missing:
                        missing.append(image)
                else:
                    self.cache.move_to_end(image)
                    found[image] = hit
        computed = self._compute([load_image(path) for path in missing])
        for path, value in zip(missing, computed, strict=True):
            found[path] = value
            self._remember(path, value)
        others = [image for image in images if not isinstance(image, str)]
        other_features = iter(self._compute([load_image(image) for image in others]))
        rows = [found[image] if isinstance(image, str) else next(other_features) for image in images]
        if not rows:
            return torch.zeros(0, self.tokens_per_image, self.channels)
        return torch.stack(rows)

    @torch.no_grad()
    def _compute(self, images: Sequence[Image.Image]) -> list[torch.Tensor]:
        out: list[torch.Tensor] = []
        for start in range(0, len(images), self.chunk_size):
            chunk = torch.stack(
                [to_input(image, self.image_size) for image in images[start : start + self.chunk_size]]
            )
            grid = self.model.extract_features(chunk)  # (n, 1280, h, w)
            if self.grid is not None:
                grid = torch.nn.functional.adaptive_avg_pool2d(grid, self.grid)
            out.extend(row.clone() for row in grid.flatten(2).transpose(1, 2))
        self.images_computed += len(images)
        return out

    def _remember(self, path: str, value: torch.Tensor) -> None:
        size = value.numel() * value.element_size()
        if size > self.cache_bytes:
            return
        self.cache[path] = value
        self._cached_bytes += size
        while self._cached_bytes > self.cache_bytes:
            _, old = self.cache.popitem(last=False)
            self._cached_bytes -= old.numel() * old.element_size()
