"""Shared fixtures of climb-bcl's tests: the algorithm built as the harness builds it, tiny runs."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

import pytest
import torch

from climb_harness.testing import runs

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Tiny models: one thread avoids OpenMP spin-waiting on a busy 2-core machine (25x faster here).
torch.set_num_threads(1)


@pytest.fixture
def make_bcl() -> Callable[..., Any]:
    """``make_bcl(cls=BCL, **options)``: factory(options with defaults) then ``.manifest``, as the harness does."""
    from climb_bcl.plugin import DEFAULT_OPTIONS, climb_algorithms

    component = climb_algorithms()[0]
    module, attr = component.factory.split(":")
    default_cls = getattr(importlib.import_module(module), attr)

    def build(cls: type | None = None, **options: Any) -> Any:
        algorithm = (cls or default_cls)({**DEFAULT_OPTIONS, **options})
        algorithm.manifest = component.manifest
        return algorithm

    return build


@pytest.fixture
def tiny_tasks() -> Callable[..., list[Any]]:
    """``tiny_tasks(n, size=48)``: the testing kit's first ``n`` (up to three) small learnable tasks."""
    return runs.tiny_tasks


@pytest.fixture
def make_spec() -> Callable[..., Any]:
    """``make_spec(algorithm, tasks, out, epochs=1)``: the kit's RunSpec over TinyEncoder on the CPU, batches of 16."""
    return lambda algorithm, tasks, out, epochs=1: runs.run_spec(algorithm, out, tasks=tasks, epochs=epochs, batch_size=16)


@pytest.fixture
def make_ctx() -> Callable[..., Any]:
    """``make_ctx(tasks)``: the runner's real Context over a fresh TinyEncoder model, with its AdamW (no training loop)."""
    return lambda tasks: runs.make_context(tasks, batch_size=16, lr=3e-3)
