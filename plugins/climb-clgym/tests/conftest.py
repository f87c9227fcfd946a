"""Shared fixtures of climb-clgym's tests: the algorithms built as the harness builds them, tiny runs."""

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
def make_algo() -> Callable[..., Any]:
    """``make_algo(name, cls=None, **options)``: factory(options with defaults) then ``.manifest``, as the harness does."""
    from climb_clgym.plugin import climb_algorithms, defaults

    components = {c.name: c for c in climb_algorithms()}

    def build(name: str, cls: type | None = None, **options: Any) -> Any:
        component = components[name]
        module, attr = component.factory.split(":")
        algorithm = (cls or getattr(importlib.import_module(module), attr))(
            {**defaults(dict(component.manifest)), **options}
        )
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
