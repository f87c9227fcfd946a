"""Milliseconds per training step against the number of tasks T, for every shipped method.

Workload: scikit-learn's 8x8 digits (climb-vision-tasks' seeded 60/20/20 split per class) cut into 8
two-class tasks, 0/1, 2/3, 4/5, 6/7, 8/9, 0/2, 1/3, 5/7 (about 215 training examples each), the testing kit's
TinyEncoder (``--hidden-size`` 64: an MLP over the image, with CLiMB's heads), batch 32, ``--epochs`` per task
(3: 21 steps), seed 0, one torch thread, no checkpoints. A method that needs a capability the TinyEncoder
lacks (``adapters``: hf-transformer; the prompt methods: prompt-tuning / prefix-tuning) runs on the first
installed encoder that provides it, built with its manifest's ``test_options`` (marked ``*`` in the table:
another model, so compare its rows only with themselves).

For each T in ``--tasks`` (2 4 8), a real ``Runner`` learns the first T tasks. A step is timed from the end of
the previous ``after_optimizer_step`` to the end of its own (loading the batch, ``training_loss``, backward,
the hooks, the optimizer step), in thread CPU seconds (what this process computed, whatever else the machine
runs) and in wall seconds; the first step of each epoch is left out (its interval would include the epoch's
start). Per run:

* **last-task ms/step**: the median over the last task's steps, those taken with T - 1 tasks behind, which is
  what "flat in T" is about;
* **run ms/step**: the median over the steps of every task (the first task has nothing to replay or
  penalise, so it sits below the later ones);
* **hook s/task**: per task, the seconds outside training and evaluation (``on_task_start`` /
  ``on_task_end``: EWC's Fisher, MC-SGD's search, OGD's directions, LwF's recording), averaged over tasks.

Repeats interleave (repeat, then method, then T), so that the T values of one method run seconds apart; the
table gives medians over the repeats and ``T8/T2``, the ratio of last-task CPU ms/step (target <= 1.15 for
er-ring and ewc[all-past]). The load average before and after is printed.

    python benchmarks/cost_vs_tasks.py [--methods er-ring ewc[all-past] ...] [--tasks 2 4 8] [--repeats 5]
                                       [--epochs 3] [--hidden-size 64] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

from climb_harness.api import API_VERSION, Example, Task
from climb_harness.core.registry import Registry
from climb_harness.core.engine import Runner, RunSpec, TrainingOptions

DIGIT_PAIRS = [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (0, 2), (1, 3), (5, 7)]

#: label -> (algorithm, options): every shipped method at its defaults, plus the variants the issue measures.
#: CLiMB's replay schedule (every 100 steps of an epoch) never fires in 7-step epochs: every 5 steps here, as
#: in the default benchmark.
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "ewc[all-past]": ("ewc", {"penalty": "all-past"}),
    "experience-replay": ("experience-replay", {"replay_frequency": 5}),
    "er-reservoir": ("er-reservoir", {"replay_frequency": 5}),
}


class DigitPair(Task):
    """Two digits of scikit-learn's digits as a two-class vision task (label 1: the second digit)."""

    data: dict[str, list[Example]]

    def examples(self, split: str) -> list[Example]:
        return self.data[split]


def digit_tasks(count: int) -> list[Task]:
    """The first ``count`` tasks of :data:`DIGIT_PAIRS`."""
    from climb_vision_tasks.digits import load_images, split_per_class

    images, labels = load_images()
    parts = split_per_class(labels)
    tasks: list[Task] = []
    for low, high in DIGIT_PAIRS[:count]:
        task = DigitPair({})
        task.manifest = {
            "name": f"digits-{low}{high}",
            "kind": "task",
            "api_version": API_VERSION,
            "summary": f"digits {low} vs {high}",
            "modality": "vision",
            "images_per_example": 1,
            "head": {"type": "classification", "num_labels": 2},
            "metric": "accuracy",
            "random_baseline": 50.0,
            "defaults": {"epochs": 3, "lr": 1e-3, "batch_size": 32},
        }
        task.data = {
            split: [
                Example(None, (images[i],), target=int(labels[i] == high), id=str(i))
                for i in indices
                if labels[i] in (low, high)
            ]
            for split, indices in parts.items()
        }
        tasks.append(task)
    return tasks


def encoder_factory(registry: Registry, algorithm: str, hidden_size: int) -> tuple[Any, str]:
    """``(factory, label)``: the TinyEncoder, or for a method that requires capabilities the first installed
    encoder providing them, with its ``test_options``."""
    from climb_harness.testing.components import TinyEncoder

    required = set(registry.get("algorithm", algorithm).manifest.get("requires", []))
    if not required:
        return (lambda: TinyEncoder({"hidden_size": hidden_size})), "tiny"
    for name in sorted(registry.names("encoder")):
        entry = registry.get("encoder", name)
        if required <= set(entry.manifest.get("provides", [])):
            options = dict(entry.manifest.get("test_options", {}))
            return (lambda name=name, options=options: registry.build("encoder", name, options)), f"{name}*"
    raise SystemExit(f"no installed encoder provides {sorted(required)} for {algorithm}")


class StepClock:
    """Times every training step of a run (see the module docstring) by wrapping the algorithm's hooks."""

    def __init__(self, algorithm: Any) -> None:
        self.steps: list[list[tuple[float, float]]] = []  # per task: (cpu, wall) seconds of each timed step
        self._last: tuple[float, float] | None = None
        for hook in ("on_task_start", "on_epoch_end", "after_optimizer_step"):
            setattr(algorithm, hook, self._wrap(hook, getattr(algorithm, hook)))

    def _wrap(self, hook: str, inner: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            result = inner(*args, **kwargs)
            now = (time.thread_time(), time.perf_counter())
            if hook == "on_task_start":
                self.steps.append([])
            elif hook == "after_optimizer_step" and self._last is not None:
                self.steps[-1].append((now[0] - self._last[0], now[1] - self._last[1]))
            self._last = now if hook == "after_optimizer_step" else None
            return result

        return timed


def one_run(
    registry: Registry, label: str, tasks: Sequence[Task], args: argparse.Namespace, out: Path
) -> dict[str, float]:
    name, options = VARIANTS.get(label, (label, {}))
    factory, _ = encoder_factory(registry, name, args.hidden_size)
    algorithm = registry.build("algorithm", name, options)
    clock = StepClock(algorithm)
    training = TrainingOptions(epochs=args.epochs, lr=1e-3, batch_size=32, progress=False, device="cpu")
    spec = RunSpec(
        tasks=list(tasks),
        encoder_factory=factory,
        algorithm=algorithm,
        seed=0,
        training=training,
        output_dir=out,
        config={},
        plugins=[],
        references={"random": {t.name: 50.0 for t in tasks}, "direct": {t.name: None for t in tasks}},
        confidence={"resamples": 100, "level": 0.95},
        save_checkpoints=False,
        echo=lambda line: None,
    )
    results = Runner(spec).run()
    hooks = []
    for log in results["training_log"]:
        timing = results["timing"]["per_task"][log["task"]]
        hooks.append(timing["seconds"] - timing["train_seconds"] - timing["eval_seconds"])
    last, every = clock.steps[-1], [step for task in clock.steps for step in task]
    return {
        "last_cpu_ms": 1e3 * statistics.median(c for c, _ in last),
        "last_wall_ms": 1e3 * statistics.median(w for _, w in last),
        "run_cpu_ms": 1e3 * statistics.median(c for c, _ in every),
        "hook_s_per_task": sum(hooks) / len(hooks),
    }


def methods(registry: Registry, chosen: Sequence[str] | None) -> list[str]:
    if chosen:
        return list(chosen)
    shipped = sorted(registry.names("algorithm"))
    labels: list[str] = []
    for name in shipped:
        labels.append(name)
        labels.extend(label for label, (base, options) in VARIANTS.items() if base == name and label != name)
    return labels


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--methods", nargs="*", help="method labels (default: every installed one and the variants)"
    )
    parser.add_argument("--tasks", nargs="*", type=int, default=[2, 4, 8])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    registry = Registry()
    labels = methods(registry, args.methods)
    all_tasks = digit_tasks(max(args.tasks))
    load_before = os.getloadavg()
    samples: dict[str, dict[int, list[dict[str, float]]]] = {
        label: {t: [] for t in args.tasks} for label in labels
    }
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for label in labels:  # warm-up: imports, first-call costs
            one_run(registry, label, all_tasks[: min(args.tasks)], args, Path(tmp) / f"warm-{label}")
        for repeat in range(args.repeats):
            for label in labels:
                for count in args.tasks:
                    out = Path(tmp) / f"{label}-{count}-{repeat}"
                    samples[label][count].append(one_run(registry, label, all_tasks[:count], args, out))
            print(
                f"repeat {repeat + 1}/{args.repeats} done ({time.perf_counter() - started:.0f} s, "
                f"load {os.getloadavg()[0]:.2f})",
                flush=True,
            )
    load_after = os.getloadavg()
    table: dict[str, Any] = {}
    for label in labels:
        row: dict[str, Any] = {
            "encoder": encoder_factory(registry, VARIANTS.get(label, (label, {}))[0], args.hidden_size)[1]
        }
        for count in args.tasks:
            runs = samples[label][count]
            row[f"T{count}"] = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        first, last = row[f"T{args.tasks[0]}"], row[f"T{args.tasks[-1]}"]
        row["last_ratio"] = last["last_cpu_ms"] / first["last_cpu_ms"]
        row["last_wall_ratio"] = last["last_wall_ms"] / first["last_wall_ms"]
        table[label] = row
    report = {
        "workload": "split digits x8, TinyEncoder MLP",
        "hidden_size": args.hidden_size,
        "epochs": args.epochs,
        "batch_size": 32,
        "repeats": args.repeats,
        "tasks": args.tasks,
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "load_before": load_before,
        "load_after": load_after,
        "methods": table,
        "samples": samples,
    }
    head = " ".join(f"{'T' + str(t):>7}" for t in args.tasks)
    ratio = f"T{args.tasks[-1]}/T{args.tasks[0]}"
    print(f"\nlast-task ms/step (CPU, median)        {ratio} (CPU, wall)   run ms/step CPU   hook s/task")
    print(f"{'method':<20} {'encoder':<11} {head}")
    for label, row in table.items():
        cells = " ".join(f"{row[f'T{t}']['last_cpu_ms']:7.2f}" for t in args.tasks)
        run = ", ".join(f"{row[f'T{t}']['run_cpu_ms']:.2f}" for t in args.tasks)
        hooks = ", ".join(f"{row[f'T{t}']['hook_s_per_task']:.3f}" for t in args.tasks)
        print(
            f"{label:<20} {row['encoder']:<11} {cells}  {row['last_ratio']:5.2f} "
            f"{row['last_wall_ratio']:5.2f}"
            f"   {run:<17} {hooks}"
        )
    print(f"\nload average (1, 5, 15 min) before {load_before}, after {load_after}; {os.cpu_count()} CPUs")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
