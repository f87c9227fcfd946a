"""Shared fixtures: build the task as the harness does, and write a tiny SNLI-VE folder in the release layout
(with :func:`climb_snli_ve.sample.write_sample_release`, the one writer)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture
def snli_dir(tmp_path: Path) -> Path:
    """``<tmp>/snli-ve/snli_ve_{train,dev,test}.jsonl`` + ``flickr30k_images/<id>.jpg`` (tiny JPEGs),
    written by the plugin's own :func:`climb_snli_ve.sample.write_sample_release`."""
    from climb_snli_ve.sample import write_sample_release

    return write_sample_release(tmp_path / "snli-ve")


@pytest.fixture
def tiny_records(snli_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """The records :func:`snli_dir` wrote, per release split (read back before the test changes anything)."""
    return {source: _read_jsonl(snli_dir / f"snli_ve_{source}.jsonl") for source in ("train", "dev", "test")}


@pytest.fixture
def make_task() -> Callable[..., Any]:
    """``make_task(data_dir=...)``: options validated and defaults filled, factory, then manifest, as the harness does."""
    from climb_harness.testing import build_component
    from climb_snli_ve.plugin import climb_tasks

    def build(**options: Any) -> Any:
        return build_component(climb_tasks()[0], **options)

    return build
