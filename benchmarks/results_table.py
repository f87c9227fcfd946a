"""Every registered method on the default benchmark, several seeds: the README's results table.

Each (method, seed) runs as its own ``climb run`` process so that its peak memory (max RSS) is its
own; runs already complete in the output folder are skipped, so the script can be re-run to finish
an interrupted table. The direct fine-tuning references are computed once and cached.

    python benchmarks/results_table.py [--seeds 0 1 2] [--output runs/results-table] [--methods ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from climb_harness.report import aggregate, aggregate_table

#: Run label -> (algorithm, options) on the default benchmark (~25 steps an epoch, so replay fires often).
METHODS: dict[str, tuple[str, dict]] = {
    "sequential-ft": ("sequential-ft", {}),
    "frozen-encoder": ("frozen-encoder", {}),
    "frozen-bottom-k": ("frozen-bottom-k", {"k": 1}),
    "direct-ft": ("direct-ft", {}),
    "multitask": ("multitask", {}),
    "ewc": ("ewc", {}),
    "experience-replay": ("experience-replay", {"replay_frequency": 5}),
    "er-reservoir": ("er-reservoir", {"replay_frequency": 5, "memory_size": 200}),
    "er-ring": ("er-ring", {"memories_per_task": 50}),
    "agem": ("agem", {"memories_per_task": 50, "sample_size": 64}),
    "adapters": ("adapters", {}),
    "adapters-pfeiffer": ("adapters", {"config": "pfeiffer"}),
    "adapters-lora": ("adapters", {"config": "lora"}),
    "stable-sgd": ("stable-sgd", {}),
    "ogd": ("ogd", {}),
    "mc-sgd": ("mc-sgd", {}),
    "bcl": ("bcl", {}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--output", type=Path, default=Path("runs/results-table"))
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--config", help="experiment config (default: the embedded default benchmark)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="extra --set for climb run")
    args = parser.parse_args()
    climb = [sys.executable, "-c", "import sys; from climb_harness.cli import main; sys.exit(main())"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    for label in args.methods:
        for seed in args.seeds:
            name, options = METHODS.get(label, (label, {}))
            entry = json.dumps([{"name": name, "label": label, "options": options}])
            command = [*climb, "run", "--output", str(args.output), "--set", f"algorithms={entry}", "--set", f"seeds=[{seed}]",
                       "--set", "training.progress=false"]
            if args.config:
                command += ["--config", args.config]
            for override in args.overrides:
                command += ["--set", override]
            started = time.perf_counter()
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            status = "ok" if done.returncode == 0 else f"FAILED ({done.returncode})"
            print(f"{label} seed {seed}: {status} in {time.perf_counter() - started:.0f} s", flush=True)
            if done.returncode:
                print(done.stdout[-2000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
    results = [json.loads(p.read_text()) for p in sorted(args.output.glob("*/seed-*/results.json"))]
    results = [r for r in results if r.get("status") == "complete" and r["algorithm"] in args.methods and r["seed"] in args.seeds]
    order = {label: i for i, label in enumerate(args.methods)}
    results.sort(key=lambda r: (order.get(r["algorithm"], 99), r["seed"]))
    table = aggregate_table(results)
    (args.output / "results-table.md").write_text(table + "\n")
    (args.output / "results-table.json").write_text(json.dumps(aggregate(results), indent=2))
    print(table)


if __name__ == "__main__":
    main()
