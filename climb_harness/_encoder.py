"""The encoder base class (kept apart from :mod:`climb_harness.api` because it imports torch)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from climb_harness.api import Example, TaskInfo


class Encoder(nn.Module):
    """Base class of encoders.

    * :meth:`collate` runs on CPU, outside the training step: tokenise, load and resize images,
      run anything frozen. It returns a dict of tensors whose first dimension is the number of
      examples; the runner may collate a whole split once and slice it into batches, so anything
      cached here is computed once.
    * :meth:`forward` maps such a batch (on the device) to a ``(batch, views, hidden_size)``
      tensor: ``views`` is ``task.num_views`` (the images of a two-image example, or the
      choices of a multiple-choice one, else 1).
    * ``transformer`` is the Hugging Face model that parameter-efficient methods (adapters, LoRA)
      attach to; ``adapter_interface`` gives ``adapters.AdapterModelInterface`` keyword arguments
      for architectures the ``adapters`` library does not support natively (``None`` if native).
    * :meth:`layer_groups` lists parameter-name prefixes bottom-up (embeddings first, then each
      layer) so that methods such as "freeze the bottom k layers" work on any encoder.
    """

    manifest: Mapping[str, Any] = {}
    hidden_size: int = 0
    adapter_interface: Mapping[str, Any] | None = None

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.options: dict[str, Any] = dict(options or {})

    @property
    def transformer(self) -> nn.Module | None:
        """The registered submodule named ``transformer`` (a class attribute would shadow nn.Module's registry)."""
        return self._modules.get("transformer")

    def adapt_to_tasks(self, tasks: Sequence[TaskInfo]) -> None:
        """Called once with every task of the run before any weights are loaded or trained
        (e.g. grow token-type embeddings for two-image tasks)."""

    def collate(self, examples: Sequence[Example], task: TaskInfo) -> dict[str, torch.Tensor]:
        raise NotImplementedError(f"encoder {type(self).__name__} does not implement collate()")

    def forward(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError(f"encoder {type(self).__name__} does not implement forward()")

    def layer_groups(self) -> list[str]:
        """Parameter-name prefixes from the bottom of the encoder to the top."""
        return []
