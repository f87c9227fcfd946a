"""Shared fixtures: build the task as the harness does, and a tiny VCR folder (``climb_vcr.sample``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from climb_vcr.sample import _TRAIN_MOVIES, _VAL_MOVIE, _records, write_sample_release

os.environ.setdefault("HF_HUB_OFFLINE", "1")

#: Movies (first folder of img_fn) of the tiny train.jsonl; val.jsonl uses a movie of its own.
TRAIN_MOVIES, VAL_MOVIE = _TRAIN_MOVIES, _VAL_MOVIE


@pytest.fixture
def tiny_data_dir(tmp_path: Path) -> Path:
    """A small folder in VCR 1.0's layout: annotation/{train,val,test}.jsonl, vcr1images/<movie>/<frame>.jpg."""
    return write_sample_release(tmp_path / "vcr")


@pytest.fixture
def make_task() -> Callable[..., Any]:
    """``make_task(data_dir=..., max_train_examples=...)``: built from the plugin's hook as the harness does."""
    from climb_vcr.plugin import climb_tasks

    from climb_harness.testing import build_component

    return lambda **options: build_component(climb_tasks()[0], **options)


@pytest.fixture
def tiny_records() -> dict[str, list[dict[str, Any]]]:
    """The records :func:`tiny_data_dir` writes, per file (train, val, test)."""
    return _records()


@pytest.fixture
def tiny_movies() -> tuple[tuple[str, ...], str]:
    """(the movies of the tiny train.jsonl, the movie of its val.jsonl)."""
    return TRAIN_MOVIES, VAL_MOVIE
