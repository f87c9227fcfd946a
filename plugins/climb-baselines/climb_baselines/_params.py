"""Helpers shared by the freezing baselines (kept apart so each method module stays one idea)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from torch import nn


def matches_prefix(name: str, prefixes: Sequence[str]) -> bool:
    """``name`` is a parameter under one of ``prefixes`` (``layer.1`` does not match ``layer.10.x``)."""
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def freeze(parameters: Iterable[nn.Parameter]) -> int:
    """Set ``requires_grad=False`` (the runner's optimizer then leaves them out); return how many."""
    count = 0
    for param in parameters:
        param.requires_grad_(False)
        count += 1
    return count
