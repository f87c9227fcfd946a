"""The algorithm checks: a real two-task run through the Runner, its results, its state, its resume.

The runs are :mod:`climb_harness.testing.runs`' (tiny synthetic tasks, CPU): one uninterrupted
run, then one crashed right after its first task and resumed by a fresh Runner, which must end
with the same accuracy matrix, weights and algorithm state. The encoder is TinyEncoder unless the
algorithm's manifest ``requires`` a capability (see :mod:`.capabilities`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from climb_harness.testing.conformance._report import describe, fail, skip
from climb_harness.testing.conformance._subject import Check, Subject
from climb_harness.testing.conformance.capabilities import EncoderChoice, choose_encoder
from climb_harness.testing.conformance.common import BUILDS, common_checks

RUN = "run-completes"


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """How an algorithm's checks run it.

    Attributes:
        encoder_factory: Builds the encoder for each run; None: chosen from the manifest's
            ``requires`` (TinyEncoder when it requires nothing).
        device: Torch device of the runs.
        size: Examples per split of each of the two tasks.
        epochs: Epochs per task.
    """

    encoder_factory: Callable[[], Any] | None = None
    device: str = "cpu"
    size: int = 24
    epochs: int = 2


@dataclasses.dataclass
class _Run:
    """What the run check leaves for the others."""

    algorithm: Any
    folder: Path
    tasks: list[Any]
    encoder: EncoderChoice
    results: dict[str, Any] | None = None


def tiny_tasks(size: int = 24) -> list[Any]:
    """The two tasks algorithm checks run on.

    Args:
        size: Examples per split.

    Returns:
        The first two of :func:`climb_harness.testing.runs.tiny_tasks` (4-way colour, yes/no),
        named ``conformance-colour`` and ``conformance-yesno``.
    """
    from climb_harness.testing import runs

    return runs.tiny_tasks(2, size, names=("conformance-colour", "conformance-yesno"))


def checks(entry: Any, options: Mapping[str, Any] | None = None) -> list[Check]:
    """Every check of an algorithm, in order.

    Args:
        entry: The algorithm's registry entry.
        options: The options it is built with (None: its defaults).

    Returns:
        The common checks, then ``run-completes``, ``state-dict-checkpointable``,
        ``results-json-valid``, ``accuracy-matrix`` and ``resume-is-exact``.
    """
    return [
        *common_checks(options),
        Check(RUN, "two-task run completes", _run),
        Check("state-dict-checkpointable", "state_dict checkpointable", _state_dict),
        Check("results-json-valid", "results.json valid", _results_json),
        Check("accuracy-matrix", "accuracy matrix", _matrix),
        Check("resume-is-exact", "resume reproduces the run", _resume),
    ]


def _settings(subject: Subject) -> RunSettings:
    return subject.settings if isinstance(subject.settings, RunSettings) else RunSettings()


def _build(subject: Subject) -> Any:
    return subject.registry.build("algorithm", subject.entry.name, subject.options or {})


def _run_options(subject: Subject, run: _Run) -> dict[str, Any]:
    settings = _settings(subject)
    return {"tasks": run.tasks, "encoder_factory": run.encoder.factory, "epochs": settings.epochs,
            "device": settings.device}


def _run(subject: Subject) -> str:
    from climb_harness.testing import runs

    subject.require(BUILDS)
    settings = _settings(subject)
    encoder = (EncoderChoice(settings.encoder_factory, "the given encoder") if settings.encoder_factory
               else choose_encoder(subject.registry, subject.entry.manifest))
    if encoder.factory is None:
        skip(encoder.note)
    folder = Path(tempfile.mkdtemp(prefix=f"{subject.entry.name}-", dir=subject.workdir))
    run = _Run(_build(subject), folder, tiny_tasks(settings.size), encoder)
    subject.shared["run"] = run
    started = time.perf_counter()
    try:
        run.results = runs.run_algorithm(run.algorithm, folder / "full", **_run_options(subject, run))
    except Exception as exc:  # noqa: BLE001 - the run's failure is the finding
        hint = (" (if the algorithm needs more of its encoder than TinyEncoder offers, declare it in the "
                "manifest's \"requires\", e.g. [\"hf-transformer\"], so the kit runs it on an encoder that "
                "\"provides\" it)") if encoder.note == "TinyEncoder" else ""
        fail(f"with {encoder.note}: {describe(exc)}{hint}")
    return (f"with {encoder.note}, {len(run.tasks)} tasks x {settings.size} examples, "
            f"{settings.epochs} epoch(s), in {time.perf_counter() - started:.1f} s")


def _finished_run(subject: Subject) -> _Run:
    subject.require(RUN)
    return subject.shared["run"]


def _state_dict(subject: Subject) -> str:
    outcome = subject.result(RUN)  # checked even when the run failed: a bad state is a likely cause
    run = subject.shared.get("run")
    if run is None:
        skip(f"not run because {outcome.name!r} {'failed' if outcome.status == 'failed' else 'was skipped'}")
    return check_state_dict(run.algorithm.state_dict())


def _results_json(subject: Subject) -> None:
    from climb_harness.core.results import RESULTS_FILE, validate_results

    run = _finished_run(subject)
    written = json.loads((run.folder / "full" / RESULTS_FILE).read_text(encoding="utf-8"))
    problems = validate_results(written)
    if problems:
        fail("; ".join(problems[:5]))
    if written.get("status") != "complete":
        fail(f"status is {written.get('status')!r} after the last task, not 'complete'")


def _matrix(subject: Subject) -> str:
    run = _finished_run(subject)
    return check_matrix(run.results or {}, len(run.tasks))


def _resume(subject: Subject) -> str:
    from climb_harness.testing import runs

    run = _finished_run(subject)
    full = run.results or {}
    try:
        options = _run_options(subject, run)
        resumed = runs.resume_after_crash(lambda: _build(subject), run.folder / "resumed", **options)
        return runs.assert_same_final_state(run.folder / "full", full, run.folder / "resumed", resumed)
    except AssertionError as exc:
        fail(str(exc))


def check_state_dict(state: Any) -> str:
    """Check that an algorithm's ``state_dict()`` is checkpointable: a flat dict of tensors and JSON values.

    Args:
        state: What ``state_dict()`` returned.

    Returns:
        A summary such as ``"3 entries (2 tensor(s))"``.

    Raises:
        Failed: Naming the first entry that cannot be checkpointed and how to fix it.
    """
    import torch

    if not isinstance(state, Mapping):
        fail(f"state_dict() returned a {type(state).__name__}; return a flat dict of tensors and JSON values")
    for key, value in state.items():
        if not isinstance(key, str):
            fail(f"state_dict() has the key {key!r} ({type(key).__name__}); keys must be strings")
        if isinstance(value, torch.Tensor):
            continue
        if isinstance(value, Mapping) and any(isinstance(v, torch.Tensor) for v in value.values()):
            fail(f"state_dict()[{key!r}] is a dict holding tensors; flatten it to keys like '{key}.<name>'")
        try:
            json.dumps(value)
        except (TypeError, ValueError) as exc:
            fail(
                f"state_dict()[{key!r}] is a {type(value).__module__}.{type(value).__name__}, neither a "
                f"tensor nor JSON-serialisable ({exc}); return a flat dict of tensors and JSON values "
                "(lists, numbers, strings)"
            )
    tensors = sum(isinstance(v, torch.Tensor) for v in state.values())
    return f"{len(state)} entr{'y' if len(state) == 1 else 'ies'} ({tensors} tensor(s))"


def check_matrix(results: Mapping[str, Any], n: int) -> str:
    """Check a run's accuracy matrix and initial scores: ``n x n`` and ``n`` finite scores in [0, 100].

    Args:
        results: The run's results dict.
        n: The number of tasks.

    Returns:
        The matrix, as text.

    Raises:
        Failed: If the shape or a score is wrong.
    """
    matrix, initial = results.get("accuracy_matrix"), results.get("initial_scores")
    rows_ok = isinstance(matrix, list) and all(isinstance(r, list) and len(r) == n for r in matrix)
    if not rows_ok or len(matrix) != n:
        fail(f"accuracy_matrix is {matrix!r:.120}; expected {n} rows of {n} scores")
    if not isinstance(initial, list) or len(initial) != n:
        fail(f"initial_scores is {initial!r:.80}; expected {n} scores")
    for value in [v for row in matrix for v in row] + list(initial):
        if not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 <= value <= 100:
            fail(f"score {value!r} in {matrix} is not a finite number in [0, 100]")
    return f"{matrix}"
