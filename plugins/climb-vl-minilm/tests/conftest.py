"""Shared fixtures: TaskInfos of every shape, examples with images made here, a tiny BERT folder."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may be downloaded in tests

import numpy as np
import pytest
from PIL import Image

from climb_harness.api import Example, HeadSpec, TaskInfo

TASKS = {
    "vqa": TaskInfo("vqa", "vision-language", 1, HeadSpec("soft-score", 7), 40),
    "nlvr2": TaskInfo("nlvr2", "vision-language", 2, HeadSpec("classification", 2), 40),
    "vcr": TaskInfo("vcr", "vision-language", 1, HeadSpec("multiple-choice", 4), 40),
    "sst2": TaskInfo("sst2", "language", 0, HeadSpec("classification", 2), 40),
    "piqa": TaskInfo("piqa", "language", 0, HeadSpec("multiple-choice", 2), 80),
    "fashion": TaskInfo("fashion", "vision", 1, HeadSpec("classification", 10), None),
}


def random_image(seed: int, size: tuple[int, int] = (40, 40)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)


def make_examples(task: TaskInfo, n: int = 3) -> list[Example]:
    """``n`` examples fitting ``task``: images as arrays and PIL images, texts of varied length."""
    out = []
    for i in range(n):
        images: tuple = ()
        if task.modality != "language":
            images = tuple(
                random_image(10 * i + k) if k % 2 == 0 else Image.fromarray(random_image(10 * i + k))
                for k in range(max(1, task.images_per_example))
            )
        text = None if task.modality == "vision" else "is there a red " + "very " * i + "big circle?"
        choices = (
            tuple(f"choice {c} of example {i}" for c in range(task.num_views))
            if task.head.type == "multiple-choice"
            else ()
        )
        out.append(Example(text=text, images=images, choices=choices, target=0, id=f"ex{i}"))
    return out


@pytest.fixture(scope="session")
def tasks() -> dict[str, TaskInfo]:
    return dict(TASKS)


@pytest.fixture(scope="session")
def examples():
    """``examples(task, n=3)``: see :func:`make_examples`."""
    return make_examples


@pytest.fixture(scope="session")
def image():
    """``image(seed, (width, height))``: a random HxWx3 uint8 array."""
    return random_image


@pytest.fixture(scope="session")
def image_files(tmp_path_factory):
    """``image_files(n)``: paths of ``n`` distinct 64x64 PNG files (the cache keys images by path)."""
    folder = tmp_path_factory.mktemp("images")

    def make(n: int, offset: int = 0) -> list[str]:
        paths = []
        for i in range(offset, offset + n):
            path = folder / f"{i}.png"
            if not path.exists():
                Image.fromarray(random_image(1000 + i, (64, 64))).save(path)
            paths.append(str(path))
        return paths

    return make


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory):
    """A randomly initialised 3-layer BERT (hidden 24) + the real BERT-uncased tokenizer, saved."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from climb_vl_minilm._paths import minilm_folder

    folder = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(str(minilm_folder(None)))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=24,
        num_hidden_layers=3,
        num_attention_heads=2,
        intermediate_size=48,
    )
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Small models gain nothing from more threads, and one thread is not slowed down by other
    processes competing for the cores; the setting is restored for the rest of the session."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
