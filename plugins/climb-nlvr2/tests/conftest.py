"""Shared fixtures: build the task through the plugin's own hook, and write a tiny NLVR2 release
(through :mod:`climb_nlvr2.sample`, the package's one release writer)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from climb_nlvr2.sample import _RECORDS, _write, write_sample_release

os.environ.setdefault("HF_HUB_OFFLINE", "1")

#: (identifier, sentence, label, directory) of the tiny release, per release split: the records
#: :func:`climb_nlvr2.sample.write_sample_release` writes (one writer, in the package).
TINY = _RECORDS


def write_release(root: Path, records: dict[str, list[tuple]] | None = None) -> Path:
    """Write ``records`` into ``root`` in NLVR2's release layout; the default (``None``) is the package's
    sample release (:func:`write_sample_release`)."""
    if records is None:
        return write_sample_release(root)
    return _write(root, records)


@pytest.fixture
def tiny_root(tmp_path: Path) -> Path:
    """A tiny NLVR2 release under tmp_path/nlvr2 (:func:`write_sample_release`)."""
    return write_release(tmp_path / "nlvr2")


@pytest.fixture
def make_task() -> Callable[..., Any]:
    """``make_task(data_dir=..., max_train_examples=...)``: factory(options) then manifest, as the harness does."""
    from climb_harness.testing import build_component
    from climb_nlvr2.plugin import climb_tasks

    def build(**options: Any) -> Any:
        return build_component(climb_tasks()[0], **options)

    return build


@pytest.fixture
def release_writer() -> Callable[..., Path]:
    """:func:`write_release`, for tests that write their own records or several folders."""
    return write_release


@pytest.fixture
def tiny_records() -> dict[str, list[tuple]]:
    """The records :func:`tiny_root` writes."""
    return TINY
