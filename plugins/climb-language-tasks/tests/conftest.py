"""Shared fixtures: tiny releases in the official layouts (``climb_language_tasks.sample``), tasks built as the harness does."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

TASK_NAMES = ("imdb", "sst2", "piqa", "hellaswag", "commonsenseqa", "wordnet-supersense")


@pytest.fixture
def sample_root(tmp_path: Path) -> Path:
    """``<tmp>/data/<task>/...`` for every task, written by :func:`climb_language_tasks.sample.write_sample_release`."""
    from climb_language_tasks.sample import write_sample_release

    return write_sample_release(tmp_path / "data")


@pytest.fixture
def make_task() -> Callable[..., Any]:
    """``make_task(name, data_dir=..., ...)``: options validated, defaults filled, factory, manifest, as the harness does."""
    from climb_harness.testing import build_component
    from climb_language_tasks.plugin import climb_tasks

    components = {c.name: c for c in climb_tasks()}

    def build(name: str, **options: Any) -> Any:
        return build_component(components[name], **options)

    return build


@pytest.fixture
def task_at(make_task, sample_root) -> Callable[..., Any]:
    """``task_at(name, **options)``: the task reading its tiny sample folder."""
    return lambda name, **options: make_task(name, data_dir=str(sample_root / name), **options)
