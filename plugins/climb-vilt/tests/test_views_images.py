"""Views of each task shape, and the Pillow/numpy image pipeline."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from climb_harness.api import Example
from climb_vilt import images as img
from climb_vilt.views import DUMMY_TEXT, example_views, max_text_tokens


def test_views_of_each_task_shape(tasks, examples):
    one = example_views(examples(tasks["vqa"])[0], tasks["vqa"])
    assert [(v.pair, v.image_token_type) for v in one] == [(None, 1)] and one[0].image is not None

    ex = examples(tasks["nlvr2"])[1]
    two = example_views(ex, tasks["nlvr2"])
    assert [v.image_token_type for v in two] == [1, 2]
    assert two[0].image is ex.images[0] and two[1].image is ex.images[1]
    assert two[0].text == two[1].text == ex.text

    ex = examples(tasks["vcr"])[0]
    mc = example_views(ex, tasks["vcr"])
    assert [v.pair for v in mc] == list(ex.choices) and all(v.image is ex.images[0] for v in mc)

    lang = example_views(examples(tasks["piqa"])[0], tasks["piqa"])
    assert len(lang) == 2 and all(v.image is None for v in lang)

    vision = example_views(examples(tasks["fashion"])[0], tasks["fashion"])
    assert vision[0].text == DUMMY_TEXT


def test_views_refuse_wrong_choices_or_missing_images(tasks):
    with pytest.raises(ValueError, match="choices"):
        example_views(
            Example(text="q", images=(np.zeros((4, 4, 3), np.uint8),), choices=("a",)), tasks["vcr"]
        )
    with pytest.raises(ValueError, match="images_per_example"):
        example_views(Example(text="q", images=(np.zeros((4, 4, 3), np.uint8),)), tasks["nlvr2"])


def test_max_text_tokens_caps_at_position_table(tasks):
    assert max_text_tokens(tasks["piqa"], 40) == 40  # task allows 80, ViLT has 40 positions
    assert max_text_tokens(tasks["fashion"], 40) == 40  # no task limit
    assert max_text_tokens(tasks["vqa"], 12) == 12


def test_target_size_follows_vilt_resize():
    assert img.target_size(64, 64, 64, 16) == (64, 64)
    assert img.target_size(200, 100, 64, 16) == (96, 64)  # shorter side 64, longer 128 capped at 106 -> 96
    assert img.target_size(50, 100, 32, 8) == (32, 48)  # longer 64 capped at 53 -> 48


def test_pad_batch_masks_real_pixels_and_normalise_range():
    a = torch.full((3, 32, 48), 255, dtype=torch.uint8)
    b = torch.zeros((3, 48, 32), dtype=torch.uint8)
    pixels, mask = img.pad_batch([a, b])
    assert pixels.shape == (2, 3, 48, 48) and pixels.dtype == torch.uint8
    assert mask[0].sum() == 32 * 48 and mask[0, 32:].sum() == 0 and mask[1, :, 32:].sum() == 0
    x = img.normalise(pixels, torch.float32)
    assert x.max().item() == 1.0 and x.min().item() == -1.0


def test_preparer_caches_paths_and_makes_mean_image(tmp_path, image, monkeypatch):
    path = tmp_path / "a.png"
    Image.fromarray(image(0, (20, 30))).save(path)
    prep = img.ImagePreparer(16, 8)
    calls = []
    real = img.load_image
    monkeypatch.setattr(img, "load_image", lambda x: calls.append(x) or real(x))
    first = prep.prepare(str(path))
    assert prep.prepare(str(path)) is first and len(calls) == 1
    assert first.shape == (3, 24, 16)  # (w 20, h 30) -> (16, 24)
    mean = prep.prepare(None)
    assert mean.shape == (3, 16, 16) and mean[:, 0, 0].tolist() == list(img.MEAN_RGB)
