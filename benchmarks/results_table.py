"""Every registered method on the default benchmark, several seeds: the README's results table.

Each (method, seed) runs as its own ``climb run`` process so that its peak memory (max RSS) is its
own; runs already complete in the output folder are skipped, so the script can be re-run to finish
an interrupted table. The direct fine-tuning references are computed once and cached.

**Equal budgets.** Every replay method stores the same number of training examples over the whole
sequence (``--memory``, default :data:`MEMORY_BUDGET`), set through its own options by
:func:`memory_options`; the table shows each method's budget, so no method is ranked above another
for remembering more. Every method sees the same epochs, batches and learning rate (the config's).

**What the table says.** Scores are on the report split (epochs chosen on the selection split);
every column is the mean over seeds with its 95% interval (seed spread and the shared test examples'
evaluation noise, :func:`climb_harness.core.comparison.seed_estimate`); a method marked † did not learn
(mean knowledge transfer below -50: less than half of direct fine-tuning's gain over random), so its
low forgetting is not a finding. Methods keep the order below, not a ranking; the leaderboard printed
after the table ranks only the pairs that paired, Holm-corrected comparisons separate.

    python benchmarks/results_table.py [--seeds 0 1 2] [--output runs/results-table] [--methods ...] [--memory 150]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from climb_harness.report.grouping import Run
from climb_harness.report.leaderboard import leaderboard, leaderboard_markdown
from climb_harness.report.tables import COSTS, INTERVAL_NOTE, SCALAR_METRICS, aggregate, did_not_learn, interval_text
from climb_harness.core.results import read_results

#: Examples every replay method may store over the whole sequence of the default benchmark.
MEMORY_BUDGET = 150

#: Run label -> (algorithm, options) on the default benchmark.
METHODS: dict[str, tuple[str, dict[str, Any]]] = {
    "sequential-ft": ("sequential-ft", {}),
    "frozen-encoder": ("frozen-encoder", {}),
    "frozen-bottom-k": ("frozen-bottom-k", {"k": 0}),  # the image embeddings; k=1 would freeze vl-minilm's one fused layer too
    "direct-ft": ("direct-ft", {}),
    "multitask": ("multitask", {}),
    "ewc": ("ewc", {}),
    "experience-replay": ("experience-replay", {"replay_frequency": 5}),
    "er-reservoir": ("er-reservoir", {"replay_frequency": 5}),
    "er-ring": ("er-ring", {}),
    "agem": ("agem", {"sample_size": 64}),
    "adapters": ("adapters", {}),
    "adapters-pfeiffer": ("adapters", {"config": "pfeiffer"}),
    "adapters-lora": ("adapters", {"config": "lora"}),
    "stable-sgd": ("stable-sgd", {}),
    "ogd": ("ogd", {}),
    "mc-sgd": ("mc-sgd", {}),
    "bcl": ("bcl", {}),
}

#: Methods that store training examples (or, for OGD, gradients of them): every one takes the
#: shared option ``memory_size``, the number stored over the whole sequence (task i of T keeps
#: M // T, one more for the first M % T tasks; OGD and BCL never store the last task's share, since
#: no later task would use it).
REPLAY_METHODS = ("experience-replay", "er-reservoir", "er-ring", "agem", "mc-sgd", "ogd", "bcl")


def memory_options(name: str, total: int) -> dict[str, Any]:
    """The options that give replay method ``name`` a memory of ``total`` examples in all (``{}`` if none)."""
    return {"memory_size": total} if name in REPLAY_METHODS else {}


def table(summary: dict[str, dict[str, Any]], budgets: dict[str, int | None]) -> str:
    """The Markdown table of :func:`climb_harness.report.tables.aggregate`'s summary: every column mean [95% interval]."""
    header = ["algorithm", "seeds", "memory (examples)", *SCALAR_METRICS.values(), *COSTS.values()]
    rows = []
    for name, s in summary.items():
        budget = budgets.get(name)
        rows.append([name + (" †" if did_not_learn(s) else ""), str(s["runs"]), "—" if budget is None else str(budget),
                     *(interval_text(s[key]) for key in SCALAR_METRICS), *(interval_text(s[key], 1) for key in COSTS)])
    lines = [header, ["---"] + ["---:"] * (len(header) - 1), *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines) + "\n\n" + INTERVAL_NOTE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--output", type=Path, default=Path("runs/results-table"))
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--memory", type=int, default=MEMORY_BUDGET, help="examples every replay method stores in all")
    parser.add_argument("--config", help="experiment config (default: the embedded default benchmark)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="extra --set for climb run")
    parser.add_argument("--table-only", action="store_true", help="only tabulate the runs already in --output")
    args = parser.parse_args()
    climb = [sys.executable, "-c", "import sys; from climb_harness.cli import main; sys.exit(main())"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    budgets: dict[str, int | None] = {}
    for label in args.methods:
        name, options = METHODS.get(label, (label, {}))
        budget_options = memory_options(name, args.memory)
        budgets[label] = args.memory if budget_options else None
        for seed in [] if args.table_only else args.seeds:
            entry = json.dumps([{"name": name, "label": label, "options": {**options, **budget_options}}])
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
    runs = [Run(read_results(p), p) for p in sorted(args.output.glob("*/seed-*/results.json"))]
    runs = [r for r in runs if r.complete and r.label in args.methods and r.seed in args.seeds]
    order = {label: i for i, label in enumerate(args.methods)}
    runs.sort(key=lambda r: (order.get(r.label, 99), r.seed))
    summary = aggregate(runs)
    text = table(summary, budgets) + "\n\n" + leaderboard_markdown(leaderboard(runs))
    (args.output / "results-table.md").write_text(text + "\n")
    (args.output / "results-table.json").write_text(json.dumps({"memory_budget": args.memory, "budgets": budgets,
                                                                "summary": summary}, indent=2))
    print(text)


if __name__ == "__main__":
    main()
