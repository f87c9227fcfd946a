"""Image preparation for ViLT with Pillow, numpy and torch (torchvision breaks ViLT here).

ViLT's recipe (CLiMB used ViltProcessor's): resize the shorter side to ``size`` with the longer
side at most ``size * 640 / 384``, round both down to a multiple of the patch size, pad a batch to
its largest image and mark real pixels in ``pixel_mask``; normalise with mean = std = 0.5.
Square images of one size thus need no padding.

Pixels are kept as ``uint8`` until :func:`normalise` runs on the device in the encoder's forward:
a collated split then takes a quarter of the memory it would as float32.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from climb_harness.api import ImageLike, load_image

#: ViLT's longest-to-shortest side limit (384 -> 640 in the original processor).
MAX_ASPECT = 640 / 384

#: Flat stand-in for language-only tasks: the mean RGB colour of natural photographs (ImageNet
#: statistics, close to COCO's). CLiMB used COCO's per-pixel mean image, which is a near-flat
#: grey-brown; a flat colour needs no data file.
MEAN_RGB = (124, 116, 104)


def target_size(width: int, height: int, size: int, patch: int) -> tuple[int, int]:
    """``(width, height)`` after ViLT's shorter-side resize, rounded down to whole patches."""
    short, long = min(width, height), max(width, height)
    new_long = min(round(long * size / short), int(size * MAX_ASPECT))
    new_short = size
    new_w, new_h = (new_short, new_long) if width <= height else (new_long, new_short)
    return max(patch, new_w // patch * patch), max(patch, new_h // patch * patch)


def to_uint8_chw(image: Image.Image, size: int, patch: int) -> torch.Tensor:
    """Resize one RGB image and return it as a ``(3, H, W)`` uint8 tensor."""
    new_size = target_size(image.width, image.height, size, patch)
    if new_size != image.size:
        image = image.resize(new_size, Image.Resampling.BICUBIC)
    return torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1)


def mean_image(size: int, patch: int) -> torch.Tensor:
    """The language-only stand-in: a ``(3, size, size)`` uint8 image of :data:`MEAN_RGB`."""
    side = max(patch, size // patch * patch)
    return torch.tensor(MEAN_RGB, dtype=torch.uint8).view(3, 1, 1).expand(3, side, side).clone()


def pad_batch(images: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad ``(3, h, w)`` images to the batch's largest: ``(n, 3, H, W)`` uint8 and ``(n, H, W)`` mask."""
    height = max(img.shape[1] for img in images)
    width = max(img.shape[2] for img in images)
    pixels = torch.zeros(len(images), 3, height, width, dtype=torch.uint8)
    mask = torch.zeros(len(images), height, width, dtype=torch.long)
    for i, img in enumerate(images):
        pixels[i, :, : img.shape[1], : img.shape[2]] = img
        mask[i, : img.shape[1], : img.shape[2]] = 1
    return pixels, mask


def normalise(pixels: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """uint8 pixels -> ViLT's input: ``(x / 255 - 0.5) / 0.5`` in ``dtype``."""
    return pixels.to(dtype) / 127.5 - 1.0


class ImagePreparer:
    """Loads, resizes and pads images; remembers images given as paths (tasks repeat them: easy-VQA
    asks ~10 questions per image) in a least-recently-used cache bounded in bytes."""

    def __init__(self, size: int, patch: int, cache_bytes: int = 256 * 2**20) -> None:
        self.size = size
        self.patch = patch
        self.cache_bytes = cache_bytes
        self._cache: collections.OrderedDict[str, torch.Tensor] = collections.OrderedDict()
        self._cached_bytes = 0
        self._mean = mean_image(size, patch)

    def __deepcopy__(self, memo: dict) -> ImagePreparer:
        """Copies of an encoder share the (read-only) image cache instead of duplicating it."""
        return self

    def prepare(self, image: ImageLike | None) -> torch.Tensor:
        if image is None:
            return self._mean
        if not isinstance(image, str):
            return to_uint8_chw(load_image(image), self.size, self.patch)
        hit = self._cache.get(image)
        if hit is not None:
            self._cache.move_to_end(image)
            return hit
        tensor = to_uint8_chw(load_image(image), self.size, self.patch)
        self._cache[image] = tensor
        self._cached_bytes += tensor.numel()
        while self._cached_bytes > self.cache_bytes and self._cache:
            _, old = self._cache.popitem(last=False)
            self._cached_bytes -= old.numel()
        return tensor

    def batch(self, images: Sequence[ImageLike | None]) -> tuple[torch.Tensor, torch.Tensor]:
        return pad_batch([self.prepare(image) for image in images])
