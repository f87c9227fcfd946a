"""The default benchmark end to end, Phase I and Phase II, and its report under ``docs/default-report/``.

    python benchmarks/default_report.py [--runs runs/default-report] [--docs docs/default-report]

1. ``climb run`` (the embedded default: easy-VQA shape -> colour -> yes/no with ``vl-minilm``, five
   methods, seeds 0, 1 and 2) into ``RUNS/phase1``;
2. ``climb transfer`` of the first seed's runs: every run's final checkpoint to the offline unimodal tasks (Fashion-MNIST,
   digits, WordNet supersenses; 16 per class, seeds 10, 50, 100, CLiMB's lr 4e-5 and 10 epochs; 500
   evaluation examples of Fashion-MNIST and WordNet) and of each checkpoint to the later easy-VQA
   tasks, into ``RUNS/phase2``;
3. ``climb report`` of both into ``DOCS`` (``report.md`` and its figures; the committed copy).

Each step resumes what is already there, so an interrupted script is rerun as is. The times of each step
are printed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

TRANSFER = ["--tasks", "fashion-mnist,digits,wordnet-supersense", "--shots", "16/class",
            "--option", "fashion-mnist.max_eval_examples=500", "--option", "wordnet-supersense.max_eval_examples=500"]


def climb(*args: str) -> None:
    started = time.perf_counter()
    command = [str(Path(sys.executable).with_name("climb")), *args]
    print("$ climb " + " ".join(args), flush=True)
    subprocess.run(command, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("runs/default-report"))
    parser.add_argument("--docs", type=Path, default=Path("docs/default-report"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="Phase I seeds (the leaderboard ranks pairs only on paired seeds); Phase II transfers "
                             "the first seed's checkpoints")
    args = parser.parse_args()
    phase1, phase2 = args.runs / "phase1", args.runs / "phase2"
    climb("run", "--output", str(phase1), "--set", f"seeds={args.seeds}", "--resume")
    resume = ["--resume"] if (phase2 / "cells").is_dir() else []
    first = [str(p) for p in sorted(phase1.glob(f"*/seed-{args.seeds[0]}"))]  # Phase II: one upstream seed
    climb("transfer", *first, *TRANSFER, "--output", str(phase2), *resume)
    climb("report", str(phase1), str(phase2), "--output", str(args.docs), "--format", "md")


if __name__ == "__main__":
    main()
