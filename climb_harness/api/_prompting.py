"""Prompting a frozen encoder: the contract behind the capabilities ``prompt-tuning`` and ``prefix-tuning``.

Prompt-based continual learning (L2P, DualPrompt, CODA-Prompt) keeps a pretrained transformer frozen
and learns small inputs to it, chosen per example by matching a *query* (the frozen encoder's own
output for the example) against learned keys. The core names no model: an encoder whose manifest
``provides`` one of the two capabilities below promises this module's :class:`PromptableEncoder`
contract, and an algorithm that ``requires`` it may rely on it.

* ``prompt-tuning`` (:data:`PROMPT_TUNING`): prompt *tokens* inserted into the input sequence of the
  encoder's first promptable layer (Lester et al. 2021; L2P prepends its selected prompts this way).
* ``prefix-tuning`` (:data:`PREFIX_TUNING`): key/value *prefixes* prepended, after their projections,
  to the keys and values of chosen self-attention layers (Li & Liang 2021; DualPrompt, CODA-Prompt).

**Sequences.** An encoder runs one transformer sequence per *view* (an image of a two-image example,
a choice of a multiple-choice one), so a batch of ``N`` examples with ``V`` views is ``S = N * V``
sequences, example-major (row ``n * V + v``): the order of ``query.flatten(0, 1)``. Every tensor of
:class:`Prompts` has ``S`` rows.

**How an algorithm drives it.** It registers a module as the encoder's submodule ``prompter``
(``encoder.prompter = module``; so its parameters are trained, checkpointed and restored with the
model). The encoder's ``forward`` then asks it for the prompts of every batch, in training and in
evaluation alike (:func:`prompts_for`): ``prompter(query)`` with the ``(S, hidden_size)`` query, which
returns :class:`Prompts`. With no prompter the encoder's forward is what it was without this module,
bit for bit. This module imports no torch at import time.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch import nn

__all__ = [
    "PREFIX_TUNING",
    "PROMPT_TUNING",
    "AttentionSlots",
    "PromptableEncoder",
    "PromptableMixin",
    "Prompter",
    "Prompts",
    "attached_prompter",
    "check_promptable",
    "drop_prompt_tokens",
    "frozen_query",
    "insert_prompt_tokens",
    "prefix_hooks",
    "prompts_for",
    "verify_prompting",
]

#: The capability: the encoder gives a frozen query and accepts prompt tokens (:attr:`Prompts.tokens`).
PROMPT_TUNING = "prompt-tuning"
#: The capability: the encoder gives a frozen query and accepts key/value prefixes (:attr:`Prompts.prefixes`).
PREFIX_TUNING = "prefix-tuning"


@dataclasses.dataclass(frozen=True)
class Prompts:
    """What one forward pass injects, for each of its ``S`` sequences (see the module docstring).

    Attributes:
        tokens: ``(S, P, prompt_width)`` prompt tokens, or None. They are inserted right after each
            sequence's first token (its [CLS]), as L2P places them, at the input of the encoder's
            first promptable layer; every token attends to them and they to every token; their
            outputs are dropped before the encoder pools its output, so ``hidden_size`` is unchanged.
        prefixes: ``{layer: (keys, values)}``, each ``(S, L_layer, prompt_width)``: prepended to the
            projected keys and values of self-attention layer ``layer`` (0 = the encoder's lowest
            promptable layer, up to ``prompt_layers - 1``), never masked. The layer's queries are
            its own tokens', so the sequence length is unchanged.

    Example:
        >>> Prompts().empty
        True
    """

    tokens: Any = None
    prefixes: Mapping[int, tuple[Any, Any]] = dataclasses.field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """Whether there is nothing to inject (then the forward equals the plain one, bit for bit)."""
        return (self.tokens is None or self.tokens.shape[1] == 0) and not self.prefixes

    def rows(self, index: Any) -> Prompts:
        """The prompts of some sequences (``index``: a slice or index tensor over the ``S`` rows)."""
        tokens = None if self.tokens is None else self.tokens[index]
        return Prompts(tokens, {layer: (k[index], v[index]) for layer, (k, v) in self.prefixes.items()})


class Prompter(Protocol):
    """What an algorithm registers as ``encoder.prompter`` (a ``torch.nn.Module``)."""

    def __call__(self, query: torch.Tensor) -> Prompts:
        """The prompts for ``S`` sequences from their ``(S, hidden_size)`` frozen queries."""


class PromptableEncoder(Protocol):
    """The contract of an encoder providing ``prompt-tuning`` and/or ``prefix-tuning``.

    Attributes:
        hidden_size: The width of the vectors ``forward`` returns (and of the query).
        prompt_width: The width of prompt tokens and of prefix keys and values (the transformer's
            hidden size; the attention's projected width).
        prompt_layers: How many self-attention layers accept prefixes, numbered 0 (the lowest the
            encoder runs in its forward) to ``prompt_layers - 1``; layers that run frozen outside
            ``forward`` (e.g. in ``collate``) cannot see prompts and are not counted.
    """

    hidden_size: int
    prompt_width: int
    prompt_layers: int

    def prompt_query(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """``(N, V, hidden_size)``: the encoder's output with no prompts, in eval mode (no dropout),
        with no gradient (:func:`frozen_query`): the query ``q(x)`` of L2P, DualPrompt and CODA-Prompt."""

    def forward_with_prompts(
        self, batch: Mapping[str, torch.Tensor], prompts: Prompts | None
    ) -> torch.Tensor:
        """``(N, V, hidden_size)`` with ``prompts`` injected; ``None`` or empty prompts: the plain forward,
        bit for bit. ``forward(batch)`` is ``forward_with_prompts(batch, prompts_for(self, batch))``."""


class PromptableMixin:
    """The parts of :class:`PromptableEncoder` every encoder writes alike; put it before ``Encoder``.

    ``class MyEncoder(prompting.PromptableMixin, Encoder)`` then only defines ``prompt_width``,
    ``prompt_layers`` and ``forward_with_prompts`` (and no ``forward``).
    """

    def forward(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """``forward_with_prompts`` with the attached prompter's prompts (none: the plain forward)."""
        return self.forward_with_prompts(batch, prompts_for(self, batch))  # type: ignore[attr-defined, no-any-return]

    def prompt_query(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The plain output in eval mode, without gradient (:func:`frozen_query`)."""
        return frozen_query(self, batch)


class AttentionSlots(NamedTuple):
    """Where prefixes enter one self-attention layer of a Hugging Face transformer.

    Attributes:
        attention: The module whose ``forward`` receives the attention mask (as its second positional
            argument or as ``attention_mask=``) and computes attention from ``key`` and ``value``
            outputs of shape ``(S, L, width)`` (e.g. BERT's ``BertSelfAttention``, ViLT's
            ``ViltSelfAttention``).
        key: Its key projection (``nn.Linear``).
        value: Its value projection (``nn.Linear``).
    """

    attention: nn.Module
    key: nn.Module
    value: nn.Module


def attached_prompter(encoder: Any) -> Any:
    """The module registered as ``encoder.prompter``, or None.

    Read from the module registry: a class attribute would shadow ``nn.Module``'s submodules.
    """
    modules = getattr(encoder, "_modules", {})
    return modules.get("prompter")


def check_promptable(encoder: Any, capability: str) -> None:
    """Raise one paragraph when ``encoder`` does not implement :class:`PromptableEncoder`.

    Args:
        encoder: The run's encoder.
        capability: :data:`PROMPT_TUNING` or :data:`PREFIX_TUNING`, for the message.

    Raises:
        ValueError: Naming what is missing and the fix.
    """
    missing = [name for name in ("prompt_query", "forward_with_prompts")
               if not callable(getattr(encoder, name, None))]
    missing += [name for name in ("prompt_width", "prompt_layers")
                if not isinstance(getattr(encoder, name, None), int)]
    if missing:
        raise ValueError(
            f"the encoder {type(encoder).__name__} does not implement the {capability!r} contract "
            f"(climb_harness.api.prompting.PromptableEncoder): it lacks {', '.join(missing)}. Use an encoder "
            f"whose manifest lists {capability!r} in \"provides\" (`climb list encoders --json`)."
        )


def prompts_for(encoder: Any, batch: Mapping[str, torch.Tensor]) -> Prompts | None:
    """What an encoder's ``forward`` injects: None without a prompter, else ``prompter(query)``.

    Args:
        encoder: A :class:`PromptableEncoder`.
        batch: The collated batch.

    Returns:
        None when no prompter is attached; else the attached prompter's :class:`Prompts` for the
        ``(N * V, hidden_size)`` flattened :meth:`~PromptableEncoder.prompt_query`.
    """
    prompter = attached_prompter(encoder)
    if prompter is None:
        return None
    return prompter(encoder.prompt_query(batch).flatten(0, 1))  # type: ignore[no-any-return]


def frozen_query(encoder: Any, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The encoder's plain output in eval mode, without gradient: a generic ``prompt_query``.

    L2P's official code reads the query from a separate copy of the pretrained model kept in eval
    mode; with a frozen backbone that is this same forward with no prompts and no dropout. The
    modules' training flags are restored afterwards.
    """
    import torch

    flags = [(module, module.training) for module in encoder.modules()]
    try:
        encoder.eval()
        with torch.no_grad():
            return encoder.forward_with_prompts(batch, None)  # type: ignore[no-any-return]
    finally:
        for module, flag in flags:
            module.training = flag


def insert_prompt_tokens(
    hidden: torch.Tensor, mask: torch.Tensor, tokens: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Insert ``tokens`` after each sequence's first token; their mask entries are 1 (attended).

    Args:
        hidden: ``(S, L, D)`` the layer input.
        mask: ``(S, L)`` its attention mask (1 = attend).
        tokens: ``(S, P, D)`` prompt tokens.

    Returns:
        ``(S, 1 + P + L - 1, D)`` and ``(S, L + P)``.
    """
    import torch

    if tokens.shape[0] != hidden.shape[0] or tokens.shape[2] != hidden.shape[2]:
        raise ValueError(
            f"prompt tokens of shape {tuple(tokens.shape)} do not fit the encoder's sequences "
            f"{tuple(hidden.shape)}: give (sequences, prompt length, {hidden.shape[2]})."
        )
    hidden = torch.cat([hidden[:, :1], tokens.to(hidden.dtype), hidden[:, 1:]], dim=1)
    mask = torch.cat([mask[:, :1], mask.new_ones(tokens.shape[:2]), mask[:, 1:]], dim=1)
    return hidden, mask


def drop_prompt_tokens(output: torch.Tensor, count: int) -> torch.Tensor:
    """Remove the outputs of ``count`` tokens :func:`insert_prompt_tokens` inserted (positions 1..count)."""
    import torch

    return output if count == 0 else torch.cat([output[:, :1], output[:, 1 + count :]], dim=1)


def _prefix_hook(prefix: torch.Tensor) -> Any:
    import torch

    def hook(module: Any, args: Any, output: torch.Tensor) -> torch.Tensor:
        if prefix.shape[0] != output.shape[0] or prefix.shape[2] != output.shape[2]:
            raise ValueError(
                f"a prefix of shape {tuple(prefix.shape)} does not fit the projected keys/values "
                f"{tuple(output.shape)}: give (sequences, prefix length, {output.shape[2]})."
            )
        return torch.cat([prefix.to(output.dtype), output], dim=1)

    return hook


def _pad_mask(mask: Any, length: int) -> Any:
    """Let every query attend the ``length`` prefix positions prepended to the keys."""
    import torch
    from torch.nn import functional

    if mask is None:
        return None
    if mask.dtype == torch.bool:  # True = attend
        return functional.pad(mask, (length, 0), value=True)
    return functional.pad(mask, (length, 0), value=0.0)  # additive: 0 = attend


def _mask_hook(length: int) -> Any:
    def hook(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if "attention_mask" in kwargs:
            kwargs = {**kwargs, "attention_mask": _pad_mask(kwargs["attention_mask"], length)}
        elif len(args) > 1:
            args = (args[0], _pad_mask(args[1], length), *args[2:])
        return args, kwargs

    return hook


@contextlib.contextmanager
def prefix_hooks(layers: Sequence[AttentionSlots], prefixes: Mapping[int, tuple[Any, Any]]) -> Iterator[None]:
    """Prepend ``prefixes`` to the keys and values of ``layers`` for the duration of the block.

    Forward hooks on the key and value projections concatenate the prefix before their outputs
    (after the projection, as prefix-tuning and DualPrompt's and CODA-Prompt's official code do), and
    a pre-hook on the attention module pads its mask so that the prefix is attended by every query.
    Every hook is removed on exit, whatever happens inside.

    Args:
        layers: The encoder's promptable layers, bottom-up.
        prefixes: ``{layer index: (keys, values)}``, each ``(S, L, width)``.

    Raises:
        ValueError: For a layer index outside ``range(len(layers))`` or keys and values of different lengths.
    """
    handles = []
    try:
        for index, (keys, values) in sorted(prefixes.items()):
            if not 0 <= int(index) < len(layers):
                raise ValueError(
                    f"a prefix for layer {index}, but the encoder has {len(layers)} promptable layer(s) "
                    f"(0..{len(layers) - 1}): choose layers below {len(layers)} (its prompt_layers)."
                )
            if keys.shape[:2] != values.shape[:2]:
                raise ValueError(f"prefix keys {tuple(keys.shape)} and values {tuple(values.shape)} of layer "
                                 f"{index} differ in length.")
            slots = layers[int(index)]
            handles.append(slots.key.register_forward_hook(_prefix_hook(keys)))
            handles.append(slots.value.register_forward_hook(_prefix_hook(values)))
            pad = _mask_hook(keys.shape[1])
            handles.append(slots.attention.register_forward_pre_hook(pad, with_kwargs=True))
        yield
    finally:
        for handle in handles:
            handle.remove()


def _seeded(call: Any) -> Any:
    """``call()`` with the global RNG seeded to 0 and restored afterwards: some encoders draw random
    numbers in every forward (ViLT orders image patches with the global RNG, in eval mode too)."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return call()


def verify_prompting(
    encoder: Any, batch: Mapping[str, torch.Tensor], capabilities: Sequence[str]
) -> list[str]:
    """Check an encoder against the contract on one batch; returns the problems (empty: it conforms).

    Checked: without a prompter, ``forward`` equals ``forward_with_prompts(batch, None)`` and with empty
    prompts, bit for bit, and again after a prompted pass (its hooks are gone); ``prompt_query`` equals
    the eval-mode plain output; prompt tokens (``prompt-tuning``) and a prefix in each promptable layer
    (``prefix-tuning``) change the output; with the encoder's parameters frozen, a loss reaches the
    prompts (finite, nonzero gradients) and no encoder parameter; an attached prompter is called once
    with the flattened query and its prompts are the ones used. Every forward runs with the global RNG
    seeded alike (and restored), so encoders that draw random numbers compare exactly.

    Args:
        encoder: The encoder (in train or eval mode; restored, as are its parameters' ``requires_grad``).
        batch: A collated batch.
        capabilities: Which of :data:`PROMPT_TUNING`, :data:`PREFIX_TUNING` to check.

    Returns:
        One sentence per problem found.
    """
    import torch

    problems: list[str] = []
    was = encoder.training
    encoder.eval()  # dropout off: the comparisons below are exact
    trainable = {name: p.requires_grad for name, p in encoder.named_parameters()}
    generator = torch.Generator().manual_seed(0)
    try:
        with torch.no_grad():
            plain = _seeded(lambda: encoder(batch))
            if not torch.equal(_seeded(lambda: encoder.forward_with_prompts(batch, None)), plain):
                problems.append("forward_with_prompts(batch, None) differs from forward(batch)")
            if not torch.equal(_seeded(lambda: encoder.forward_with_prompts(batch, Prompts())), plain):
                problems.append("forward_with_prompts with empty Prompts() differs from forward(batch)")
        query = _seeded(lambda: encoder.prompt_query(batch))  # outside no_grad: it must bring its own
        if query.requires_grad or not torch.equal(query.detach(), plain):
            problems.append("prompt_query differs from the plain eval-mode output (or carries a gradient)")
        width, sequences = int(encoder.prompt_width), plain.shape[0] * plain.shape[1]

        def leaf(*shape: int) -> torch.Tensor:
            return torch.rand(*shape, generator=generator).to(plain.device).requires_grad_(True)

        cases: list[tuple[str, Prompts, list[torch.Tensor]]] = []
        if PROMPT_TUNING in capabilities:
            tokens = leaf(sequences, 3, width)
            cases.append(("prompt tokens", Prompts(tokens=tokens), [tokens]))
        if PREFIX_TUNING in capabilities:
            for layer in range(int(encoder.prompt_layers)):
                keys, values = leaf(sequences, 2, width), leaf(sequences, 2, width)
                prompts = Prompts(prefixes={layer: (keys, values)})
                cases.append((f"a prefix in layer {layer}", prompts, [keys, values]))
        encoder.requires_grad_(False)
        for label, prompts, leaves in cases:
            out = _seeded(lambda prompts=prompts: encoder.forward_with_prompts(batch, prompts))
            if out.shape != plain.shape or torch.equal(out.detach(), plain):
                problems.append(f"{label} left the output unchanged (or changed its shape)")
            if not out.requires_grad:
                problems.append(f"{label}: the loss does not reach the prompts (the output has no gradient)")
                continue
            out.float().pow(2).sum().backward()
            if any(t.grad is None or not torch.isfinite(t.grad).all() or not t.grad.abs().sum()
                   for t in leaves):
                problems.append(f"{label}: the loss does not reach the prompts (no, zero or non-finite "
                                "gradient)")
            if any(p.grad is not None for p in encoder.parameters()):
                problems.append(f"{label}: a frozen encoder parameter received a gradient")
        with torch.no_grad():
            if not torch.equal(_seeded(lambda: encoder(batch)), plain):
                problems.append("the plain forward changed after a prompted one (a hook was left behind?)")
        if cases:
            problems += _check_attached(encoder, batch, plain, cases[0][1])
    finally:
        for name, p in encoder.named_parameters():
            p.requires_grad_(trainable.get(name, True))
            p.grad = None
        encoder.train(was)
    return problems


def _check_attached(encoder: Any, batch: Mapping[str, Any], plain: Any, chosen: Prompts) -> list[str]:
    """An attached prompter gets the flattened query once and its prompts reach the output."""
    import torch
    from torch import nn

    seen: list[Any] = []

    class Fixed(nn.Module):
        def forward(self, query: torch.Tensor) -> Prompts:
            seen.append(query)
            return chosen

    def direct() -> torch.Tensor:  # the same random draws as a forward with a prompter: query, then prompted
        encoder.prompt_query(batch)
        return encoder.forward_with_prompts(batch, chosen)  # type: ignore[no-any-return]

    encoder.prompter = Fixed()
    try:
        with torch.no_grad():
            out = _seeded(lambda: encoder(batch))
            expected = _seeded(direct)
    finally:
        del encoder.prompter
    problems = []
    if len(seen) != 1 or not torch.equal(seen[0], plain.flatten(0, 1)):
        problems.append("an attached prompter was not called once with prompt_query(batch).flatten(0, 1)")
    if not torch.equal(out, expected):
        problems.append("forward with an attached prompter differs from forward_with_prompts with its "
                        "prompts")
    return problems
