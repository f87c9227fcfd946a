"""One adapter per task on a frozen encoder (CLiMB's ``adapter`` algorithm), on the ``adapters`` library.

Lifecycle: :meth:`TaskAdapters.setup` wraps the encoder's Hugging Face ``transformer`` with
``adapters.init`` and freezes the whole encoder; :meth:`~TaskAdapters.on_task_start` adds the
task's adapter and calls ``train_adapter`` (which freezes everything in the transformer but that
adapter), before the runner builds the optimizer over what is trainable: the new adapter and the
heads. :meth:`~TaskAdapters.before_evaluate` activates the evaluated task's adapter, or none for a
task not learned yet. The adapters' weights live in the model's state dict; the algorithm's own
state is only which adapters exist, so a resumed run re-creates them before the weights load.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from climb_harness.api import Algorithm, TrainingContext

from climb_adapters.configs import adapter_config
from climb_adapters.plugin import DEFAULT_OPTIONS


class _QuietNoActiveAdapter(logging.Filter):
    """Evaluating a future task (or the initial scores) deliberately runs with no adapter active;
    the adapters library warns about that on every forward. Drop exactly that message."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "none are activated for the forward pass" not in record.getMessage()


_FILTER = _QuietNoActiveAdapter()


def adapter_name(task: str, index: int) -> str:
    """A module-safe adapter name (no dots) that stays unique: ``task<index>_<task name>``."""
    return f"task{index}_" + re.sub(r"[^0-9A-Za-z_]", "_", task)


class TaskAdapters(Algorithm):
    """See the module docstring. ``self.adapters`` maps task name -> adapter name, in creation order."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__({**DEFAULT_OPTIONS, **dict(options or {})})
        adapter_config(self.options)  # fail early on a bad config
        self.adapters: dict[str, str] = {}
        self._active: str | None = None

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def transformer(ctx: TrainingContext) -> Any:
        encoder = ctx.model.encoder
        model = getattr(encoder, "transformer", None)
        if model is None:
            raise ValueError(
                f"adapters: the encoder {type(encoder).__name__} does not expose a transformer (its `transformer` "
                "attribute is None), so there is nothing to attach adapters to. Use an encoder built on a Hugging "
                "Face model that sets `transformer` (e.g. vilt), or another algorithm."
            )
        return model

    def _add(self, ctx: TrainingContext, task: str, name: str) -> None:
        transformer = self.transformer(ctx)
        transformer.add_adapter(name, config=adapter_config(self.options))
        transformer.to(ctx.device)  # the new adapter's weights are created on the CPU
        self.adapters[task] = name

    def _activate(self, ctx: TrainingContext, name: str | None) -> None:
        if name != self._active:
            self.transformer(ctx).set_active_adapters(name)
            self._active = name

    # ------------------------------------------------------------------ hooks
    def setup(self, ctx: TrainingContext) -> None:
        import adapters

        transformer = self.transformer(ctx)
        interface = getattr(ctx.model.encoder, "adapter_interface", None)
        if interface:
            adapters.init(transformer, interface=adapters.AdapterModelInterface(**interface))
        else:
            adapters.init(transformer)
        logging.getLogger("adapters.model_mixin").addFilter(_FILTER)  # idempotent: one filter object
        for param in ctx.model.encoder.parameters():
            param.requires_grad_(False)
        self.adapters, self._active = {}, None

    def on_task_start(self, ctx: TrainingContext) -> None:
        task = ctx.current_task
        if task not in self.adapters:
            self._add(ctx, task, adapter_name(task, ctx.task_index))
        name = self.adapters[task]
        transformer = self.transformer(ctx)
        transformer.train_adapter(name)  # freezes the transformer (earlier adapters too) but `name`
        self._active = name
        inside = {id(p) for p in transformer.parameters()}
        for param in ctx.model.encoder.parameters():  # encoder parts outside the transformer stay frozen
            if id(param) not in inside:
                param.requires_grad_(False)
        for param in ctx.model.heads.parameters():  # heads live outside the transformer: keep them trainable
            param.requires_grad_(True)

    def training_loss(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> Any:
        if task not in self.adapters:
            raise RuntimeError(f"adapters: asked to train on task {task!r}, which has no adapter; tasks with one: {list(self.adapters)}.")
        self._activate(ctx, self.adapters[task])  # a validation of another task may have switched it
        return super().training_loss(ctx, task, batch)

    def before_evaluate(self, ctx: TrainingContext, task: str) -> None:
        self._activate(ctx, self.adapters.get(task))  # None: not learned yet -> the plain encoder

    # ------------------------------------------------------------------ checkpoint
    def state_dict(self) -> dict[str, Any]:
        return {
            "tasks": list(self.adapters),
            "adapter_names": list(self.adapters.values()),
            "adapter_options": dict(self.options),
        }

    def load_state_dict(self, state: Mapping[str, Any], ctx: TrainingContext) -> None:
        saved = dict(state.get("adapter_options", {}))
        if saved and saved != dict(self.options):
            raise ValueError(
                f"adapters: the checkpoint's adapters were built with {saved}, this run asks for {dict(self.options)}; "
                "the saved adapter weights would not fit. Resume with the same options, or start a new run."
            )
        tasks, names = list(state.get("tasks", [])), list(state.get("adapter_names", []))
        if len(tasks) != len(names):
            raise ValueError("adapters: corrupt algorithm state (tasks and adapter_names differ in length).")
        for task, name in zip(tasks, names):
            if task not in self.adapters:
                self._add(ctx, task, name)
