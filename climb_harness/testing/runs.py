"""Short real runs for testing a continual-learning algorithm: tiny tasks, a training context,
a whole run through the :class:`~climb_harness.runner.Runner`, and resume equality.

Every method plugin's tests need the same few things, and they should exercise the harness's real
``Runner`` and ``Context`` rather than mocks, so they live here for plugin authors in and outside
this repository::

    from climb_harness.testing.runs import assert_resume_reproduces, build_component, run_algorithm
    from my_plugin.plugin import climb_algorithms

    def build(**options):
        return build_component(climb_algorithms()[0], **options)  # as the harness builds it

    def test_my_method_runs(tmp_path):
        results = run_algorithm(build(strength=1.0), tmp_path)
        assert results["status"] == "complete"

    def test_my_method_resumes(tmp_path):
        assert_resume_reproduces(lambda: build(strength=1.0), tmp_path)

:func:`make_context` gives the runner's real ``Context`` for unit tests of a single hook.

Runs use :class:`~climb_harness.testing.components.TinyEncoder` (or ``encoder_factory``) and the
synthetic tasks of :func:`tiny_tasks` on the CPU: a two-task run takes about a second. torch and
the runner are imported when a helper is called, not when this module is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from climb_harness.api import Algorithm, Component, Task
    from climb_harness.runner import Context, Runner, RunSpec

#: ``(name, question, seed)`` of the tasks :func:`tiny_tasks` hands out, in order: a 4-way colour
#: task, a yes/no task, and a second 4-way colour task on other data (same head shape as the first).
TINY_TASKS: tuple[tuple[str, str, int], ...] = (
    ("colours", "colour", 1),
    ("yesno", "yesno", 2),
    ("colours-b", "colour", 3),
)


class StopRun(Exception):
    """Raised by :class:`StopAfterTask` to interrupt a run as a crash would (``args[0]``: the task index)."""


class StopAfterTask:
    """Lifecycle hooks (a ``RunSpec.hooks`` relay) that crash the run right after task ``index``
    was checkpointed and results.json written, as a killed process leaves it."""

    def __init__(self, index: int) -> None:
        self.index = index

    def climb_task_end(self, task_index: int, **_: Any) -> None:
        if task_index == self.index:
            raise StopRun(task_index)

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda **_: None  # every other lifecycle hook does nothing


def build_component(component: Component, **options: Any) -> Any:
    """Build a component straight from a plugin's hook module as the harness would: ``options``
    validated with defaults filled in from the manifest, the factory called, ``.manifest`` set.
    Raises ValueError naming what the options schema rejects."""
    import importlib

    from climb_harness.schemas import options_with_defaults

    resolved, problems = options_with_defaults(component.manifest.get("options"), options)
    if problems:
        raise ValueError(f"options {options!r} for {component.kind} {component.name!r} are invalid: "
                         + "; ".join(str(p) for p in problems))
    factory: Any = component.factory
    if isinstance(factory, str):
        module, _, attr = factory.partition(":")
        factory = importlib.import_module(module)
        for part in attr.split("."):
            factory = getattr(factory, part)
    obj = factory(resolved)
    obj.manifest = dict(component.manifest)
    return obj


def tiny_tasks(count: int = 2, size: int = 48, *, names: Sequence[str] | None = None) -> list[Task]:
    """The first ``count`` (1 to 3) of :data:`TINY_TASKS`, small learnable synthetic tasks with
    ``size`` examples per split; ``names`` renames them (the data stays the same)."""
    from climb_harness.testing.components import synthetic_task

    if not 1 <= count <= len(TINY_TASKS):
        raise ValueError(f"tiny_tasks has {len(TINY_TASKS)} tasks; ask for 1 to {len(TINY_TASKS)}, not {count}")
    chosen = TINY_TASKS[:count]
    labels = [name for name, _, _ in chosen] if names is None else list(names)
    if len(labels) != count:
        raise ValueError(f"tiny_tasks got {len(labels)} names for {count} tasks; give one name per task")
    return [synthetic_task(label, question, size=size, seed=seed) for label, (_, question, seed) in zip(labels, chosen)]


def make_context(
    tasks: Sequence[Task] | None = None, seed: int = 0, batch_size: int = 8, *, lr: float | None = None
) -> Context:
    """The runner's real :class:`~climb_harness.runner.Context` over a fresh TinyEncoder model
    (seeded as a run under ``seed`` is; no training yet), for unit tests of single hooks.

    ``tasks`` defaults to ``tiny_tasks()``. ``ctx.optimizer`` is None, as outside a task, unless
    ``lr`` is given: then it is the runner's AdamW at that rate, as built at a task's start."""
    import torch

    from climb_harness.data import load_split
    from climb_harness.heads import ContinualModel
    from climb_harness.runner import Context, TrainingOptions, build_optimizer, seed_everything
    from climb_harness.testing.components import TinyEncoder

    tasks = list(tasks) if tasks is not None else tiny_tasks()
    seed_everything(seed)
    encoder = TinyEncoder({})
    infos = {t.name: t.info for t in tasks}
    model = ContinualModel(encoder, infos)
    train = {t.name: load_split(t, "train", encoder, True) for t in tasks}
    training = TrainingOptions(batch_size=batch_size, lr=lr, progress=False, device="cpu")
    ctx = Context(model, torch.device("cpu"), seed, [t.name for t in tasks], infos, train, training,
                  {t.name: batch_size for t in tasks})
    if lr is not None:
        ctx.optimizer = build_optimizer(model, lr, training)
    return ctx


def run_spec(
    algorithm: Algorithm,
    out: str | Path,
    *,
    tasks: Sequence[Task] | None = None,
    encoder_factory: Callable[[], Any] | None = None,
    epochs: int = 1,
    batch_size: int | None = 8,
    lr: float = 3e-3,
    seed: int = 0,
    stop_after: int | None = None,
    device: str = "cpu",
) -> RunSpec:
    """The :class:`~climb_harness.runner.RunSpec` :func:`run_algorithm` runs (same options), for a
    test that builds the ``Runner`` itself (see :func:`run_with_runner`). ``batch_size=None`` takes
    each task manifest's default."""
    from climb_harness.runner import RunSpec, TrainingOptions
    from climb_harness.testing.components import TinyEncoder

    tasks = list(tasks) if tasks is not None else tiny_tasks()
    names = [t.name for t in tasks]
    return RunSpec(
        tasks=tasks,
        encoder_factory=encoder_factory or (lambda: TinyEncoder({})),
        algorithm=algorithm,
        seed=seed,
        training=TrainingOptions(epochs=epochs, lr=lr, batch_size=batch_size, progress=False, device=device),
        output_dir=Path(out),
        config={"algorithm": algorithm.name, "options": json.loads(json.dumps(algorithm.options, default=str)),
                "tasks": names},
        references={"random": {t.name: float(t.manifest["random_baseline"]) for t in tasks},
                    "direct": {name: None for name in names}},
        plugins=[],
        hooks=StopAfterTask(stop_after) if stop_after is not None else None,
    )


def run_algorithm(
    algorithm: Algorithm,
    out: str | Path,
    *,
    tasks: Sequence[Task] | None = None,
    encoder_factory: Callable[[], Any] | None = None,
    epochs: int = 1,
    batch_size: int | None = 8,
    lr: float = 3e-3,
    seed: int = 0,
    resume: bool = False,
    stop_after: int | None = None,
    device: str = "cpu",
) -> dict[str, Any]:
    """One real run of ``algorithm`` through the core Runner into ``out``; the final results dict.

    ``tasks`` defaults to ``tiny_tasks()``, ``encoder_factory`` to a fresh TinyEncoder.
    ``stop_after=i`` raises :class:`StopRun` once task ``i`` is checkpointed (a crash);
    ``resume=True`` continues the run already in ``out``."""
    from climb_harness.runner import Runner

    spec = run_spec(algorithm, out, tasks=tasks, encoder_factory=encoder_factory, epochs=epochs,
                    batch_size=batch_size, lr=lr, seed=seed, stop_after=stop_after, device=device)
    return Runner(spec).run(resume=resume)


def run_with_runner(spec: RunSpec, *, resume: bool = False) -> tuple[dict[str, Any] | None, Runner]:
    """Run ``spec`` (e.g. from :func:`run_spec`) in a fresh Runner and hand the Runner back too, for
    tests that inspect its ``model`` or ``ctx`` afterwards: ``(results, runner)``, results None
    when :class:`StopAfterTask` stopped the run."""
    from climb_harness.runner import Runner

    runner = Runner(spec)
    try:
        return runner.run(resume=resume), runner
    except StopRun:
        return None, runner


def final_checkpoint(out: str | Path, results: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(model weights, algorithm state)`` of the last checkpoint the run in ``out`` wrote."""
    from climb_harness.checkpoints import checkpoint_path, load_checkpoint

    index = len(results["accuracy_matrix"]) - 1
    weights, _, algorithm_state = load_checkpoint(checkpoint_path(Path(out), index, results["tasks"][index]))
    return weights, algorithm_state


def assert_resume_reproduces(
    make_algorithm: Callable[[], Algorithm], tmp_path: str | Path, **run_options: Any
) -> dict[str, Any]:
    """Assert that an uninterrupted run (in ``tmp_path/full``) equals one crashed after task 0 and
    resumed by a fresh Runner (in ``tmp_path/resumed``): the accuracy matrix, every final weight
    and every entry of the algorithm's final ``state_dict()``. ``make_algorithm`` builds a fresh
    algorithm for each of the three runs; ``run_options`` go to :func:`run_algorithm` (at least
    two tasks). Returns the uninterrupted run's results."""
    import torch

    tmp_path = Path(tmp_path)
    full = run_algorithm(make_algorithm(), tmp_path / "full", **run_options)
    if len(full["tasks"]) < 2:
        raise AssertionError(f"a resume after task 0 needs at least two tasks; the run had {full['tasks']}")
    try:
        run_algorithm(make_algorithm(), tmp_path / "resumed", stop_after=0, **run_options)
    except StopRun:
        pass
    else:
        raise AssertionError("the run meant to crash after task 0 did not stop there")
    resumed = run_algorithm(make_algorithm(), tmp_path / "resumed", resume=True, **run_options)
    assert resumed["status"] == full["status"] == "complete", (full["status"], resumed["status"])
    assert resumed["accuracy_matrix"] == full["accuracy_matrix"], (
        f"resumed after task 0, the accuracy matrix is {resumed['accuracy_matrix']}; uninterrupted it is "
        f"{full['accuracy_matrix']}")
    weights_full, state_full = final_checkpoint(tmp_path / "full", full)
    weights_resumed, state_resumed = final_checkpoint(tmp_path / "resumed", resumed)
    assert weights_full.keys() == weights_resumed.keys(), sorted(set(weights_full) ^ set(weights_resumed))
    differ = [k for k in weights_full if not torch.equal(weights_full[k], weights_resumed[k])]
    assert not differ, f"{len(differ)} final weight tensor(s) differ after resuming, e.g. {differ[:3]}"
    assert state_full.keys() == state_resumed.keys(), sorted(set(state_full) ^ set(state_resumed))
    for key, value in state_full.items():
        other = state_resumed[key]
        tensors = isinstance(value, torch.Tensor), isinstance(other, torch.Tensor)
        same = torch.equal(value, other) if all(tensors) else not any(tensors) and value == other
        assert same, f"the final state_dict()[{key!r}] differs between the resumed and the uninterrupted run"
    return full
