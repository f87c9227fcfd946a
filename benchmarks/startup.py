"""Seconds of a whole small ``climb run`` process, with and without torch._dynamo kept out.

A run that compiles nothing never needs ``torch._dynamo`` (about 2 s of imports on this machine), which
torch's optimizers would import on their first step; ``climb_harness.core.lazy_dynamo`` keeps it out
(``CLIMB_EAGER_DYNAMO=1`` turns that off). Alternates the two for ``--repeats`` pairs of fresh processes
running the testing kit's tiny encoder on one synthetic task for one epoch, and prints the medians.

    python benchmarks/startup.py [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = """name: startup
encoder: tiny
algorithms: [finetune]
seeds: [0]
tasks: [{name: synthetic-colour, options: {size: 48, seed: 1}}]
training: {epochs: 1, progress: false}
references: {direct: false}
"""


def one(config: Path, out: Path, eager: bool) -> float:
    env = {**os.environ, "CLIMB_EAGER_DYNAMO": "1" if eager else "0", "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "climb_harness", "run", "--config", str(config), "--output", str(out),
                    "--plugin", "climb_harness.testing.plugin"], env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    lazy, eager = [], []
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "startup.yaml"
        config.write_text(CONFIG)
        for repeat in range(args.repeats):
            lazy.append(one(config, Path(tmp) / f"lazy{repeat}", eager=False))
            eager.append(one(config, Path(tmp) / f"eager{repeat}", eager=True))
            print(f"repeat {repeat}: lazy {lazy[-1]:.2f} s, eager {eager[-1]:.2f} s", flush=True)
    report = {"lazy_seconds": lazy, "eager_seconds": eager, "lazy_median": statistics.median(lazy),
              "eager_median": statistics.median(eager),
              "saved_median": statistics.median(e - l for e, l in zip(eager, lazy))}
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
