"""Shared fixtures: small real encoders (a ViLT of climb-vilt) and short runs through the harness Runner."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may be downloaded in tests

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from climb_harness.testing import runs, single_thread

if TYPE_CHECKING:
    from climb_harness.testing import Runner

#: A ViLT small enough for CPU tests, with 5 layers: DualPrompt's and CODA-Prompt's paper layers exist.
TINY_VILT = {"hidden_size": 32, "num_hidden_layers": 5, "num_attention_heads": 2, "intermediate_size": 64,
             "image_size": 32, "patch_size": 16}


def vilt_encoder(**options: Any) -> Any:
    from climb_vilt.vilt import ViltEncoder

    return ViltEncoder({**TINY_VILT, **options})


def run_algorithm(algorithm: Any, out: Path, *, n_tasks: int = 3, size: int = 32, epochs: int = 2,
                  encoder_factory: Callable[[], Any] | None = None, stop_after: int | None = None,
                  resume: bool = False, seed: int = 0) -> tuple[dict[str, Any] | None, Runner]:
    """Run ``algorithm`` on the kit's first ``n_tasks`` tiny tasks (a 5-layer tiny ViLT by default)."""
    spec = runs.run_spec(algorithm, out, tasks=runs.tiny_tasks(n_tasks, size), epochs=epochs, batch_size=None,
                         encoder_factory=encoder_factory or vilt_encoder, seed=seed, stop_after=stop_after)
    return runs.run_with_runner(spec, resume=resume)


@pytest.fixture
def tiny_vilt() -> Callable[..., Any]:
    """``tiny_vilt(**options)``: a fresh 5-layer tiny ViLT (options override :data:`TINY_VILT`)."""
    return vilt_encoder


@pytest.fixture
def run() -> Callable[..., tuple[dict[str, Any] | None, Runner]]:
    """``run(algorithm, out_dir, n_tasks=3, epochs=2, encoder_factory=None, stop_after=None,
    resume=False)``."""
    return run_algorithm


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny models run faster on one intra-op thread on a busy machine; restored after each test."""
    with single_thread():
        yield
