"""Shared fixtures: build a replay method as the harness does, a real training context, and short real runs.

Runs use the core's ``TinyEncoder`` and synthetic tasks (a few dozen examples, one or two epochs):
a whole two-task run takes well under a second on a CPU.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


class StopRun(Exception):
    """Raised by :class:`StopAfterTask` to interrupt a run as a crash would."""


class StopAfterTask:
    """Lifecycle hooks that crash the run right after task ``index`` was checkpointed."""

    def __init__(self, index: int) -> None:
        self.index = index

    def climb_task_end(self, task_index: int, **_: Any) -> None:
        if task_index == self.index:
            raise StopRun(task_index)

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda **_: None


def build_algorithm(name: str, **options: Any) -> Any:
    """Options validated and defaults filled from the manifest, factory called, manifest set."""
    from climb_replay.plugin import climb_algorithms

    from climb_harness.schemas import options_with_defaults

    component = {c.name: c for c in climb_algorithms()}[name]
    resolved, problems = options_with_defaults(component.manifest["options"], options)
    assert not problems, problems
    module, attr = component.factory.split(":")
    obj = getattr(importlib.import_module(module), attr)(resolved)
    obj.manifest = dict(component.manifest)
    return obj


def make_tasks(size: int = 48, count: int = 2) -> list[Any]:
    """colours (4-way), yesno (2-way), shades (4-way, other data): the first ``count``."""
    from climb_harness.testing.components import synthetic_task

    return [synthetic_task("colours", "colour", size=size, seed=1), synthetic_task("yesno", "yesno", size=size, seed=2),
            synthetic_task("shades", "colour", size=size, seed=3)][:count]


def make_context(tasks: list[Any] | None = None, seed: int = 0, batch_size: int = 8) -> Any:
    """The runner's real :class:`Context` over a fresh TinyEncoder model (no training yet)."""
    import torch

    from climb_harness.data import load_split
    from climb_harness.heads import ContinualModel
    from climb_harness.runner import Context, TrainingOptions
    from climb_harness.testing.components import TinyEncoder

    tasks = tasks or make_tasks()
    torch.manual_seed(seed)
    encoder = TinyEncoder({})
    infos = {t.name: t.info for t in tasks}
    model = ContinualModel(encoder, infos)
    train = {t.name: load_split(t, "train", encoder, True) for t in tasks}
    training = TrainingOptions(batch_size=batch_size, progress=False, device="cpu")
    return Context(model, torch.device("cpu"), seed, [t.name for t in tasks], infos, train, training,
                   {t.name: batch_size for t in tasks})


def run(algorithm: Any, out: Path, *, resume: bool = False, stop_after: int | None = None, epochs: int = 1,
        size: int = 48, batch_size: int = 8, tasks: int = 2) -> dict[str, Any]:
    """One real run through the core Runner (CPU, no progress bars)."""
    from climb_harness.runner import Runner, RunSpec, TrainingOptions
    from climb_harness.testing.components import TinyEncoder

    tasks = make_tasks(size, tasks)
    spec = RunSpec(
        tasks=tasks,
        encoder_factory=lambda: TinyEncoder({}),
        algorithm=algorithm,
        seed=0,
        training=TrainingOptions(epochs=epochs, lr=3e-3, batch_size=batch_size, progress=False, device="cpu"),
        output_dir=out,
        config={"algorithm": algorithm.name, "options": algorithm.options},
        references={"random": {t.name: t.manifest["random_baseline"] for t in tasks}, "direct": {t.name: None for t in tasks}},
        plugins=[],
        hooks=StopAfterTask(stop_after) if stop_after is not None else None,
    )
    return Runner(spec).run(resume=resume)


def final_weights(out: Path, results: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(model weights, algorithm state) of the last checkpoint of a run folder."""
    from climb_harness.checkpoints import checkpoint_path, load_checkpoint

    index = len(results["accuracy_matrix"]) - 1
    state, _, algorithm_state = load_checkpoint(checkpoint_path(out, index, results["tasks"][index]))
    return state, algorithm_state


def assert_resume_reproduces(make_algorithm: Callable[[], Any], tmp_path: Path, **run_options: Any) -> dict[str, Any]:
    """An uninterrupted two-task run equals one crashed after task 0 and resumed in a fresh Runner."""
    import torch

    full = run(make_algorithm(), tmp_path / "full", **run_options)
    with pytest.raises(StopRun):
        run(make_algorithm(), tmp_path / "resumed", stop_after=0, **run_options)
    resumed = run(make_algorithm(), tmp_path / "resumed", resume=True, **run_options)
    assert resumed["status"] == full["status"] == "complete"
    assert resumed["accuracy_matrix"] == full["accuracy_matrix"]
    weights_full, state_full = final_weights(tmp_path / "full", full)
    weights_resumed, state_resumed = final_weights(tmp_path / "resumed", resumed)
    assert weights_full.keys() == weights_resumed.keys()
    for key in weights_full:
        assert torch.equal(weights_full[key], weights_resumed[key]), key
    assert state_full.keys() == state_resumed.keys()
    for key, value in state_full.items():
        other = state_resumed[key]
        assert torch.equal(value, other) if isinstance(value, torch.Tensor) else value == other, key
    return full


def instrument(algorithm: Any, hooks: list[str], after: Callable[[Any, str], None] | None = None) -> list[SimpleNamespace]:
    """Record every ``ctx.batch(task, indices)`` the algorithm asks for inside ``hooks`` (with the index of
    the task being learned); ``after(ctx, hook)`` runs after each of those hook calls."""
    calls: list[SimpleNamespace] = []
    for hook in hooks:
        original = getattr(algorithm, hook)

        def wrapped(ctx: Any, *args: Any, _original: Any = original, _hook: str = hook) -> Any:
            real = type(ctx).batch

            def batch(task: str, indices: Any) -> Any:
                calls.append(SimpleNamespace(hook=_hook, learning=ctx.task_index, task=task, indices=[int(i) for i in indices]))
                return real(ctx, task, indices)

            ctx.batch = batch
            try:
                return _original(ctx, *args)
            finally:
                del ctx.batch
                if after is not None:
                    after(ctx, _hook)

        setattr(algorithm, hook, wrapped)
    return calls


def assert_holds_no_float_tensors(algorithm: Any) -> None:
    """Memories hold indices: no floating-point tensor (a copied batch) anywhere in the algorithm's attributes."""
    import torch

    seen: set[int] = set()

    def walk(value: Any, path: str) -> None:
        if id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, torch.Tensor):
            assert not value.is_floating_point(), f"{path} holds a float tensor {tuple(value.shape)}"
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}[{key!r}]")
        elif isinstance(value, (list, tuple, set)):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]")
        elif hasattr(value, "__dict__") and not callable(value) and type(value).__module__.startswith("climb_replay"):
            for key, item in vars(value).items():
                walk(item, f"{path}.{key}")

    walk(algorithm, type(algorithm).__name__)


@pytest.fixture
def h() -> SimpleNamespace:
    """The helpers above, as one fixture (test modules cannot import conftest under importlib mode)."""
    return SimpleNamespace(build=build_algorithm, tasks=make_tasks, context=make_context, run=run,
                           final_weights=final_weights, assert_resume_reproduces=assert_resume_reproduces,
                           StopRun=StopRun, instrument=instrument, assert_holds_no_float_tensors=assert_holds_no_float_tensors)


@pytest.fixture(autouse=True)
def _offline_single_thread(monkeypatch: pytest.MonkeyPatch) -> Any:
    """No hub access; one torch thread (tiny models gain nothing from more, and thrash on a busy CPU)."""
    import torch

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
