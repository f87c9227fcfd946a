"""Shared fixtures: build the task as the harness does, and write a tiny VQAv2 folder in the official layout."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep the vocabulary cache of each test in its own folder."""
    folder = tmp_path_factory.mktemp("climb-cache")
    monkeypatch.setenv("CLIMB_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def make_task() -> Callable[..., Any]:
    from climb_harness.testing import build_component
    from climb_vqav2.plugin import climb_tasks

    return lambda **options: build_component(climb_tasks()[0], **options)


@pytest.fixture
def tiny_root(tmp_path: Path) -> Path:
    """8 train2014 images and 4 val2014 images, 3 questions each, in the official layout (the plugin's sample release)."""
    from climb_vqav2.sample import write_sample_release

    return write_sample_release(tmp_path / "vqav2")
