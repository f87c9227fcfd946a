"""The conformance kit: the same checks for every task, encoder and algorithm a plugin offers.

As timm tests every registered model and lm-eval every registered task, ``climb check PLUGIN`` (and
pytest, through :func:`assert_conforms`) runs one battery per component kind, so a plugin author
gets them without writing them:

* every kind: the manifest is valid, the options' defaults validate, the factory imports, the
  component builds with its default options and is an instance of its base class;
* task: each split loads (missing data is *skipped*, not failed), every example matches the
  manifest (targets inside the head, image and choice counts, text present), images open;
* encoder: for each declared modality, tiny synthetic tasks (one image, two images, multiple
  choice, text only, image only) are collated and encoded to finite ``(N, views, hidden_size)``
  vectors through which gradients reach the encoder's parameters;
* algorithm: a real two-task run through :class:`climb_harness.runner.Runner` with
  :class:`~climb_harness.testing.components.TinyEncoder` completes, writes a valid results.json
  with a finite 2x2 accuracy matrix and a checkpointable ``state_dict()``, and a run resumed after
  its first task ends with the same accuracy matrix and weights as the uninterrupted one.

Every check returns :class:`CheckResult` objects; nothing here raises for a broken component.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import re
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NoReturn

from climb_harness.errors import UsageError

Status = Literal["passed", "failed", "skipped"]

#: Examples per split whose contents are checked (a lazy data set may be large).
MAX_EXAMPLES_CHECKED = 5000
#: Images opened per split (opening is the slow part).
IMAGES_OPENED = 4
#: The tiny ViLT used when an algorithm needs a Hugging Face transformer that TinyEncoder lacks.
TINY_VILT_OPTIONS = {
    "hidden_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "image_size": 32,
    "patch_size": 16,
}


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """One check of one component: ``component`` is ``"kind:name"`` (or ``"plugin:name"``)."""

    component: str
    name: str
    status: Status
    message: str = ""
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """True unless the check failed (a skipped check is not a failure)."""
        return self.status != "failed"

    @property
    def skipped(self) -> bool:
        return self.status == "skipped"

    def __str__(self) -> str:
        label = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}[self.status]
        text = f"{label}  {self.component}  {self.name}"
        if self.message:
            text += f": {self.message}"
        return text


class _Failed(Exception):
    pass


class _Skipped(Exception):
    pass


def _fail(message: str) -> NoReturn:
    raise _Failed(message)


def _skip(reason: str) -> NoReturn:
    raise _Skipped(reason)


class _Report:
    """Collects the results of one component's checks; ``with report.check(name) as note:`` runs one."""

    def __init__(self, component: str) -> None:
        self.component = component
        self.results: list[CheckResult] = []

    def add(self, name: str, status: Status, message: str = "", seconds: float = 0.0) -> None:
        if status == "skipped" and not message.startswith("skipped"):
            message = f"skipped: {message}"
        self.results.append(CheckResult(self.component, name, status, message, round(seconds, 3)))

    @contextlib.contextmanager
    def check(self, name: str) -> Iterator[list[str]]:
        """Run a check: return normally to pass (append notes to the yielded list), call
        :func:`_fail` / :func:`_skip`, or let an exception escape (a failure naming it)."""
        notes: list[str] = []
        started = time.perf_counter()
        try:
            yield notes
        except _Skipped as exc:
            self.add(name, "skipped", str(exc), time.perf_counter() - started)
        except _Failed as exc:
            self.add(name, "failed", str(exc), time.perf_counter() - started)
        except Exception as exc:  # noqa: BLE001 - a broken component must not stop the other checks
            self.add(name, "failed", _describe(exc), time.perf_counter() - started)
        else:
            self.add(name, "passed", "; ".join(notes), time.perf_counter() - started)

    def not_run(self, names: Sequence[str], because: str) -> None:
        for name in names:
            self.add(name, "skipped", f"not run because {because}")

    @property
    def ok(self) -> bool:
        return all(r.status == "passed" for r in self.results)


def _describe(exc: BaseException) -> str:
    """``Type: message (at file:line)`` of the innermost frame, so the author knows where to look."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = (
        f" (raised at {Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name})"
        if frames
        else ""
    )
    return f"{type(exc).__name__}: {exc}{where}"


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one CPU thread: the checks' models are tiny, and on a busy machine a second
    thread makes a two-second run take tens of seconds. The previous setting is restored."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# --------------------------------------------------------------------------- every kind
def _entry(registry: Any, kind: str, name: str) -> Any:
    entries = registry.entries[kind].get(name)
    if not entries:
        registry.get(kind, name)  # raises UnknownComponentError naming the installed ones
    return entries[0]


def _common_checks(registry: Any, entry: Any, options: Mapping[str, Any] | None, report: _Report) -> Any:
    """Manifest, options, factory, build. Returns the built object, or None (the rest is not run)."""
    from climb_harness.registry import _import_factory
    from climb_harness.schemas import options_with_defaults

    kind, name = entry.kind, entry.name
    with report.check("manifest valid"):
        if entry.problems:
            _fail(
                "; ".join(str(p) for p in entry.problems)
                + f". Fix the manifest (schemas/{kind}.schema.json)."
            )
    with report.check("options defaults validate"):
        schema = entry.manifest.get("options")
        _, problems = options_with_defaults(schema, {})
        if problems:
            _fail(
                "the defaults do not satisfy the options schema: "
                + "; ".join(str(p) for p in problems)
                + ". Give every option a default that its own schema accepts."
            )
    with report.check("factory importable") as note:
        factory = _import_factory(entry)
        if not callable(factory):
            _fail(f"factory {entry.component.factory!r} is a {type(factory).__name__}, not a callable")
        note.append(str(entry.component.factory if isinstance(entry.component.factory, str) else factory))
    if not report.ok:
        report.not_run(["builds with default options"], "an earlier check failed")
        return None
    built: list[Any] = []
    with report.check(
        "builds with default options" if not options else "builds with the given options"
    ) as note:
        try:
            obj = registry.build(kind, name, options or {})
        except FileNotFoundError as exc:
            _skip(f"data not available: {exc}")
        base = _base_class(kind)
        if not isinstance(obj, base):
            _fail(
                f"the factory returned a {type(obj).__module__}.{type(obj).__name__}, not a {base.__module__}.{base.__name__}; "
                f"subclass {base.__name__}"
            )
        built.append(obj)
        note.append(type(obj).__name__)
    return built[0] if built else None


def _base_class(kind: str) -> type:
    from climb_harness import api

    if kind == "encoder":
        from climb_harness._encoder import Encoder

        return Encoder
    return {"task": api.Task, "algorithm": api.Algorithm}[kind]


# --------------------------------------------------------------------------- tasks
def check_task(registry: Any, name: str, options: Mapping[str, Any] | None = None) -> list[CheckResult]:
    """Checks of task ``name``: the common ones, then each split's examples against the manifest."""
    return _check_task_entry(registry, _entry(registry, "task", name), options)


def _check_task_entry(
    registry: Any, entry: Any, options: Mapping[str, Any] | None = None
) -> list[CheckResult]:
    report = _Report(f"task:{entry.name}")
    task = _common_checks(registry, entry, options, report)
    splits = ["train", "val"] + (["test"] if "test" in entry.manifest.get("splits", []) else [])
    names = [f"examples('{s}') load" for s in splits] + ["fingerprint"]
    if task is None:
        report.not_run(names, "the task was not built")
        return report.results
    from climb_harness.api import TaskInfo

    info = TaskInfo.from_manifest(entry.manifest)
    for split in splits:
        with report.check(f"examples('{split}') load") as note:
            try:
                examples = task.examples(split)
            except FileNotFoundError as exc:
                _skip(f"data not available: {exc}")
            note.append(_check_examples(examples, info, split))
    with report.check("fingerprint"):
        fingerprint = task.fingerprint()
        if not isinstance(fingerprint, str):
            _fail(
                f"fingerprint() returned a {type(fingerprint).__name__}; return a str that changes when the data does"
            )
    return report.results


def _check_examples(examples: Any, info: Any, split: str) -> str:
    """Every (first MAX_EXAMPLES_CHECKED) example against the manifest; the summary on success."""
    from climb_harness.api import Example, load_image

    try:
        total = len(examples)
    except TypeError:
        _fail(f"examples('{split}') returned a {type(examples).__name__}, not a sequence (it has no len())")
    if total == 0:
        _fail(f"examples('{split}') is empty; the runner cannot train or evaluate on an empty split")
    count = min(total, MAX_EXAMPLES_CHECKED)
    problems: list[str] = []
    bad = 0
    for index in range(count):
        example = examples[index]
        found = (
            _example_problems(example, info)
            if isinstance(example, Example)
            else [f"is a {type(example).__name__}, not a climb_harness.api.Example"]
        )
        if found:
            bad += 1
            if len(problems) < 3:
                label = f"example {index}" + (f" (id {example.id!r})" if getattr(example, "id", None) else "")
                problems.append(f"{label} " + "; ".join(found))
    if bad:
        _fail(
            f"{bad} of {count} {split} examples do not match the manifest (head {info.head.type} with "
            f"{info.head.num_labels} {'choices' if info.head.type == 'multiple-choice' else 'labels'}, "
            f"{info.images_per_example} image(s), modality {info.modality}): " + "; ".join(problems)
        )
    opened = 0
    for example in (examples[i] for i in range(count)):
        for image in example.images:
            if opened >= IMAGES_OPENED:
                break
            try:
                load_image(image)
            except Exception as exc:  # noqa: BLE001 - any failure to open is the finding
                _fail(
                    f"{split} example {example.id or ''!s} image {image!r:.80} cannot be opened: {_describe(exc)}"
                )
            opened += 1
        if opened >= IMAGES_OPENED:
            break
    checked = f"{total} examples" if count == total else f"first {count} of {total} examples checked"
    return f"{split}: {checked}" + (f", {opened} image(s) opened" if opened else "")


def _is_int(value: Any) -> bool:
    import numpy as np

    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _example_problems(example: Any, info: Any) -> list[str]:
    found = []
    kind, labels = info.head.type, info.head.num_labels
    target = example.target
    if kind in ("classification", "multiple-choice"):
        if not _is_int(target):
            found.append(f"has target {target!r:.60}, not a class index (int)")
        elif not 0 <= int(target) < labels:
            found.append(f"has target {target}, outside the head's 0..{labels - 1}")
    elif kind == "soft-score":
        if not isinstance(target, Mapping):
            found.append(f"has target {target!r:.60}, not a {{label index: score}} dict (soft-score head)")
        else:
            for label, score in target.items():
                if not _is_int(label) or not 0 <= int(label) < labels:
                    found.append(f"has soft-score label {label!r}, not an int in 0..{labels - 1}")
                    break
                if (
                    not isinstance(score, (int, float))
                    or isinstance(score, bool)
                    or not 0.0 <= float(score) <= 1.0
                ):
                    found.append(f"has score {score!r} for label {label}, not a number in [0, 1]")
                    break
    else:  # multi-label
        if isinstance(target, (str, bytes, Mapping)) or not isinstance(target, Sequence):
            found.append(f"has target {target!r:.60}, not a list of label indices (multi-label head)")
        elif any(not _is_int(t) or not 0 <= int(t) < labels for t in target):
            found.append(f"has labels {list(target)!r:.60}, not all ints in 0..{labels - 1}")
    if len(example.images) != info.images_per_example:
        found.append(
            f"has {len(example.images)} image(s), the manifest says images_per_example={info.images_per_example}"
        )
    if kind == "multiple-choice" and len(example.choices) != labels:
        found.append(f"has {len(example.choices)} choice(s), the manifest says num_choices={labels}")
    if info.modality != "vision" and not (isinstance(example.text, str) and example.text.strip()):
        found.append(f"has no text (text={example.text!r:.40}) in a {info.modality} task")
    return found


# --------------------------------------------------------------------------- encoders
@dataclasses.dataclass(frozen=True)
class _Probe:
    label: str
    modality: str
    images: int
    head: str  # "classification" or "multiple-choice"
    labels: int


def encoder_probes(manifest: Mapping[str, Any]) -> list[_Probe]:
    """The synthetic tasks an encoder must handle, from its declared modalities and image count."""
    modalities = list(manifest.get("modalities", []))
    max_images = int(manifest.get("max_images_per_example", 1))
    probes = []
    if "vision-language" in modalities:
        probes.append(_Probe("vision-language, 1 image", "vision-language", 1, "classification", 3))
        if max_images >= 2:
            probes.append(_Probe("vision-language, 2 images", "vision-language", 2, "classification", 2))
        probes.append(_Probe("vision-language, multiple choice", "vision-language", 1, "multiple-choice", 3))
    if "language" in modalities:
        probes.append(_Probe("language only", "language", 0, "classification", 2))
        probes.append(_Probe("language, multiple choice", "language", 0, "multiple-choice", 2))
    if "vision" in modalities:
        probes.append(_Probe("vision only", "vision", 1, "classification", 3))
    return probes


def probe_task(probe: _Probe, size: int = 3) -> tuple[Any, list[Any]]:
    """A TaskInfo and ``size`` small examples (seeded numpy images) for one probe."""
    import numpy as np

    from climb_harness.api import Example, HeadSpec, TaskInfo

    slug = probe.label.replace(", ", "-").replace(" ", "-")
    head = HeadSpec(probe.head, probe.labels)  # type: ignore[arg-type]
    info = TaskInfo(f"conformance-{slug}", probe.modality, probe.images, head, max_text_length=24)  # type: ignore[arg-type]
    rng = np.random.default_rng(0)
    words = ["red", "green", "blue", "square", "circle", "left", "right"]
    examples = []
    for i in range(size):
        images = tuple(rng.integers(0, 256, (16 + 8 * j, 20, 3), dtype=np.uint8) for j in range(probe.images))
        text = (
            None
            if probe.modality == "vision"
            else f"is the {words[i % 7]} shape on the {words[(i + 3) % 7]} side" + " really" * i
        )
        choices = (
            tuple(f"the {words[(i + c) % 7]} one" for c in range(probe.labels))
            if probe.head == "multiple-choice"
            else ()
        )
        examples.append(
            Example(text=text, images=images, choices=choices, target=i % probe.labels, id=f"probe-{i}")
        )
    return info, examples


def check_encoder(registry: Any, name: str, options: Mapping[str, Any] | None = None) -> list[CheckResult]:
    """Checks of encoder ``name``: the common ones, then each probe task's collate, forward, backward."""
    with single_thread():
        return _check_encoder_entry(registry, _entry(registry, "encoder", name), options)


def _check_encoder_entry(
    registry: Any, entry: Any, options: Mapping[str, Any] | None = None
) -> list[CheckResult]:
    report = _Report(f"encoder:{entry.name}")
    encoder = _common_checks(registry, entry, options, report)
    probes = encoder_probes(entry.manifest)
    names = ["hidden_size", "layer_groups name parameters", "no weight decay on normalisation"] + [f"encodes {p.label}" for p in probes]
    if encoder is None:
        report.not_run(names, "the encoder was not built")
        return report.results
    import torch

    with report.check("hidden_size") as note:
        if not _is_int(encoder.hidden_size) or encoder.hidden_size <= 0:
            _fail(
                f"encoder.hidden_size is {encoder.hidden_size!r}; set it to the width of the vectors forward() returns"
            )
        note.append(str(encoder.hidden_size))
    with report.check("layer_groups name parameters") as note:
        groups = encoder.layer_groups()
        params = [n for n, _ in encoder.named_parameters()]
        empty = [g for g in groups if not any(n == g or n.startswith(g + ".") for n in params)]
        if empty:
            _fail(
                f"layer_groups() names {empty[:3]}, which prefix no parameter of the encoder; return parameter-name "
                f"prefixes such as {params[:2]}"
            )
        note.append(
            f"{len(groups)} group(s)"
            if groups
            else "none declared (methods that freeze the bottom k layers cannot use it)"
        )
    with report.check("no weight decay on normalisation") as note:
        note.append(_check_norm_decay(encoder))
    tasks = [probe_task(p) for p in probes]
    with report.check("adapt_to_tasks"):
        encoder.adapt_to_tasks([info for info, _ in tasks])
    for probe, (info, examples) in zip(probes, tasks):
        with report.check(f"encodes {probe.label}") as note:
            torch.manual_seed(0)
            note.append(_encode_probe(encoder, info, examples))
    return report.results


_NORM_NAME = re.compile(r"(^|[._])(layer_?norm|ln|norm)[^.]*\.(weight|bias)$", re.IGNORECASE)


def _check_norm_decay(encoder: Any) -> str:
    """Every parameter of a normalisation layer (by type, or named like one) is in the no-decay group."""
    from climb_harness.runner import parameter_groups

    was = {name: p.requires_grad for name, p in encoder.named_parameters()}
    try:
        for p in encoder.parameters():  # frozen parameters are in no group: look at all of them
            p.requires_grad_(True)
        no_decay = {id(p) for group in parameter_groups(encoder, 0.01) if group["weight_decay"] == 0 for p in group["params"]}
    finally:
        for name, p in encoder.named_parameters():
            p.requires_grad_(was[name])
    norms = [name for module_name, module in encoder.named_modules() if _is_norm(module)
             for name in (f"{module_name}.{n}" if module_name else n for n, _ in module.named_parameters(recurse=False))]
    norms += [name for name, _ in encoder.named_parameters() if _NORM_NAME.search(name)]
    decayed = sorted({name for name, p in encoder.named_parameters() if name in set(norms) and id(p) not in no_decay})
    if decayed:
        _fail(
            f"{len(decayed)} normalisation parameter(s) would get weight decay, e.g. {decayed[:3]}: the harness picks the "
            "no-decay group by module type (torch.nn.LayerNorm, GroupNorm, BatchNorm, RMSNorm) and parameter name 'bias'; "
            "make the normalisation layer an nn.LayerNorm (or subclass), or name the parameter so it is not mistaken for one"
        )
    return f"{len(set(norms))} normalisation parameter(s), none decayed"


def _is_norm(module: Any) -> bool:
    from climb_harness.runner import NORM_TYPES

    return isinstance(module, NORM_TYPES)


def _encode_probe(encoder: Any, info: Any, examples: list[Any]) -> str:
    import torch

    n, views = len(examples), info.num_views
    batch = encoder.collate(examples, info)
    if not isinstance(batch, Mapping) or not batch:
        _fail(f"collate() returned {type(batch).__name__} {batch!r:.60}; return a non-empty dict of tensors")
    for key, value in batch.items():
        if not isinstance(value, torch.Tensor):
            _fail(
                f"collate() returned {key!r} as a {type(value).__name__}; every value must be a tensor (the runner slices them)"
            )
        if value.dim() == 0 or value.shape[0] != n:
            _fail(
                f"collate() returned {key!r} with shape {tuple(value.shape)}; its first dimension must be the {n} examples"
            )
        if value.requires_grad:
            _fail(
                f"collate() returned {key!r} requiring grad; collate runs once outside training, return plain tensors"
            )
    encoder.train()
    encoder.zero_grad(set_to_none=True)
    out = encoder(batch)
    expected = (n, views, encoder.hidden_size)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != expected:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        _fail(f"forward() returned {shape}; expected (examples, views, hidden_size) = {expected}")
    if not torch.isfinite(out).all():
        _fail("forward() returned non-finite values (nan or inf)")
    trainable = sum(p.requires_grad for p in encoder.parameters())
    no_gradient = (
        f"no gradient reaches the encoder's parameters ({trainable} require grad); forward() must be "
        "differentiable with respect to its trainable weights (is something detached or run under no_grad?)"
    )
    if not out.requires_grad:
        _fail(no_gradient)
    out.float().pow(2).mean().backward()
    grads = [(name, p.grad) for name, p in encoder.named_parameters() if p.grad is not None]
    if not any(bool(g.abs().sum() > 0) for _, g in grads):
        _fail(no_gradient)
    bad = [name for name, g in grads if not torch.isfinite(g).all()]
    if bad:
        _fail(f"non-finite gradients in {bad[:3]}")
    encoder.zero_grad(set_to_none=True)
    sliced = encoder({k: v[[0, n - 1]] for k, v in batch.items()})  # the runner slices preloaded tensors
    if tuple(sliced.shape) != (2, views, encoder.hidden_size):
        _fail(f"forward() on a 2-example slice of collate()'s output returned {tuple(sliced.shape)}")
    return f"{n} examples -> {expected}; " + ", ".join(
        f"{k}{tuple(v.shape)}" for k, v in list(batch.items())[:4]
    )


# --------------------------------------------------------------------------- algorithms
def tiny_tasks(size: int = 24) -> list[Any]:
    """Two small learnable tasks (4-way colour, yes/no) for algorithm runs: the first two of
    :func:`climb_harness.testing.runs.tiny_tasks`, named for the conformance kit."""
    from climb_harness.testing import runs

    return runs.tiny_tasks(2, size, names=("conformance-colour", "conformance-yesno"))


def _needs_transformer(text: str) -> bool:
    return "transformer" in text.lower()


def check_algorithm(
    registry: Any,
    name: str,
    workdir: str | Path,
    options: Mapping[str, Any] | None = None,
    *,
    encoder_factory: Callable[[], Any] | None = None,
    device: str = "cpu",
    size: int = 24,
    epochs: int = 2,
) -> list[CheckResult]:
    """Checks of algorithm ``name``: the common ones, a two-task run and its resumption.

    The run uses ``encoder_factory`` (default: a fresh :class:`TinyEncoder`). When the algorithm
    fails on TinyEncoder because it needs a Hugging Face ``transformer`` (e.g. adapters), the run
    is repeated with a tiny ``vilt`` if that encoder is installed, else the run checks are skipped.
    """
    with single_thread():
        return _check_algorithm_entry(
            registry,
            _entry(registry, "algorithm", name),
            workdir,
            options,
            encoder_factory=encoder_factory,
            device=device,
            size=size,
            epochs=epochs,
        )


_RUN_CHECKS = [
    "two-task run completes",
    "results.json valid",
    "accuracy matrix",
    "state_dict checkpointable",
    "resume reproduces the run",
]


def _check_algorithm_entry(
    registry: Any,
    entry: Any,
    workdir: str | Path,
    options: Mapping[str, Any] | None = None,
    *,
    encoder_factory: Callable[[], Any] | None = None,
    device: str = "cpu",
    size: int = 24,
    epochs: int = 2,
) -> list[CheckResult]:
    report = _Report(f"algorithm:{entry.name}")
    if _common_checks(registry, entry, options, report) is None:
        report.not_run(_RUN_CHECKS, "the algorithm was not built")
        return report.results
    from climb_harness.testing.components import TinyEncoder

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix=f"{entry.name}-", dir=workdir))
    tasks = tiny_tasks(size)
    build = lambda: registry.build("algorithm", entry.name, options or {})
    factory = encoder_factory or (lambda: TinyEncoder({}))
    encoder_note = "TinyEncoder" if encoder_factory is None else "the given encoder"
    out = run_dir / "run"
    started, algorithm = time.perf_counter(), build()
    full, error = _try_run(algorithm, tasks, factory, out, device, epochs, registry)
    if error is not None and encoder_factory is None and _needs_transformer(str(error)):
        if "vilt" not in registry.entries["encoder"]:
            report.add(
                "two-task run completes",
                "skipped",
                "the algorithm needs an encoder exposing a Hugging Face "
                f"transformer, which TinyEncoder lacks, and no 'vilt' encoder is installed to run it with ({error})",
            )
            report.not_run(_RUN_CHECKS[1:], "the run was skipped")
            return report.results
        factory = lambda: registry.build("encoder", "vilt", TINY_VILT_OPTIONS)
        encoder_note = "a tiny vilt (the algorithm needs a Hugging Face transformer, which TinyEncoder lacks)"
        out = run_dir / "run-vilt"
        started, algorithm = time.perf_counter(), build()
        full, error = _try_run(algorithm, tasks, factory, out, device, epochs, registry)
    seconds = time.perf_counter() - started
    if error is not None:
        report.add("two-task run completes", "failed", f"with {encoder_note}: {_describe(error)}", seconds)
    else:
        report.add(
            "two-task run completes",
            "passed",
            f"with {encoder_note}, {len(tasks)} tasks x {size} examples, "
            f"{epochs} epoch(s), in {seconds:.1f} s",
            seconds,
        )
    with report.check("state_dict checkpointable") as note:
        note.append(_check_state_dict(algorithm.state_dict()))
    if full is None:
        report.not_run(
            ["results.json valid", "accuracy matrix", "resume reproduces the run"], "the run failed"
        )
        return report.results
    with report.check("results.json valid"):
        from climb_harness.results import RESULTS_FILE, validate_results

        written = json.loads((out / RESULTS_FILE).read_text(encoding="utf-8"))
        problems = validate_results(written)
        if problems:
            _fail("; ".join(problems[:5]))
        if written.get("status") != "complete":
            _fail(f"status is {written.get('status')!r} after the last task, not 'complete'")
    with report.check("accuracy matrix") as note:
        note.append(_check_matrix(full, len(tasks)))
    with report.check("resume reproduces the run") as note:
        resumed_dir = run_dir / "resumed"
        _truncate_copy(out, resumed_dir, keep=1)
        resumed = _run(build(), tasks, factory, resumed_dir, device, epochs, registry, resume=True)
        if resumed["accuracy_matrix"] != full["accuracy_matrix"]:
            _fail(
                f"resumed after task 1, the accuracy matrix is {resumed['accuracy_matrix']}; uninterrupted it is "
                f"{full['accuracy_matrix']}. Put everything carried across tasks in state_dict() and restore it in "
                "load_state_dict(); seed randomness from (ctx.seed, ctx.task_index)"
            )
        note.append(_compare_final_weights(out, resumed_dir, full))
    return report.results


def _try_run(*args: Any, **kwargs: Any) -> tuple[dict[str, Any] | None, Exception | None]:
    try:
        return _run(*args, **kwargs), None
    except Exception as exc:  # noqa: BLE001 - reported as the run's failure
        return None, exc


def _run(
    algorithm: Any,
    tasks: list[Any],
    encoder_factory: Callable[[], Any],
    out: Path,
    device: str,
    epochs: int,
    registry: Any,
    resume: bool = False,
) -> dict[str, Any]:
    from climb_harness.runner import Runner, RunSpec, TrainingOptions

    spec = RunSpec(
        tasks=tasks,
        encoder_factory=encoder_factory,
        algorithm=algorithm,
        seed=0,
        training=TrainingOptions(
            epochs=epochs, lr=3e-3, batch_size=8, eval_batch_size=64, device=device, progress=False
        ),
        output_dir=out,
        config={
            "conformance": algorithm.name,
            "options": json.loads(json.dumps(algorithm.options, default=str)),
        },
        references={
            "random": {t.name: float(t.manifest["random_baseline"]) for t in tasks},
            "direct": {t.name: None for t in tasks},
        },
        plugins=registry.provenance(),
    )
    return Runner(spec).run(resume=resume)


def _check_state_dict(state: Any) -> str:
    import torch

    if not isinstance(state, Mapping):
        _fail(
            f"state_dict() returned a {type(state).__name__}; return a flat dict of tensors and JSON values"
        )
    for key, value in state.items():
        if not isinstance(key, str):
            _fail(f"state_dict() has the key {key!r} ({type(key).__name__}); keys must be strings")
        if isinstance(value, torch.Tensor):
            continue
        if isinstance(value, Mapping) and any(isinstance(v, torch.Tensor) for v in value.values()):
            _fail(f"state_dict()[{key!r}] is a dict holding tensors; flatten it to keys like '{key}.<name>'")
        try:
            json.dumps(value)
        except (TypeError, ValueError) as exc:
            _fail(
                f"state_dict()[{key!r}] is a {type(value).__module__}.{type(value).__name__}, neither a tensor nor "
                f"JSON-serialisable ({exc}); return a flat dict of tensors and JSON values (lists, numbers, strings)"
            )
    tensors = sum(isinstance(v, torch.Tensor) for v in state.values())
    return f"{len(state)} entr{'y' if len(state) == 1 else 'ies'} ({tensors} tensor(s))"


def _check_matrix(results: Mapping[str, Any], n: int) -> str:
    matrix, initial = results.get("accuracy_matrix"), results.get("initial_scores")
    if (
        not isinstance(matrix, list)
        or len(matrix) != n
        or any(not isinstance(r, list) or len(r) != n for r in matrix)
    ):
        _fail(f"accuracy_matrix is {matrix!r:.120}; expected {n} rows of {n} scores")
    if not isinstance(initial, list) or len(initial) != n:
        _fail(f"initial_scores is {initial!r:.80}; expected {n} scores")
    for value in [v for row in matrix for v in row] + list(initial):
        if not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 <= value <= 100:
            _fail(f"score {value!r} in {matrix} is not a finite number in [0, 100]")
    return f"{matrix}"


def _truncate_copy(source: Path, dest: Path, keep: int) -> None:
    """``dest`` = ``source`` as it was on disk right after task ``keep`` (a run stopped there)."""
    from climb_harness.checkpoints import algorithm_path, checkpoint_path
    from climb_harness.results import RESULTS_FILE, read_results, write_json

    shutil.copytree(source, dest)
    results = read_results(dest / RESULTS_FILE)
    dropped = results["tasks"][keep:]
    for index, task in enumerate(dropped, start=keep):
        path = checkpoint_path(dest, index, task)
        path.unlink(missing_ok=True)
        algorithm_path(path).unlink(missing_ok=True)
    for key in ("accuracy_matrix", "accuracy_matrix_ci", "best_epochs", "training_log"):
        if key in results:
            results[key] = results[key][:keep]
    for task in dropped:
        results["timing"]["per_task_seconds"].pop(task, None)
    results["status"], results["metrics"] = "running", {}
    results["provenance"]["finished_at"] = None
    write_json(dest / RESULTS_FILE, results)


def _compare_final_weights(full_dir: Path, resumed_dir: Path, full: Mapping[str, Any]) -> str:
    import torch

    from climb_harness.testing.runs import final_checkpoint

    weights_a, state_a = final_checkpoint(full_dir, full)
    weights_b, state_b = final_checkpoint(resumed_dir, full)
    if weights_a.keys() != weights_b.keys():
        _fail(f"the resumed model has other weights: {sorted(set(weights_a) ^ set(weights_b))[:3]}")
    differ = [k for k in weights_a if not torch.equal(weights_a[k], weights_b[k])]
    if differ:
        _fail(
            f"same accuracy matrix, but {len(differ)} weight tensor(s) differ after resuming (e.g. {differ[:3]}): some "
            "state carried across tasks is missing from state_dict() or randomness is not seeded per task"
        )
    if state_a.keys() != state_b.keys():
        _fail(
            f"the resumed algorithm's final state_dict() has other keys: {sorted(set(state_a) ^ set(state_b))[:3]}"
        )
    for key, value in state_a.items():
        other = state_b[key]
        same = (
            torch.equal(value, other)
            if isinstance(value, torch.Tensor) and isinstance(other, torch.Tensor)
            else value == other
        )
        if not same:
            _fail(f"the final state_dict()[{key!r}] differs between the resumed and the uninterrupted run")
    return f"accuracy matrix, {len(weights_a)} weight tensors and {len(state_a)} state entries identical"


# --------------------------------------------------------------------------- components and plugins
def check_component(
    registry: Any,
    kind: str,
    name: str,
    workdir: str | Path | None = None,
    options: Mapping[str, Any] | None = None,
) -> list[CheckResult]:
    """Every check of one component (``workdir`` is needed for algorithms; a temporary one otherwise)."""
    return _check_entry(registry, _entry(registry, kind, name), workdir, options)


def _check_entry(
    registry: Any, entry: Any, workdir: str | Path | None, options: Mapping[str, Any] | None = None
) -> list[CheckResult]:
    if entry.kind == "task":
        return _check_task_entry(registry, entry, options)
    with single_thread():
        if entry.kind == "encoder":
            return _check_encoder_entry(registry, entry, options)
        if workdir is None:
            with tempfile.TemporaryDirectory(prefix="climb-check-") as tmp:
                return _check_algorithm_entry(registry, entry, tmp, options)
        return _check_algorithm_entry(registry, entry, workdir, options)


def plugin_infos(registry: Any, selector: str) -> list[Any]:
    """The loaded plugins whose entry-point name or distribution name is ``selector``."""
    return [p for p in registry.plugins if selector in (p.name, p.distribution)]


def check_plugin(
    registry: Any,
    plugin: str,
    workdir: str | Path,
    on_component: Callable[[list[CheckResult]], None] | None = None,
) -> list[CheckResult]:
    """Every check of every component of one plugin (entry-point or distribution name, or the stem
    of a ``--plugin`` file): the engine behind ``climb check PLUGIN``. A plugin that failed to load
    is one failed "plugin loads" result. Raises UsageError when no plugin has that name.
    ``on_component`` is called with each component's results as soon as they are known."""
    infos = plugin_infos(registry, plugin)
    if not infos:
        known = ", ".join(sorted(f"{p.name} ({p.distribution})" for p in registry.plugins)) or "(none)"
        raise UsageError(
            f"No plugin or distribution named {plugin!r}. Installed plugins: {known}. "
            f"Install it, or load it with --plugin MODULE_OR_PATH."
        )
    results: list[CheckResult] = []
    notify = on_component or (lambda _: None)
    for info in infos:
        entries = [e for e in registry.all_entries() if e.plugin is info]
        loads = CheckResult(
            f"plugin:{info.name}",
            "plugin loads",
            "failed" if info.errors else "passed",
            " ".join(info.errors) or f"{info.distribution} {info.version}: {len(entries)} component(s)",
        )
        results.append(loads)
        notify([loads])
        for entry in entries:
            found = _check_entry(registry, entry, workdir)
            results += found
            notify(found)
    return results


def check_selected(
    registry: Any,
    selectors: Sequence[str],
    workdir: str | Path,
    on_component: Callable[[list[CheckResult]], None] | None = None,
) -> list[CheckResult]:
    """Check plugins (names or distributions) and single components (``kind:name``); every loaded
    plugin if ``selectors`` is empty. Unknown names raise UsageError before anything runs."""
    chosen = list(selectors) or sorted(
        {p.distribution if p.source == "entry point" else p.name for p in registry.plugins}
    )
    for selector in chosen:  # fail fast on a typo, before minutes of checks
        kind, _, name = selector.partition(":")
        if name and kind in registry.entries:
            _entry(registry, kind, name)
        elif not plugin_infos(registry, selector):
            check_plugin(registry, selector, workdir)  # raises the UsageError naming the installed plugins
    results: list[CheckResult] = []
    for selector in chosen:
        kind, _, name = selector.partition(":")
        if name and kind in registry.entries:
            found = check_component(registry, kind, name, workdir)
            results += found
            if on_component:
                on_component(found)
        else:
            results += check_plugin(registry, selector, workdir, on_component)
    return results


def format_results(results: Sequence[CheckResult], *, verbose: bool = True) -> str:
    """One line per check (passes too when ``verbose``) and a count line."""
    lines = [str(r) for r in results if verbose or r.status != "passed"]
    return "\n".join([*lines, summary_line(results)])


def summary_line(results: Sequence[CheckResult]) -> str:
    """``N check(s) of M component(s): P passed, F failed, S skipped``."""
    counts = {s: sum(r.status == s for r in results) for s in ("passed", "failed", "skipped")}
    components = len({r.component for r in results})
    return (
        f"{len(results)} check(s) of {components} component(s): {counts['passed']} passed, "
        f"{counts['failed']} failed, {counts['skipped']} skipped"
    )


def assert_conforms(
    selector: str, workdir: str | Path, registry: Any = None, *, options: Mapping[str, Any] | None = None
) -> list[CheckResult]:
    """For plugin tests: run every check of a plugin (or of one component, ``"kind:name"``, built
    with ``options`` if given) and raise AssertionError listing the failed ones. Returns the
    results (skipped checks included) on success."""
    if registry is None:
        from climb_harness.registry import Registry

        registry = Registry()
    kind, _, name = selector.partition(":")
    if options is not None:
        if not name or kind not in registry.entries:
            raise ValueError(f"options apply to one component: give 'kind:name', not {selector!r}")
        results = check_component(registry, kind, name, workdir, options)
    else:
        results = check_selected(registry, [selector], workdir)
    failed = [r for r in results if not r.passed]
    if failed:
        raise AssertionError(
            f"{len(failed)} conformance check(s) of {selector!r} failed:\n"
            + "\n".join(f"  {r}" for r in failed)
        )
    return results


def check_command(
    selected: Sequence[str],
    extra_plugins: Sequence[str] = (),
    *,
    workdir: str | Path | None = None,
    verbose: bool = True,
    echo: Callable[[str], None] = print,
) -> int:
    """``climb check [PLUGIN...] [--plugin MODULE_OR_PATH]``: run the kit, echo one line per check,
    return the exit code (0 all passed or skipped, 1 any failure). An unknown plugin raises UsageError."""
    from climb_harness.registry import Registry

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    registry = Registry(tuple(extra_plugins))
    if (
        not selected and extra_plugins
    ):  # `climb check --plugin file.py`: check what was loaded from the command line
        selected = [p.name for p in registry.plugins if p.source == "--plugin"]

    def show(found: list[CheckResult]) -> None:
        for result in found:
            if verbose or result.status != "passed":
                echo(str(result))

    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="climb-check-"))
        results = check_selected(registry, selected, workdir, show)
    echo(summary_line(results))
    return 1 if any(not r.passed for r in results) else 0
