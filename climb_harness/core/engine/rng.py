"""Seeding, and evaluation on forked random states (how often a run evaluates never changes its training draws)."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

import numpy as np
import torch

__all__ = ["EVAL_STREAM", "isolated_rng", "seed_everything"]


def seed_everything(seed: int, *stream: int) -> None:
    """Seed Python, NumPy and torch from ``seed`` and a stream id (e.g. the task index)."""
    derived = int(np.random.SeedSequence([seed, *stream]).generate_state(1)[0])
    random.seed(derived)
    np.random.seed(derived)
    torch.manual_seed(derived)


#: Seeds the RNG inside evaluation.
EVAL_STREAM = 999_983


@contextlib.contextmanager
def isolated_rng(device: torch.device) -> Iterator[None]:
    """Run a block on copies of the Python, NumPy and torch RNG states, restored afterwards."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    accelerator = device.type if device.type in ("cuda", "mps", "xpu") else "cuda"
    devices = [device.index or 0] if device.type == accelerator else []
    try:
        with torch.random.fork_rng(devices=devices, device_type=accelerator):
            yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
