"""Harness training throughput against a bare PyTorch loop doing the same steps.

Two workloads, both in one process with the two sides alternating (bare, harness, bare, ...):

``--workload vqa`` (default): the default vl-minilm (or ``--encoder``) on one easy-VQA task: same
pre-collated batches in the same order, same AdamW + linear schedule. The harness side is a real
Runner whose per-epoch ``train_seconds`` (training only, validation excluded) is summed; the bare
side is a plain loop over ``model.loss``. Prints the ratio harness/bare throughput (target >= 0.97).

``--workload split-digits``: the harness's overhead where it is most visible, on a model so small
that a step costs well under a millisecond: an MLP (the testing kit's TinyEncoder over the 8x8
image, ``--hidden-size`` 64, 2 residual layers) on scikit-learn's real digits split into 5 two-class
tasks (0/1, 2/3, ..., 8/9; the vision plugin's 60/20/20 split), batch 32, sequential fine-tuning,
20 epochs per task: 700 optimizer steps. The bare twin runs interleaved epoch by epoch (an observer
of the harness run trains one bare epoch after each harness epoch), so both sides of each pair see
the same CPU state; this machine's speed drifts by +-30% between seconds, which alternating whole
runs cannot cancel. Reports the harness/bare *time* ratio of the training loops per run (target
<= 1.05): median, range and quartiles over ``--repeats`` runs, and the whole harness run's seconds.

    python benchmarks/throughput.py [--workload vqa|split-digits] [--repeats 5] [--epochs N]
                                    [--encoder NAME] [--encoder-options JSON]
                                    [--precision fp32|bf16|fp16] [--device auto] [--json out.json]

Both sides use the same ``--precision`` (autocast, and a gradient scaler for fp16).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from climb_harness.api import API_VERSION, Algorithm, Example, Task  # noqa: E402
from climb_harness.core.heads import ContinualModel  # noqa: E402
from climb_harness.core.registry import Registry  # noqa: E402
from climb_harness.core.engine import Runner, RunSpec, TrainingOptions, build_optimizer, linear_schedule, seed_everything  # noqa: E402


def harness_seconds(registry: Registry, args: argparse.Namespace, out: Path) -> tuple[float, int]:
    task = registry.build("task", args.task, {"max_train_examples": args.examples, "max_eval_examples": 32})
    training = TrainingOptions(epochs=args.epochs, lr=1e-4, batch_size=args.batch_size, progress=False, device=args.device,
                               precision=args.precision, compile=args.compile)
    spec = RunSpec(tasks=[task], encoder_factory=lambda: registry.build("encoder", args.encoder, args.encoder_options),
                   algorithm=Algorithm(),
                   seed=0, training=training, output_dir=out, config={}, plugins=[],
                   references={"random": {task.name: 0.0}, "direct": {task.name: None}})
    results = Runner(spec).run()
    epochs = results["training_log"][0]["epochs"]
    return sum(e["train_seconds"] for e in epochs), sum(int(e["steps"]) for e in epochs)


def bare_seconds(registry: Registry, args: argparse.Namespace) -> tuple[float, int]:
    """What a researcher would write by hand: the same model, batches, optimizer and schedule."""
    device = torch.device(args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu"))
    task = registry.build("task", args.task, {"max_train_examples": args.examples, "max_eval_examples": 32})
    seed_everything(0)
    encoder = registry.build("encoder", args.encoder, args.encoder_options)
    encoder.adapt_to_tasks([task.info])
    model = ContinualModel(encoder, {task.name: task.info}).to(device)
    if args.compile:
        model.encoder.compile()
    examples = task.examples("train")
    from climb_harness.core.heads import targets_tensor

    tensors = encoder.collate(examples, task.info)
    targets = targets_tensor(examples, task.info)
    options = TrainingOptions()
    optimizer = build_optimizer(model, 1e-4, options)
    steps_per_epoch = (len(examples) + args.batch_size - 1) // args.batch_size
    scheduler = linear_schedule(optimizer, args.epochs * steps_per_epoch, options.warmup_ratio)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(args.precision)
    scaler = torch.amp.GradScaler(device.type) if args.precision == "fp16" else None

    def autocast():
        return torch.autocast(device_type=device.type, dtype=dtype) if dtype else contextlib.nullcontext()

    total, steps = 0.0, 0
    for epoch in range(args.epochs):
        generator = torch.Generator().manual_seed(epoch)
        order = torch.randperm(len(examples), generator=generator)
        model.train()
        started = time.perf_counter()
        running = torch.zeros((), device=device)
        for start in range(0, len(order), args.batch_size):
            index = order[start : start + args.batch_size]
            batch = {k: v[index].to(device, non_blocking=True) for k, v in tensors.items()}
            batch["targets"] = targets[index].to(device, non_blocking=True)
            with autocast():
                loss = model.loss(task.name, batch)
            optimizer.zero_grad(set_to_none=True)
            if scaler is None:
                loss.backward()
                optimizer.step()
            else:
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
                scaler.step(optimizer)
                scaler.update()
            scheduler.step()
            running += loss.detach()
            steps += 1
        float(running)
        total += time.perf_counter() - started
    return total, steps


# ---------------------------------------------------------------------------------------- split digits
DIGIT_PAIRS = [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)]


def split_digits_tasks() -> list[Task]:
    """Five two-class tasks of scikit-learn's digits (labels 0/1 within each task)."""
    from climb_vision_tasks.digits import load_images, split_per_class

    images, labels = load_images()
    parts = split_per_class(labels)
    tasks = []
    for low, high in DIGIT_PAIRS:
        name = f"digits-{low}{high}"
        task = _SplitDigits({})
        task.manifest = {"name": name, "kind": "task", "api_version": API_VERSION, "summary": f"digits {low} vs {high}",
                         "modality": "vision", "images_per_example": 1,
                         "head": {"type": "classification", "num_labels": 2}, "metric": "accuracy",
                         "random_baseline": 50.0, "defaults": {"epochs": 20, "lr": 1e-3, "batch_size": 32}}
        task.data = {split: [Example(None, (images[i],), target=int(labels[i] == high), id=str(i))
                             for i in indices if labels[i] in (low, high)] for split, indices in parts.items()}
        tasks.append(task)
    return tasks


class _SplitDigits(Task):
    data: dict[str, list[Example]]

    def examples(self, split: str) -> list[Example]:
        return self.data[split]


class BareLoop:
    """The loop a researcher would write: one multi-head model, per task a fresh AdamW + linear warm-up,
    shuffled batches of pre-collated tensors, loss, backward, step; driven one epoch at a time."""

    def __init__(self, args: argparse.Namespace, tasks: list[Task]) -> None:
        from climb_harness.testing.components import TinyEncoder

        self.args, self.tasks = args, tasks
        self.device = torch.device(args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu"))
        seed_everything(0)
        self.encoder = TinyEncoder({"hidden_size": args.hidden_size})
        self.model = ContinualModel(self.encoder, {t.name: t.info for t in tasks}).to(self.device)
        self.current = -1
        self.steps = 0

    def _start_task(self, number: int) -> None:
        from climb_harness.core.heads import targets_tensor

        task, options = self.tasks[number], TrainingOptions()
        examples = task.examples("train")
        self.tensors = {k: v.to(self.device) for k, v in self.encoder.collate(examples, task.info).items()}
        self.targets = targets_tensor(examples, task.info).to(self.device)
        self.optimizer = build_optimizer(self.model, 1e-3, options)
        steps_per_epoch = (len(examples) + 31) // 32
        self.scheduler = linear_schedule(self.optimizer, self.args.epochs * steps_per_epoch, options.warmup_ratio)
        self.current = number

    def epoch(self, number: int, epoch: int) -> float:
        """Train task ``number`` for one epoch; the seconds of its loop."""
        if number != self.current:
            self._start_task(number)
        name, model, optimizer, scheduler = self.tasks[number].name, self.model, self.optimizer, self.scheduler
        order = torch.randperm(len(self.targets), generator=torch.Generator().manual_seed(number * 1009 + epoch))
        started = time.perf_counter()
        model.train()
        running = torch.zeros((), device=self.device)
        for start in range(0, len(order), 32):
            index = order[start : start + 32]
            batch = {k: v[index] for k, v in self.tensors.items()}
            batch["targets"] = self.targets[index]
            loss = model.loss(name, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            running += loss.detach()
            self.steps += 1
        float(running)
        return time.perf_counter() - started


class Interleaved:
    """Observer of a harness run: after each harness epoch, one bare epoch of the same task (so both
    sides of every pair run within milliseconds of each other, on the same CPU state)."""

    def __init__(self, bare: BareLoop) -> None:
        self.bare = bare
        self.pairs: list[tuple[float, float]] = []  # (harness loop seconds, bare loop seconds)

    def climb_epoch_end(self, task_index: int, epoch: int, logs: Any, **_: Any) -> None:
        self.pairs.append((float(logs["train_seconds"]), self.bare.epoch(task_index, epoch)))


def digits_run(args: argparse.Namespace, tasks: list[Task], out: Path) -> tuple[list[tuple[float, float]], float, int, int]:
    """One harness run over the five tasks, a bare twin interleaved epoch by epoch: (pairs, seconds of
    the whole harness run less the bare epochs, harness steps, bare steps)."""
    from climb_harness.testing.components import TinyEncoder

    training = TrainingOptions(epochs=args.epochs, lr=1e-3, batch_size=32, progress=False, device=args.device,
                               precision=args.precision)
    twin = Interleaved(BareLoop(args, tasks))
    spec = RunSpec(tasks=tasks, encoder_factory=lambda: TinyEncoder({"hidden_size": args.hidden_size}),
                   algorithm=Algorithm(), seed=0, training=training, output_dir=out, config={}, plugins=[],
                   references={"random": {t.name: 50.0 for t in tasks}, "direct": {t.name: None for t in tasks}},
                   save_checkpoints=False, hooks=twin)
    started = time.perf_counter()
    results = Runner(spec).run()
    wall = time.perf_counter() - started - sum(b for _, b in twin.pairs)
    steps = sum(int(e["steps"]) for task in results["training_log"] for e in task["epochs"])
    return twin.pairs, wall, steps, twin.bare.steps


def split_digits(args: argparse.Namespace) -> dict:
    if args.precision != "fp32":
        raise SystemExit("--workload split-digits measures the fp32 loop (the bare twin has no autocast)")
    tasks = split_digits_tasks()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        digits_run(args, tasks, Path(tmp) / "warm")  # warm-up
        for repeat in range(args.repeats):
            pairs, wall, harness_steps, bare_steps = digits_run(args, tasks, Path(tmp) / f"run{repeat}")
            assert harness_steps == bare_steps, (harness_steps, bare_steps)
            harness, bare = sum(h for h, _ in pairs), sum(b for _, b in pairs)
            runs.append({"harness_loop_s": harness, "bare_loop_s": bare, "ratio": harness / bare, "harness_run_s": wall,
                         "epoch_ratios_median": statistics.median(h / b for h, b in pairs)})
            print(f"repeat {repeat}: bare {bare:.3f} s, harness loop {harness:.3f} s (x{harness / bare:.3f}), "
                  f"whole harness run {wall:.3f} s", flush=True)
    ratios = sorted(r["ratio"] for r in runs)
    report = {"workload": "split-digits", "steps_per_run": harness_steps, "batch_size": 32, "epochs": args.epochs,
              "hidden_size": args.hidden_size, "device": str(args.device), "torch_threads": torch.get_num_threads(),
              "runs": runs, "median_ratio": statistics.median(ratios), "ratio_range": [ratios[0], ratios[-1]],
              "ratio_quartiles": statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3}
    print(json.dumps(report, indent=2))
    print(f"harness/bare training-loop time over {harness_steps} steps: median x{report['median_ratio']:.3f} of "
          f"{len(ratios)} interleaved runs (range x{ratios[0]:.3f}..x{ratios[-1]:.3f}; target <= 1.05)")
    return report


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", choices=["vqa", "split-digits"], default="vqa")
    parser.add_argument("--hidden-size", type=int, default=64, help="split-digits: the MLP's width")
    parser.add_argument("--task", default="easyvqa-color")
    parser.add_argument("--encoder", default="vl-minilm")
    parser.add_argument("--examples", type=int, default=800)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, help="per task (default: 2 for vqa, 20 for split-digits)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--encoder-options", type=json.loads, default={}, help="JSON options of the encoder")
    parser.add_argument("--precision", choices=["fp32", "bf16", "fp16"], default="fp32")
    parser.add_argument("--compile", action="store_true", help="vqa: torch.compile the encoder on both sides")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.workload == "split-digits":
        args.epochs = args.epochs or 20
        report = split_digits(args)
        if args.json:
            args.json.write_text(json.dumps(report, indent=2))
        return report
    args.epochs = args.epochs or 2
    registry = Registry()
    bare, harness = [], []
    with tempfile.TemporaryDirectory() as tmp:
        bare_seconds(registry, args)  # warm-up (allocator, kernels, caches)
        for repeat in range(args.repeats):
            seconds, bare_steps = bare_seconds(registry, args)
            bare.append(bare_steps / seconds)
            seconds, harness_steps = harness_seconds(registry, args, Path(tmp) / f"run{repeat}")
            harness.append(harness_steps / seconds)
            assert bare_steps == harness_steps, (bare_steps, harness_steps)
            print(f"repeat {repeat}: bare {bare[-1]:.2f} steps/s, harness {harness[-1]:.2f} steps/s", flush=True)
    ratio = statistics.median(harness) / statistics.median(bare)
    report = {"task": args.task, "encoder": args.encoder, "encoder_options": args.encoder_options, "precision": args.precision,
              "steps_per_run": bare_steps, "batch_size": args.batch_size,
              "device": str(args.device), "torch_threads": torch.get_num_threads(),
              "bare_steps_per_s": bare, "harness_steps_per_s": harness, "ratio_of_medians": ratio}
    print(json.dumps(report, indent=2))
    print(f"harness/bare throughput ratio: {ratio:.3f} (target >= 0.97)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
