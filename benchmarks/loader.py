"""The data pipeline on a generated VQAv2-format set: examples per second and peak memory.

    python benchmarks/loader.py [--questions 5000 20000] [--images 2000] [--batches 40] [--workers 0 1 2]

Writes a VQAv2 release (questions and annotations JSON in the official layout, COCO-named JPEGs at
CLiMB's resolution, 640x480) into a temporary folder, then, each in a fresh process:

* **throughput**: batches of the ``vqav2`` task's training split collated by the ``vilt`` encoder
  (CLiMB's preprocessing: shorter side 384, longer at most 640) through the harness's pipeline
  (``climb_harness.core.data.iterate_batches``) with 0, 1 and 2 DataLoader workers, in examples per
  second, against the time of one training step of a small ViLT on the same batches;
* **memory**: the peak RSS of loading the split and iterating ``--batches`` batches with
  ``preload: false`` (workers collate batch by batch), at each ``--questions`` size, and what
  ``preload: auto`` decides there (the whole split collated up front, what the harness always did
  before, takes about 2.4 MB per example at 384x512: 48 GB for 20,000 questions).

Needs the climb-vqav2 and climb-vilt plugins. CPU numbers on this machine are in README.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SMALL_VILT = {"hidden_size": 192, "num_hidden_layers": 2, "num_attention_heads": 3, "intermediate_size": 384,
              "image_size": 384, "patch_size": 32}


def write_release(root: Path, questions: int, images: int) -> Path:
    """A VQAv2-format folder: ``questions`` train questions over ``images`` images (val: a tenth)."""
    from PIL import Image

    root.mkdir(parents=True, exist_ok=True)
    answers = ["yes", "no", "2", "red", "dog", "blue", "3", "cat", "table", "white"]
    for source, n_q, n_img in (("train2014", questions, images), ("val2014", max(10, questions // 10), max(4, images // 10))):
        (root / source).mkdir(exist_ok=True)
        for i in range(n_img):
            path = root / source / f"COCO_{source}_{i + 1:012d}.jpg"
            if not path.exists():
                Image.new("RGB", (640, 480), ((i * 37) % 256, (i * 91) % 256, 120)).save(path, quality=85)
        qs, anns = [], []
        for q in range(n_q):
            image_id, answer = q % n_img + 1, answers[q % len(answers)]
            qs.append({"question_id": q + 1, "image_id": image_id, "question": f"what is shown in picture {image_id} number {q}?"})
            anns.append({"question_id": q + 1, "image_id": image_id, "question_type": "what", "answer_type": "other",
                         "multiple_choice_answer": answer,
                         "answers": [{"answer": answer, "answer_confidence": "yes", "answer_id": k + 1} for k in range(10)]})
        (root / f"v2_OpenEnded_mscoco_{source}_questions.json").write_text(json.dumps({"questions": qs}))
        (root / f"v2_mscoco_{source}_annotations.json").write_text(json.dumps({"annotations": anns}))
    return root


def _child(args: argparse.Namespace) -> None:
    """One measurement, in its own process (so ru_maxrss is its own)."""
    import resource

    import torch

    from climb_harness.core.data import SplitData, iterate_batches
    from climb_harness.core.registry import Registry

    torch.set_num_threads(1)
    registry = Registry()
    task = registry.build("task", "vqav2", {"data_dir": args.data, "num_answers": 10, "min_answer_count": 1})
    encoder = registry.build("encoder", "vilt", SMALL_VILT)
    encoder.adapt_to_tasks([task.info])
    examples = task.examples("train")
    started = time.perf_counter()
    preload = {"true": True, "false": False}.get(args.preload, args.preload)
    split = SplitData(examples, task.info, encoder, preload, memory_budget_mb=args.budget)
    plan = [("vqav2", list(range(i * 32, i * 32 + 32))) for i in range(min(args.batches, len(examples) // 32))]
    seen = 0
    for _, _, batch in iterate_batches({"vqav2": split}, plan, workers=args.workers):
        seen += len(batch["targets"])
    seconds = time.perf_counter() - started
    out = {"examples_per_second": seen / seconds, "seconds": seconds,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "workers_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
           "preloaded": split.preloaded, "estimated_mb": split.estimated_mb}
    if args.step_time:
        batch = {k: v for k, v in split.batch(plan[0][1]).items() if k != "targets"}
        model = encoder
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        times = []
        for _ in range(4):
            t = time.perf_counter()
            optimizer.zero_grad()
            model(batch).float().pow(2).mean().backward()
            optimizer.step()
            times.append(time.perf_counter() - t)
        out["step_seconds"] = sorted(times)[len(times) // 2]
    print(json.dumps(out))


def measure(data: Path, preload: str, workers: int, batches: int, step_time: bool = False, budget: float = 4096.0) -> dict:
    command = [sys.executable, __file__, "--child", "--data", str(data), "--preload", preload, "--workers", str(workers),
               "--batches", str(batches), "--budget", str(budget)] + (["--step-time"] if step_time else [])
    proc = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, check=False)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--preload", default="false", help=argparse.SUPPRESS)
    parser.add_argument("--budget", type=float, default=4096.0, help="memory_budget_mb for the preload: auto run")
    parser.add_argument("--step-time", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.workers = args.workers[0]
        _child(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.questions:
            data = write_release(Path(tmp) / f"vqav2-{n}", n, args.images)
            print(f"{n} questions over {args.images} images:", flush=True)
            for workers in args.workers:
                r = measure(data, "false", workers, args.batches, step_time=workers == 0)
                step = f", model step {r['step_seconds']:.3f} s per batch of 32" if "step_seconds" in r else ""
                print(f"  preload false, {workers} worker(s): {r['examples_per_second']:.0f} examples/s, peak RSS "
                      f"{r['peak_rss_mb']:.0f} MB (workers {r['workers_peak_rss_mb']:.0f} MB){step}", flush=True)
            r = measure(data, "auto", 0, args.batches, budget=args.budget)
            decision = "preloaded" if r["preloaded"] else "not preloaded (batches collated on demand)"
            estimate = f"estimated {r['estimated_mb']:.0f} MB collated" if r["estimated_mb"] is not None else "small split"
            print(f"  preload auto (budget {args.budget:.0f} MB): {estimate}, {decision}; {r['seconds']:.1f} s, "
                  f"peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)


if __name__ == "__main__":
    main()
