"""Shared fixtures of climb-clgym's tests: the algorithms built as the harness builds them, tiny runs."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

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
    """``tiny_tasks(n, size)``: up to three small learnable synthetic tasks."""
    from climb_harness.testing.components import synthetic_task

    def build(n: int = 3, size: int = 48) -> list[Any]:
        tasks = [
            synthetic_task("colours", "colour", size, 1),
            synthetic_task("yesno", "yesno", size, 2),
            synthetic_task("colours-b", "colour", size, 3),
        ]
        return tasks[:n]

    return build


@pytest.fixture
def make_spec() -> Callable[..., Any]:
    """``make_spec(algorithm, tasks, out, epochs=1)``: a RunSpec over TinyEncoder on the CPU."""
    from climb_harness.runner import RunSpec, TrainingOptions
    from climb_harness.testing.components import TinyEncoder

    def build(algorithm: Any, tasks: list[Any], out: Path, epochs: int = 1) -> Any:
        return RunSpec(
            tasks=tasks,
            encoder_factory=lambda: TinyEncoder({}),
            algorithm=algorithm,
            seed=0,
            training=TrainingOptions(epochs=epochs, lr=3e-3, batch_size=16, progress=False, device="cpu"),
            output_dir=out,
            config={"test": "climb-clgym"},
            references={
                "random": {t.name: t.manifest["random_baseline"] for t in tasks},
                "direct": {t.name: None for t in tasks},
            },
            plugins=[],
        )

    return build


@pytest.fixture
def make_ctx() -> Callable[..., Any]:
    """``make_ctx(tasks)``: the runner's real Context over a fresh TinyEncoder model (no training loop)."""
    from climb_harness.data import load_split
    from climb_harness.heads import ContinualModel
    from climb_harness.runner import Context, TrainingOptions, build_optimizer, seed_everything
    from climb_harness.testing.components import TinyEncoder

    def build(tasks: list[Any]) -> Any:
        seed_everything(0)
        encoder = TinyEncoder({})
        infos = {t.name: t.info for t in tasks}
        model = ContinualModel(encoder, infos)
        train = {t.name: load_split(t, "train", encoder, True) for t in tasks}
        training = TrainingOptions(epochs=1, lr=3e-3, batch_size=16, progress=False, device="cpu")
        ctx = Context(
            model,
            torch.device("cpu"),
            0,
            [t.name for t in tasks],
            infos,
            train,
            training,
            {t.name: 16 for t in tasks},
        )
        ctx.optimizer = build_optimizer(model, 3e-3, training)
        return ctx

    return build
