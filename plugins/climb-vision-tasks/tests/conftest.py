"""Shared fixtures: build a task as the harness does, and write tiny releases in the official layouts
(with :func:`climb_vision_tasks.sample.write_sample_release`, the one writer)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def make_task() -> Callable[..., Any]:
    """``make_task(name, **options)``: options validated and defaults filled, factory, then manifest."""
    from climb_harness.testing import build_component
    from climb_vision_tasks.plugin import climb_tasks

    components = {c.name: c for c in climb_tasks()}

    def build(name: str, **options: Any) -> Any:
        return build_component(components[name], **options)

    return build


@pytest.fixture
def release(tmp_path: Path) -> Callable[[str], Path]:
    """``release(task)``: a tiny release of ``task`` under ``<tmp>/<task>``, its data_dir returned."""
    from climb_vision_tasks.sample import write_sample_release

    return lambda task: write_sample_release(tmp_path / task, task)


@pytest.fixture
def assert_carving() -> Callable[[Any], None]:
    """``assert_carving(task)``: train and val are disjoint, sorted, and together the whole official train."""
    return _assert_carving


def _assert_carving(task: Any) -> None:
    train, val = task.examples("train"), task.examples("val")
    assert train.indices == sorted(train.indices) and val.indices == sorted(val.indices)
    assert not set(train.indices) & set(val.indices)
    assert sorted(train.indices + val.indices) == list(range(len(task.official("train"))))
    assert not {e.id for e in train} & {e.id for e in val}
