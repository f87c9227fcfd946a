"""Short real runs for testing a continual-learning algorithm: tiny tasks, a training context,
a whole run through the :class:`~climb_harness.core.engine.Runner`, and resume equality.

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

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from climb_harness.api import Algorithm, Component, Task
    from climb_harness.core.engine import Context, Runner, RunSpec

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
    was checkpointed and results.json written, as a killed process leaves it.

    Args:
        index: The task after which to stop.
    """

    def __init__(self, index: int) -> None:
        self.index = index

    def climb_task_end(self, task_index: int, **_: Any) -> None:
        """The hook called after each task is checkpointed.

        Args:
            task_index: The task just finished.

        Raises:
            StopRun: After task ``index``.
        """
        if task_index == self.index:
            raise StopRun(task_index)

    def __getattr__(self, name: str) -> Callable[..., None]:
        """Every other lifecycle hook.

        Args:
            name: The hook's name.

        Returns:
            A hook that does nothing.
        """
        return lambda **_: None


def build_component(component: Component, **options: Any) -> Any:
    """Build a component straight from a plugin's hook module, as the harness would.

    Args:
        component: What the hook returned (``climb_algorithms()[0]``).
        **options: Its options; the manifest's defaults fill in the rest.

    Returns:
        The factory's object, with ``.manifest`` set.

    Raises:
        ValueError: Naming what the options schema rejects.
    """
    import importlib

    from climb_harness.core.schemas import options_with_defaults

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
    """The first ``count`` of :data:`TINY_TASKS`: small learnable synthetic tasks.

    Args:
        count: How many (1 to 3).
        size: Examples per split.
        names: New names for them (the data stays the same).

    Returns:
        The tasks, manifests set.

    Raises:
        ValueError: For a count outside 1..3, or not one name per task.

    >>> [t.name for t in tiny_tasks(2, size=4)]
    ['colours', 'yesno']
    """
    from climb_harness.testing.components import synthetic_task

    if not 1 <= count <= len(TINY_TASKS):
        raise ValueError(f"tiny_tasks has {len(TINY_TASKS)} tasks; ask for 1 to {len(TINY_TASKS)}, "
                         f"not {count}")
    chosen = TINY_TASKS[:count]
    labels = [name for name, _, _ in chosen] if names is None else list(names)
    if len(labels) != count:
        raise ValueError(f"tiny_tasks got {len(labels)} names for {count} tasks; give one name per task")
    return [synthetic_task(label, question, size=size, seed=seed)
            for label, (_, question, seed) in zip(labels, chosen)]


def make_context(
    tasks: Sequence[Task] | None = None, seed: int = 0, batch_size: int = 8, *, lr: float | None = None
) -> Context:
    """The runner's real :class:`~climb_harness.core.engine.Context` over a fresh TinyEncoder model, for
    unit tests of single hooks (seeded as a run under ``seed`` is; no training yet).

    Args:
        tasks: The tasks (default: ``tiny_tasks()``), their train splits loaded.
        seed: The run's seed.
        batch_size: Every task's training batch size.
        lr: When given, ``ctx.optimizer`` is the runner's AdamW at that rate, as built at a task's
            start; else None, as outside a task.

    Returns:
        The context.
    """
    import torch

    from climb_harness.core.data import load_split
    from climb_harness.core.heads import ContinualModel
    from climb_harness.core.engine import Context, TrainingOptions, build_optimizer, seed_everything
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
    """The :class:`~climb_harness.core.engine.RunSpec` :func:`run_algorithm` runs, for a test that builds
    the ``Runner`` itself (see :func:`run_with_runner`).

    Args:
        algorithm: The algorithm to run.
        out: The run's folder.
        tasks: The tasks (default: ``tiny_tasks()``).
        encoder_factory: Builds the encoder (default: a fresh TinyEncoder).
        epochs: Epochs per task.
        batch_size: Training batch size (None: each task manifest's default).
        lr: Learning rate.
        seed: The run's seed.
        stop_after: Crash after this task (:class:`StopAfterTask`); None runs to the end.
        device: Torch device.

    Returns:
        The spec.
    """
    from climb_harness.core.engine import RunSpec, TrainingOptions
    from climb_harness.testing.components import TinyEncoder

    tasks = list(tasks) if tasks is not None else tiny_tasks()
    names = [t.name for t in tasks]
    return RunSpec(
        tasks=tasks,
        encoder_factory=encoder_factory or (lambda: TinyEncoder({})),
        algorithm=algorithm,
        seed=seed,
        training=TrainingOptions(epochs=epochs, lr=lr, batch_size=batch_size, progress=False,
                                 device=device),
        output_dir=Path(out),
        config={"algorithm": algorithm.name, "tasks": names,
                "options": json.loads(json.dumps(algorithm.options, default=str))},
        references={"random": {t.name: float(t.manifest["random_baseline"]) for t in tasks},
                    "direct": {name: None for name in names}},
        plugins=[],
        hooks=StopAfterTask(stop_after) if stop_after is not None else None,
        echo=lambda line: None,  # "resuming after task 1" lines would bury the kit's own report
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
    """One real run of ``algorithm`` through the core Runner into ``out``.

    Args:
        algorithm: The algorithm to run.
        out: The run's folder.
        tasks: The tasks (default: ``tiny_tasks()``).
        encoder_factory: Builds the encoder (default: a fresh TinyEncoder).
        epochs: Epochs per task.
        batch_size: Training batch size (None: each task manifest's default).
        lr: Learning rate.
        seed: The run's seed.
        resume: Continue the run already in ``out``.
        stop_after: Crash once this task is checkpointed.
        device: Torch device.

    Returns:
        The final results dict.

    Raises:
        StopRun: With ``stop_after``, once that task is checkpointed.
    """
    from climb_harness.core.engine import Runner

    spec = run_spec(algorithm, out, tasks=tasks, encoder_factory=encoder_factory, epochs=epochs,
                    batch_size=batch_size, lr=lr, seed=seed, stop_after=stop_after, device=device)
    return Runner(spec).run(resume=resume)


def run_with_runner(spec: RunSpec, *, resume: bool = False) -> tuple[dict[str, Any] | None, Runner]:
    """Run ``spec`` in a fresh Runner and hand the Runner back too, for tests that inspect its
    ``model`` or ``ctx`` afterwards.

    Args:
        spec: The run (e.g. from :func:`run_spec`).
        resume: Continue the run already in its folder.

    Returns:
        ``(results, runner)``; results is None when :class:`StopAfterTask` stopped the run.
    """
    from climb_harness.core.engine import Runner

    runner = Runner(spec)
    try:
        return runner.run(resume=resume), runner
    except StopRun:
        return None, runner


def final_checkpoint(out: str | Path, results: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The last checkpoint the run in ``out`` wrote.

    Args:
        out: The run's folder.
        results: Its results (they name the tasks done).

    Returns:
        ``(model weights, algorithm state)``.
    """
    from climb_harness.core.checkpoints import checkpoint_path, load_checkpoint

    index = len(results["accuracy_matrix"]) - 1
    weights, _, algorithm_state = load_checkpoint(checkpoint_path(Path(out), index, results["tasks"][index]))
    return weights, algorithm_state


def resume_after_crash(
    make_algorithm: Callable[[], Algorithm], out: str | Path, *, after: int = 0, **run_options: Any
) -> dict[str, Any]:
    """Run into ``out`` until it crashes right after task ``after``, then resume it in a fresh Runner.

    Args:
        make_algorithm: Builds a fresh algorithm; called once per run (the crashed one, the resumed one).
        out: The run's folder (empty).
        after: Index of the last task finished before the crash.
        **run_options: For :func:`run_algorithm` (``tasks``, ``encoder_factory``, ``epochs``, ...).

    Returns:
        The resumed run's final results.

    Raises:
        AssertionError: If the run did not stop where it was meant to crash (too few tasks).
    """
    try:
        run_algorithm(make_algorithm(), out, stop_after=after, **run_options)
    except StopRun:
        pass
    else:
        raise AssertionError(f"the run meant to crash after task {after} did not stop there")
    return run_algorithm(make_algorithm(), out, resume=True, **run_options)


def assert_same_final_state(
    full_dir: str | Path, full: Mapping[str, Any], resumed_dir: str | Path, resumed: Mapping[str, Any]
) -> str:
    """Assert that two runs ended the same: status, accuracy matrix, every final weight and state entry.

    Args:
        full_dir: The uninterrupted run's folder.
        full: Its results.
        resumed_dir: The resumed run's folder.
        resumed: Its results.

    Returns:
        What was compared: ``"accuracy matrix, 12 weight tensors and 3 state entries identical"``.

    Raises:
        AssertionError: Naming the first difference and its likely cause.
    """
    import torch

    if resumed["status"] != full["status"] or full["status"] != "complete":
        raise AssertionError(f"the runs ended with status {full['status']!r} (uninterrupted) and "
                             f"{resumed['status']!r} (resumed); both should be 'complete'")
    if resumed["accuracy_matrix"] != full["accuracy_matrix"]:
        raise AssertionError(
            f"resumed after a crash, the accuracy matrix is {resumed['accuracy_matrix']}; uninterrupted it "
            f"is {full['accuracy_matrix']}. Put everything carried across tasks in state_dict() and restore "
            "it in load_state_dict(); seed randomness from (ctx.seed, ctx.task_index)")
    weights_full, state_full = final_checkpoint(full_dir, full)
    weights_resumed, state_resumed = final_checkpoint(resumed_dir, resumed)
    if weights_full.keys() != weights_resumed.keys():
        other = sorted(set(weights_full) ^ set(weights_resumed))[:3]
        raise AssertionError(f"the resumed model has other weights: {other}")
    differ = [k for k in weights_full if not torch.equal(weights_full[k], weights_resumed[k])]
    if differ:
        raise AssertionError(
            f"same accuracy matrix, but {len(differ)} final weight tensor(s) differ after resuming (e.g. "
            f"{differ[:3]}): some state carried across tasks is missing from state_dict() or randomness is "
            "not seeded per task")
    if state_full.keys() != state_resumed.keys():
        raise AssertionError("the resumed algorithm's final state_dict() has other keys: "
                             f"{sorted(set(state_full) ^ set(state_resumed))[:3]}")
    for key, value in state_full.items():
        other = state_resumed[key]
        tensors = isinstance(value, torch.Tensor), isinstance(other, torch.Tensor)
        if not (torch.equal(value, other) if all(tensors) else not any(tensors) and value == other):
            raise AssertionError(f"the final state_dict()[{key!r}] differs between the resumed and the "
                                 "uninterrupted run")
    return (f"accuracy matrix, {len(weights_full)} weight tensors and {len(state_full)} state entries "
            "identical")


def assert_resume_reproduces(
    make_algorithm: Callable[[], Algorithm], tmp_path: str | Path, **run_options: Any
) -> dict[str, Any]:
    """Assert that an uninterrupted run equals one crashed after task 0 and resumed by a fresh Runner.

    The uninterrupted run goes to ``tmp_path/full``, the crashed and resumed one to
    ``tmp_path/resumed``; they must end with the same accuracy matrix, every final weight and every
    entry of the algorithm's final ``state_dict()`` (see :func:`assert_same_final_state`).

    Args:
        make_algorithm: Builds a fresh algorithm for each of the three runs.
        tmp_path: A folder for the runs.
        **run_options: For :func:`run_algorithm` (at least two tasks).

    Returns:
        The uninterrupted run's results.

    Raises:
        AssertionError: If the runs differ, or there are fewer than two tasks.
    """
    tmp_path = Path(tmp_path)
    full = run_algorithm(make_algorithm(), tmp_path / "full", **run_options)
    if len(full["tasks"]) < 2:
        raise AssertionError(f"a resume after task 0 needs at least two tasks; the run had {full['tasks']}")
    resumed = resume_after_crash(make_algorithm, tmp_path / "resumed", **run_options)
    assert_same_final_state(tmp_path / "full", full, tmp_path / "resumed", resumed)
    return full


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one CPU thread inside the block; the previous setting is restored after it.

    The kit's models are tiny: a second thread gains nothing, and on a busy machine threads
    spin-waiting on each other make a two-second run take tens of seconds.

    Yields:
        Nothing.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
