"""The encoder base class (kept apart from :mod:`climb_harness.api` because it imports torch)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from climb_harness.api._tasks import Example, TaskInfo


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

    The factory is called with the validated options, the option schema's defaults filled in; the
    harness sets :attr:`manifest` after it returns.

    Attributes:
        manifest: The validated encoder manifest, set by the harness after the factory returns.
        hidden_size: The width of the vectors :meth:`forward` returns. Must be set (in ``__init__``):
            the task heads are built from it, and the conformance kit fails an encoder that leaves
            the base class's 0.
        adapter_interface: ``adapters.AdapterModelInterface`` keyword arguments for an architecture
            the ``adapters`` library does not support natively; ``None`` when it does.
        options: The component's options as the factory received them (a copy).
    """

    manifest: Mapping[str, Any] = {}
    hidden_size: int = 0
    adapter_interface: Mapping[str, Any] | None = None

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        """Initialise the module and keep the options.

        Args:
            options: The validated options, defaults filled in (``None``: none).
        """
        super().__init__()
        self.options: dict[str, Any] = dict(options or {})

    @property
    def transformer(self) -> nn.Module | None:
        """The registered submodule named ``transformer`` (a class attribute would shadow nn.Module's registry).

        Returns:
            The Hugging Face model that adapters and LoRA attach to, or ``None`` when the encoder
            registers no submodule of that name.
        """
        return self._modules.get("transformer")

    def adapt_to_tasks(self, tasks: Sequence[TaskInfo]) -> None:
        """Called once with every task of the run before any weights are loaded or trained
        (e.g. grow token-type embeddings for two-image tasks).

        The task heads are built right after it returns, from :attr:`hidden_size`.

        Args:
            tasks: The :class:`~climb_harness.api.TaskInfo` of every task of the run, in order.
        """

    def collate(self, examples: Sequence[Example], task: TaskInfo) -> dict[str, torch.Tensor]:
        """Turn examples into CPU tensors (tokenise, load images, run anything frozen).

        With ``training.preload`` (the default) the runner calls it once with a whole split and
        slices batches out of the result; without it, once per batch.

        Args:
            examples: The examples, in order.
            task: The task they belong to (its ``num_views``, head and modality).

        Returns:
            A dict of tensors whose first dimension is ``len(examples)``. Keep the view dimension
            in them (``forward`` is not given the task). Do not use the key ``"targets"``: the
            harness adds the targets under it.

        Raises:
            NotImplementedError: In this base class.
        """
        raise NotImplementedError(f"encoder {type(self).__name__} does not implement collate()")

    def forward(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:  # pragma: no cover
        """Encode a collated batch.

        Args:
            batch: :meth:`collate`'s tensors for some examples, on the device, without ``"targets"``.

        Returns:
            A float tensor ``(batch, views, hidden_size)``, ``views`` being the task's
            ``num_views``; gradients must reach the trainable parameters.

        Raises:
            NotImplementedError: In this base class.
        """
        raise NotImplementedError(f"encoder {type(self).__name__} does not implement forward()")

    def layer_groups(self) -> list[str]:
        """Parameter-name prefixes from the bottom of the encoder to the top.

        Returns:
            Module paths as they appear in this encoder's ``named_parameters()`` (no ``encoder.`` in
            front), the embedding group first, then each layer, e.g. ``["transformer.embeddings",
            "transformer.encoder.layer.0", ...]``. A parameter ``name`` is in group ``p`` when
            ``name == p or name.startswith(p + ".")`` (so ``layer.1`` does not take ``layer.10``);
            a prefix with a trailing dot matches nothing. ``[]`` (the default): none declared, and
            methods such as ``frozen-bottom-k`` refuse the encoder.
        """
        return []
