"""What L2P, DualPrompt and CODA-Prompt share: a frozen encoder, a prompt module attached to it, the loop.

:class:`PromptMethod` (the algorithm) freezes every encoder parameter in ``setup`` and registers the
method's :class:`PromptModule` as the encoder's submodule ``prompter`` (the contract of
``climb_harness.api.prompting``): from then on the encoder asks it for the prompts of every batch,
in training and evaluation alike, so the harness's own evaluation scores the prompted model. Being
a submodule of the model, the module's parameters are what the runner's optimizer trains (with the
heads), what the best-epoch restore and the checkpoints hold, and what ``--resume`` loads back after
``setup`` has re-created the module. The algorithm's own state is the number of tasks started.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from climb_harness.api import Algorithm, TrainingContext, prompting

__all__ = ["PromptMethod", "PromptModule", "generator", "layers_option", "uniform"]


def generator(*entropy: int) -> torch.Generator:
    """A torch generator seeded from whole numbers (e.g. the run's seed, a task, a stream number)."""
    seed = np.random.SeedSequence([abs(int(e)) for e in entropy]).generate_state(1, np.uint64)[0]
    return torch.Generator().manual_seed(int(seed) & (2**63 - 1))


def uniform(*shape: int, rng: torch.Generator) -> nn.Parameter:
    """A parameter drawn uniformly from [-1, 1]: the official initialisation of prompts and keys."""
    return nn.Parameter(torch.empty(*shape).uniform_(-1.0, 1.0, generator=rng))


def layers_option(given: Any, default: list[int], available: int, method: str, option: str) -> list[int]:
    """The layers an option names (sorted), or ``default`` when it is null; each must exist.

    Raises:
        ValueError: Naming the option, the encoder's ``prompt_layers`` and the fix.
    """
    layers = sorted(int(i) for i in given) if given is not None else list(default)
    if not layers or max(layers) >= available:
        raise ValueError(
            f"{method}: {option}={layers} but the encoder has {available} promptable layer(s) "
            f"(0..{available - 1}; its prompt_layers); choose layers below {available}, or null for the "
            "default."
        )
    return layers


class PromptModule(nn.Module):
    """The module a method registers as ``encoder.prompter``: ``forward(query) -> Prompts``.

    Attributes:
        task: Index (in the run's task order) of the task whose batch is being trained; the algorithm
            sets it before each training forward (DualPrompt trains task ``t`` with its own E-prompt).
        tasks_started: How many tasks have started (the current one included); 0 before the first.
        aux_loss: The method's extra loss term from the last training forward (key matching), or None.
        last_choice: The prompt indices chosen in the last forward (``(S, n)``), for inspection.
    """

    def __init__(self) -> None:
        super().__init__()
        self.task = 0
        self.tasks_started = 0
        self.aux_loss: torch.Tensor | None = None
        self.last_choice: torch.Tensor | None = None

    def start_task(self, index: int) -> None:
        """Task ``index`` starts: set which parameters train (the runner builds its optimizer next)."""
        self.tasks_started = index + 1

    def take_aux_loss(self) -> torch.Tensor | None:
        """The extra loss of the last training forward (once: it is cleared)."""
        loss, self.aux_loss = self.aux_loss, None
        return loss


class PromptMethod(Algorithm):
    """The algorithm around a :class:`PromptModule`; subclasses give :meth:`build` and their defaults."""

    #: The capability the method needs (``prompting.PROMPT_TUNING`` or ``prompting.PREFIX_TUNING``).
    capability = prompting.PREFIX_TUNING
    #: The option defaults (from the manifest), so the class can be built outside the harness too.
    defaults: Mapping[str, Any] = {}

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__({**self.defaults, **dict(options or {})})
        unknown = sorted(set(self.options) - set(self.defaults))
        if unknown:
            raise ValueError(f"{type(self).__name__} has no option(s) {', '.join(unknown)}; its options are "
                             f"{', '.join(sorted(self.defaults))}.")
        self.tasks_started = 0

    def build(self, ctx: TrainingContext, encoder: Any) -> PromptModule:
        """The method's prompt module for this encoder and run (seeded from ``ctx.seed``)."""
        raise NotImplementedError

    def prompter(self, ctx: TrainingContext) -> PromptModule:
        """The module attached to the run's encoder."""
        module = prompting.attached_prompter(ctx.model.encoder)
        if not isinstance(module, PromptModule):
            raise RuntimeError(f"{self.name}: the encoder has no prompt module attached; setup() attaches "
                               "it.")
        return module

    # ------------------------------------------------------------------ hooks
    def setup(self, ctx: TrainingContext) -> None:
        encoder = ctx.model.encoder
        prompting.check_promptable(encoder, self.capability)
        encoder.requires_grad_(False)  # the frozen pretrained backbone
        encoder.prompter = self.build(ctx, encoder).to(ctx.device)
        self.tasks_started = 0

    def on_task_start(self, ctx: TrainingContext) -> None:
        self.prompter(ctx).start_task(ctx.task_index)
        self.tasks_started = ctx.task_index + 1

    def training_loss(self, ctx: TrainingContext, task: str, batch: Mapping[str, Any]) -> Any:
        module = self.prompter(ctx)
        module.task = ctx.task_order.index(task)
        loss = ctx.model.loss(task, batch)
        extra = module.take_aux_loss()
        return loss if extra is None else loss + extra

    # ------------------------------------------------------------------ checkpoint
    def state_dict(self) -> dict[str, Any]:
        """The prompts, keys and components are model parameters (checkpointed with it); this is the rest."""
        return {"tasks_started": self.tasks_started, "options": dict(self.options)}

    def load_state_dict(self, state: Mapping[str, Any], ctx: TrainingContext) -> None:
        saved = dict(state.get("options", {}))
        if saved and saved != dict(self.options):
            raise ValueError(
                f"{self.name}: the checkpoint was written with options {saved}, this run asks for "
                f"{dict(self.options)}; its prompts would not fit. Resume with the same options, or start a "
                "new run."
            )
        self.tasks_started = int(state.get("tasks_started", 0))
        self.prompter(ctx).tasks_started = self.tasks_started
