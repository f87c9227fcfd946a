"""EWC's exact Fisher: the layer-hook path against the one-example-at-a-time loop (and vmap where it runs).

Each workload estimates the same Fisher (``fisher_sample_percentage`` 1.0 of ``--examples`` training examples,
batches of ``--batch-size``) with ``fisher_backend`` hooks, loop and vmap, alternating (hooks, loop, vmap,
hooks, ...) for ``--repeats`` rounds after one warm-up round, and prints the median seconds of each, the
loop/hooks ratio, and how far the hook Fisher is from the loop's (largest difference over the largest entry
of any parameter's Fisher). Thread CPU seconds are reported next to wall seconds (the machine is shared).

Workloads (``--workloads``):

* ``digits``: the split-digits MLP of ``benchmarks/cost_vs_tasks.py`` (TinyEncoder, hidden 64) on digits 0/1;
* ``vl-minilm``, ``vilt``, ``vilt-bert``: the encoders' manifest ``test_options`` (tiny configurations) on the
  testing kit's synthetic colour task;
* ``vl-minilm-default``: the default benchmark's encoder at its default options (frozen EfficientNet and
  MiniLM layers in collate, one trainable fused MiniLM layer) on the synthetic colour task.

vmap fails on every Hugging Face encoder (data-dependent control flow, random ops): its cell says so.

    python benchmarks/fisher_cost.py [--workloads digits vl-minilm ...] [--examples 96] [--batch-size 32]
                                     [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

from climb_harness.core.data import load_split
from climb_harness.core.heads import ContinualModel
from climb_harness.core.registry import Registry
from climb_harness.core.engine import Context, TrainingOptions, seed_everything

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cost_vs_tasks import digit_tasks

WORKLOADS = ("digits", "vl-minilm", "vilt", "vilt-bert", "vl-minilm-default")
BACKENDS = ("hooks", "loop", "vmap")


def context(registry: Registry, workload: str, examples: int, batch_size: int) -> tuple[Context, str]:
    """The runner's Context over one task and a fresh model, weights moved off their initial values."""
    from climb_harness.testing.components import TinyEncoder, synthetic_task

    seed_everything(0)
    if workload == "digits":
        task = digit_tasks(1)[0]
        encoder = TinyEncoder({"hidden_size": 64})
    else:
        task = synthetic_task("colours", "colour", size=examples, seed=1)
        name = "vl-minilm" if workload == "vl-minilm-default" else workload
        options = (
            {}
            if workload == "vl-minilm-default"
            else dict(registry.get("encoder", name).manifest.get("test_options", {}))
        )
        encoder = registry.build("encoder", name, options)
    encoder.adapt_to_tasks([task.info])
    model = ContinualModel(encoder, {task.name: task.info})
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.02 * torch.randn_like(p))
    split = load_split(task, "train", encoder, True)
    training = TrainingOptions(batch_size=batch_size, progress=False, device="cpu")
    ctx = Context(
        model,
        torch.device("cpu"),
        0,
        [task.name],
        {task.name: task.info},
        {task.name: split},
        training,
        {task.name: batch_size},
    )
    return ctx, task.name


def estimate(
    registry: Registry, ctx: Context, task: str, backend: str, examples: int
) -> tuple[float, float, Any]:
    """``(wall s, CPU s, Fisher or the error)`` of one estimate."""
    share = min(1.0, examples / ctx.num_train_examples(task))
    ewc = registry.build(
        "algorithm",
        "ewc",
        {"fisher_backend": backend, "fisher_sample_percentage": share, "fisher_max_batches": None},
    )
    wall, cpu = time.perf_counter(), time.thread_time()
    try:
        fisher: Any = ewc.estimate_fisher(ctx, task)
    except RuntimeError as exc:
        fisher = f"fails: {str(exc.__cause__ or exc)[:80]}"
    return time.perf_counter() - wall, time.thread_time() - cpu, fisher


def gap(fisher: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]) -> float:
    scale = max(float(r.abs().max()) for r in reference.values())
    return max(float((fisher[n] - reference[n]).abs().max()) for n in reference) / scale


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", nargs="*", default=list(WORKLOADS), choices=WORKLOADS)
    parser.add_argument("--examples", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    registry = Registry()
    report: dict[str, Any] = {
        "examples": args.examples,
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "torch_threads": 1,
        "load_before": os.getloadavg(),
        "workloads": {},
    }
    for workload in args.workloads:
        ctx, task = context(registry, workload, args.examples, args.batch_size)
        times: dict[str, list[tuple[float, float]]] = {b: [] for b in BACKENDS}
        fishers: dict[str, Any] = {}
        for round_ in range(args.repeats + 1):
            for backend in BACKENDS:
                if isinstance(fishers.get(backend), str):
                    continue  # vmap failed once: it fails every time
                wall, cpu, fisher = estimate(registry, ctx, task, backend, args.examples)
                fishers[backend] = fisher
                if round_ and not isinstance(fisher, str):  # round 0 warms up
                    times[backend].append((wall, cpu))
        row: dict[str, Any] = {}
        for backend in BACKENDS:
            if isinstance(fishers[backend], str):
                row[backend] = fishers[backend]
                continue
            row[backend] = {
                "wall_s": statistics.median(w for w, _ in times[backend]),
                "cpu_s": statistics.median(c for _, c in times[backend]),
                "gap_to_loop": gap(fishers[backend], fishers["loop"]),
            }
        row["loop_over_hooks_cpu"] = row["loop"]["cpu_s"] / row["hooks"]["cpu_s"]
        row["loop_over_hooks_wall"] = row["loop"]["wall_s"] / row["hooks"]["wall_s"]
        report["workloads"][workload] = row
        cells = []
        for backend in BACKENDS:
            value = row[backend]
            cells.append(
                f"{backend} {value}"
                if isinstance(value, str)
                else f"{backend} {value['cpu_s']:.3f} s CPU / {value['wall_s']:.3f} s wall "
                f"(gap {value['gap_to_loop']:.1e})"
            )
        print(
            f"{workload}: " + "; ".join(cells) + f"; loop/hooks x{row['loop_over_hooks_cpu']:.2f} CPU, "
            f"x{row['loop_over_hooks_wall']:.2f} wall",
            flush=True,
        )
    report["load_after"] = os.getloadavg()
    print(f"load average before {report['load_before']}, after {report['load_after']}; {os.cpu_count()} CPUs")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
