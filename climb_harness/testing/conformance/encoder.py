"""The encoder checks: tiny synthetic tasks of each declared modality are collated and encoded.

For each probe (one image, two images, multiple choice, text only, image only, as the manifest's
``modalities`` and ``max_images_per_example`` allow) the encoder must return finite
``(N, views, hidden_size)`` vectors through which gradients reach its parameters. An encoder that
declares ``test_options`` (the small build other components' checks run on) must build with them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from climb_harness.testing.conformance._report import fail
from climb_harness.testing.conformance._subject import Check, Subject
from climb_harness.testing.conformance.common import built, common_checks, is_int

_NORM_NAME = re.compile(r"(^|[._])(layer_?norm|ln|norm)[^.]*\.(weight|bias)$", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Probe:
    """A synthetic task shape an encoder must handle.

    Attributes:
        label: How checks name it (``"vision-language, 2 images"``).
        modality: The task modality.
        images: Images per example.
        head: ``"classification"`` or ``"multiple-choice"``.
        labels: Classes, or choices (views) for multiple choice.
    """

    label: str
    modality: str
    images: int
    head: str
    labels: int

    @property
    def slug(self) -> str:
        """The label as an id part: ``"vision-language-2-images"``."""
        return re.sub(r"[^a-z0-9]+", "-", self.label.lower()).strip("-")


_Probe = Probe  # the name before the kit was a package


def encoder_probes(manifest: Mapping[str, Any]) -> list[Probe]:
    """The synthetic tasks an encoder must handle, from its declared modalities and image count.

    Args:
        manifest: The encoder's manifest.

    Returns:
        The probes, in the order they are checked.

    >>> [p.label for p in encoder_probes({"modalities": ["language"]})]
    ['language only', 'language, multiple choice']
    """
    modalities = list(manifest.get("modalities", []))
    probes = []
    if "vision-language" in modalities:
        probes.append(Probe("vision-language, 1 image", "vision-language", 1, "classification", 3))
        if int(manifest.get("max_images_per_example", 1)) >= 2:
            probes.append(Probe("vision-language, 2 images", "vision-language", 2, "classification", 2))
        probes.append(Probe("vision-language, multiple choice", "vision-language", 1, "multiple-choice", 3))
    if "language" in modalities:
        probes.append(Probe("language only", "language", 0, "classification", 2))
        probes.append(Probe("language, multiple choice", "language", 0, "multiple-choice", 2))
    if "vision" in modalities:
        probes.append(Probe("vision only", "vision", 1, "classification", 3))
    return probes


def probe_task(probe: Probe, size: int = 3) -> tuple[Any, list[Any]]:
    """A task of the probe's shape and ``size`` small examples (seeded numpy images of varied sizes).

    Args:
        probe: The shape.
        size: How many examples.

    Returns:
        ``(TaskInfo, examples)``.
    """
    import numpy as np

    from climb_harness.api import Example, HeadSpec, TaskInfo

    head = HeadSpec(probe.head, probe.labels)  # type: ignore[arg-type]
    info = TaskInfo(  # type: ignore[arg-type]
        f"conformance-{probe.slug}", probe.modality, probe.images, head, max_text_length=24)
    rng = np.random.default_rng(0)
    words = ["red", "green", "blue", "square", "circle", "left", "right"]
    examples = []
    for i in range(size):
        images = tuple(rng.integers(0, 256, (16 + 8 * j, 20, 3), dtype=np.uint8) for j in range(probe.images))
        text = None if probe.modality == "vision" else (
            f"is the {words[i % 7]} shape on the {words[(i + 3) % 7]} side" + " really" * i)
        choices = (tuple(f"the {words[(i + c) % 7]} one" for c in range(probe.labels))
                   if probe.head == "multiple-choice" else ())
        examples.append(Example(text=text, images=images, choices=choices, target=i % probe.labels,
                                id=f"probe-{i}"))
    return info, examples


def checks(entry: Any, options: Mapping[str, Any] | None = None) -> list[Check]:
    """Every check of an encoder, in order.

    Args:
        entry: The encoder's registry entry (its manifest decides the probes).
        options: The options it is built with (None: its defaults).

    Returns:
        The common checks, ``test-options`` when the manifest declares ``test_options``, then
        ``hidden-size``, ``layer-groups``, ``norm-not-decayed``, ``adapt-to-tasks`` and one
        ``encodes-<probe>`` per probe.
    """
    found = common_checks(options)
    if "test_options" in entry.manifest:
        found.append(Check("test-options", "builds with its test_options", _test_options))
    found += [
        Check("hidden-size", "hidden_size", _hidden_size),
        Check("layer-groups", "layer_groups name parameters", _layer_groups),
        Check("norm-not-decayed", "no weight decay on normalisation", lambda s: check_norm_decay(built(s))),
        Check("adapt-to-tasks", "adapt_to_tasks", _adapt_to_tasks),
    ]
    probes = encoder_probes(entry.manifest)
    found += [Check(f"encodes-{p.slug}", f"encodes {p.label}", _encodes(p)) for p in probes]
    return found


def _test_options(subject: Subject) -> str:
    subject.require("manifest-valid")
    subject.require("factory-importable")
    test_options = subject.entry.manifest["test_options"]
    if not isinstance(test_options, Mapping):
        fail(f"test_options is a {type(test_options).__name__}; give an object of options")
    where = "the manifest's test_options"
    encoder = subject.registry.build("encoder", subject.entry.name, test_options, where=where)
    return f"{type(encoder).__name__} with {dict(test_options)}: hidden_size {encoder.hidden_size}"


def _hidden_size(subject: Subject) -> str:
    encoder = built(subject)
    if not is_int(encoder.hidden_size) or encoder.hidden_size <= 0:
        fail(f"encoder.hidden_size is {encoder.hidden_size!r}; set it to the width of the vectors forward() "
             "returns")
    return str(encoder.hidden_size)


def _layer_groups(subject: Subject) -> str:
    encoder = built(subject)
    groups = encoder.layer_groups()
    params = [n for n, _ in encoder.named_parameters()]
    empty = [g for g in groups if not any(n == g or n.startswith(g + ".") for n in params)]
    if empty:
        dotted = [g for g in empty if g.endswith(".")]
        hint = (f" Drop the trailing dot of {dotted[:3]}: a parameter belongs to a group when its name equals the "
                f"prefix or starts with the prefix plus '.'." if dotted else "")
        fail(
            f"layer_groups() names {empty[:3]}, which prefix no parameter of the encoder; return parameter-name "
            f"prefixes relative to the encoder, such as {params[:2]}.{hint}"
        )
    if not groups:
        return "none declared (methods that freeze the bottom k layers cannot use it)"
    return f"{len(groups)} group(s)"


def _adapt_to_tasks(subject: Subject) -> None:
    encoder = built(subject)
    tasks = [probe_task(p) for p in encoder_probes(subject.entry.manifest)]
    encoder.adapt_to_tasks([info for info, _ in tasks])
    subject.shared["probe_tasks"] = tasks


def _encodes(probe: Probe) -> Any:
    def run(subject: Subject) -> str:
        import torch

        subject.require("adapt-to-tasks")
        index = encoder_probes(subject.entry.manifest).index(probe)
        info, examples = subject.shared["probe_tasks"][index]
        torch.manual_seed(0)
        return encode_probe(subject.shared["built"], info, examples)

    return run


def check_norm_decay(encoder: Any) -> str:
    """Check that every normalisation parameter (by module type, or named like one) gets no weight decay.

    Args:
        encoder: A built encoder (frozen parameters are checked too, and stay frozen).

    Returns:
        A summary: how many normalisation parameters, none decayed.

    Raises:
        Failed: Naming the parameters the harness's optimizer would decay.
    """
    from climb_harness.core.engine import NORM_TYPES, parameter_groups

    was = {name: p.requires_grad for name, p in encoder.named_parameters()}
    try:
        for p in encoder.parameters():  # frozen parameters are in no group: look at all of them
            p.requires_grad_(True)
        groups = parameter_groups(encoder, 0.01)
        no_decay = {id(p) for group in groups if group["weight_decay"] == 0 for p in group["params"]}
    finally:
        for name, p in encoder.named_parameters():
            p.requires_grad_(was[name])
    norms = {
        f"{module_name}.{n}" if module_name else n
        for module_name, module in encoder.named_modules() if isinstance(module, NORM_TYPES)
        for n, _ in module.named_parameters(recurse=False)
    }
    norms |= {name for name, _ in encoder.named_parameters() if _NORM_NAME.search(name)}
    decayed = sorted(n for n, p in encoder.named_parameters() if n in norms and id(p) not in no_decay)
    if decayed:
        fail(
            f"{len(decayed)} normalisation parameter(s) would get weight decay, e.g. {decayed[:3]}: the "
            "harness picks the no-decay group by module type (torch.nn.LayerNorm, GroupNorm, BatchNorm, "
            "RMSNorm) and parameter name 'bias'; make the normalisation layer an nn.LayerNorm (or "
            "subclass), or name the parameter so it is not mistaken for one"
        )
    return f"{len(norms)} normalisation parameter(s), none decayed"


_check_norm_decay = check_norm_decay  # the name tests of the core import


def encode_probe(encoder: Any, info: Any, examples: list[Any]) -> str:
    """Collate, encode and backpropagate one probe task's examples; then encode a slice of the batch.

    Args:
        encoder: The built encoder (after ``adapt_to_tasks``).
        info: The probe's TaskInfo.
        examples: Its examples.

    Returns:
        A summary of the output and batch shapes.

    Raises:
        Failed: If collate's batch, the output's shape or values, or the gradients are wrong.
    """
    import torch

    n, views = len(examples), info.num_views
    batch = encoder.collate(examples, info)
    _check_batch(batch, n)
    encoder.train()
    encoder.zero_grad(set_to_none=True)
    out = encoder(batch)
    expected = (n, views, encoder.hidden_size)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != expected:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        fail(f"forward() returned {shape}; expected (examples, views, hidden_size) = {expected}")
    if not torch.isfinite(out).all():
        fail("forward() returned non-finite values (nan or inf)")
    trainable = sum(p.requires_grad for p in encoder.parameters())
    no_gradient = (
        f"no gradient reaches the encoder's parameters ({trainable} require grad); forward() must be "
        "differentiable with respect to its trainable weights (is something detached or run under no_grad?)"
    )
    if not out.requires_grad:
        fail(no_gradient)
    out.float().pow(2).mean().backward()
    grads = [(name, p.grad) for name, p in encoder.named_parameters() if p.grad is not None]
    if not any(bool(g.abs().sum() > 0) for _, g in grads):
        fail(no_gradient)
    bad = [name for name, g in grads if not torch.isfinite(g).all()]
    if bad:
        fail(f"non-finite gradients in {bad[:3]}")
    encoder.zero_grad(set_to_none=True)
    sliced = encoder({k: v[[0, n - 1]] for k, v in batch.items()})  # the runner slices preloaded tensors
    if tuple(sliced.shape) != (2, views, encoder.hidden_size):
        fail(f"forward() on a 2-example slice of collate()'s output returned {tuple(sliced.shape)}")
    shapes = ", ".join(f"{k}{tuple(v.shape)}" for k, v in list(batch.items())[:4])
    return f"{n} examples -> {expected}; {shapes}"


def _check_batch(batch: Any, n: int) -> None:
    import torch

    if not isinstance(batch, Mapping) or not batch:
        fail(f"collate() returned {type(batch).__name__} {batch!r:.60}; return a non-empty dict of tensors")
    for key, value in batch.items():
        if not isinstance(value, torch.Tensor):
            fail(f"collate() returned {key!r} as a {type(value).__name__}; every value must be a tensor (the "
                 "runner slices them)")
        if value.dim() == 0 or value.shape[0] != n:
            fail(f"collate() returned {key!r} with shape {tuple(value.shape)}; its first dimension must be "
                 f"the {n} examples")
        if value.requires_grad:
            fail(f"collate() returned {key!r} requiring grad; collate runs once outside training, return "
                 "plain tensors")
