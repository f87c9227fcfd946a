"""Harness training throughput against a bare PyTorch loop doing the same steps.

Same process, same model (the default vl-minilm on easy-VQA, or ``--encoder``), same pre-collated
batches in the same order, same AdamW + linear schedule. The harness side is a real Runner whose
per-epoch ``train_seconds`` (training only, validation excluded) is summed; the bare side is a
plain loop over ``model.loss``. Runs alternate (bare, harness, bare, ...) and the medians are
compared. Prints the ratio harness/bare throughput (target >= 0.97) and writes JSON with --json.

    python benchmarks/throughput.py [--repeats 5] [--epochs 2] [--encoder NAME] [--encoder-options JSON]
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

from climb_harness.api import Algorithm  # noqa: E402
from climb_harness.heads import ContinualModel  # noqa: E402
from climb_harness.registry import Registry  # noqa: E402
from climb_harness.runner import Runner, RunSpec, TrainingOptions, build_optimizer, linear_schedule, seed_everything  # noqa: E402


def harness_seconds(registry: Registry, args: argparse.Namespace, out: Path) -> tuple[float, int]:
    task = registry.build("task", args.task, {"max_train_examples": args.examples, "max_eval_examples": 32})
    training = TrainingOptions(epochs=args.epochs, lr=1e-4, batch_size=args.batch_size, progress=False, device=args.device,
                               precision=args.precision)
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
    examples = task.examples("train")
    from climb_harness.heads import targets_tensor

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


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="easyvqa-color")
    parser.add_argument("--encoder", default="vl-minilm")
    parser.add_argument("--examples", type=int, default=800)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--encoder-options", type=json.loads, default={}, help="JSON options of the encoder")
    parser.add_argument("--precision", choices=["fp32", "bf16", "fp16"], default="fp32")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
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
