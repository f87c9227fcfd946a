"""EWC's lambda on the default benchmark: the sweep that justifies the default ``ewc_lambda``.

For each lambda, one ``climb run`` process runs EWC (every other option at its default) over the
given seeds into ``OUTPUT/lambda-<L>/``, then the script reads each run's results.json and prints a
Markdown table: lambda -> average accuracy, average maximum forgetting, BWT and each task's final
score, mean +- sample std over the seeds (also written to ``OUTPUT/ewc-lambda-sweep.{md,json}``).
Runs already complete in the output folder are skipped, so an interrupted sweep can be re-run to
finish it. lambda = 0 is sequential fine-tuning (plus the Fisher's cost).

    python benchmarks/ewc_lambda_sweep.py                      # the full sweep: 7 lambdas x seeds 0 1 2
    python benchmarks/ewc_lambda_sweep.py --quick --seeds 0 --lambdas 0 100 10000   # smoke run, ~4 min

Only ``metrics.average_accuracy``, ``metrics.average_max_forgetting``, ``metrics.bwt`` and
``accuracy_matrix`` are read (and ``tasks``, if present, for column names), so the script keeps
working when the default benchmark's encoder or tasks change or results.json gains keys.
``--quick`` trains one epoch on a few training examples per task (where the task has the
``max_train_examples`` / ``max_eval_examples`` options, as easy-VQA does): a smoke test of the script,
not numbers to choose lambda by.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

LAMBDAS = [0.0, 1.0, 10.0, 100.0, 1e3, 1e4, 1e5]
#: --quick: per-task data limits (where the task has the option) and epochs
QUICK_TRAIN_EXAMPLES, QUICK_EVAL_EXAMPLES, QUICK_EPOCHS = 96, 60, 1


def lambda_label(value: float) -> str:
    """``0``, ``100``, ``100000``, ``0.5``: the folder name part of a lambda."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def yaml_float(value: float) -> str:
    """A float that ``--set`` (YAML 1.1) reads back as a float: ``1e+20`` would be a string there."""
    text = repr(float(value))
    return text if "e" not in text and "inf" not in text and "nan" not in text else f"{float(value):.16e}"


def quick_overrides(config_path: str | None, overrides: Sequence[str]) -> list[str]:
    """``--set`` values that shrink the benchmark: one epoch, and few examples per task where the task allows."""
    from climb_harness.core.config import load_config
    from climb_harness.core.registry import Registry

    config = load_config(config_path, overrides)
    registry = Registry()
    out = [f"training.epochs={QUICK_EPOCHS}"]
    for index, task in enumerate(config["tasks"]):
        try:
            properties = registry.get("task", task["name"]).manifest.get("options", {}).get("properties", {})
        except Exception:  # noqa: BLE001 - an unknown task: let `climb run` report it
            properties = {}
        for option, value in (("max_train_examples", QUICK_TRAIN_EXAMPLES), ("max_eval_examples", QUICK_EVAL_EXAMPLES)):
            if option in properties:
                out.append(f"tasks.{index}.options.{option}={value}")
    return out


def run_lambda(value: float, args: argparse.Namespace, extra: Sequence[str]) -> bool:
    """One ``climb run`` of EWC at ``value`` over every seed; True when it exited 0."""
    climb = [sys.executable, "-c", "import sys; from climb_harness.cli import main; sys.exit(main())"]
    entry = f"[{{name: ewc, label: ewc, options: {{ewc_lambda: {yaml_float(value)}}}}}]"
    seeds = "[" + ", ".join(str(s) for s in args.seeds) + "]"
    command = [*climb, "run", "--output", str(args.output / f"lambda-{lambda_label(value)}"),
               "--set", f"algorithms={entry}", "--set", f"seeds={seeds}", "--set", "training.progress=false",
               "--set", "references.direct=false"]  # knowledge transfer is not reported here; skip its references
    if args.config:
        command += ["--config", args.config]
    for override in [*extra, *args.overrides]:
        command += ["--set", override]
    started = time.perf_counter()
    done = subprocess.run(command, env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True, check=False)
    status = "ok" if done.returncode == 0 else f"FAILED (exit {done.returncode})"
    print(f"lambda {lambda_label(value)}: {status} in {time.perf_counter() - started:.0f} s", flush=True)
    if done.returncode:
        print(done.stdout[-2000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
    return done.returncode == 0


def read_runs(folder: Path, seeds: Sequence[int]) -> list[dict[str, Any]]:
    """The complete results.json files of the wanted seeds under one lambda's folder."""
    runs = []
    for path in sorted(folder.glob("*/seed-*/results.json")):
        results = json.loads(path.read_text())
        if results.get("status", "complete") == "complete" and results.get("seed") in seeds and results.get("accuracy_matrix"):
            runs.append(results)
    return runs


def summarise(values: Sequence[float | None]) -> dict[str, float | int | None]:
    """Mean and sample std over the seeds of the defined values (``None``: undefined, e.g. T = 1)."""
    known = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not known:
        return {"mean": None, "std": None, "n": 0}
    return {"mean": statistics.fmean(known), "std": statistics.stdev(known) if len(known) > 1 else None, "n": len(known)}


def row_for(value: float, runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    metrics = [r.get("metrics") or {} for r in runs]
    finals = [r["accuracy_matrix"][-1] for r in runs]
    width = max((len(f) for f in finals), default=0)
    return {
        "lambda": value,
        "seeds": sorted(r.get("seed") for r in runs),
        "average_accuracy": summarise([m.get("average_accuracy") for m in metrics]),
        "average_max_forgetting": summarise([m.get("average_max_forgetting") for m in metrics]),
        "bwt": summarise([m.get("bwt") for m in metrics]),
        "final_scores": [summarise([f[j] if j < len(f) else None for f in finals]) for j in range(width)],
    }


def cell(stat: dict[str, Any]) -> str:
    if stat["mean"] is None:
        return "n/a"
    return f"{stat['mean']:.2f}" + (f" ± {stat['std']:.2f}" if stat["std"] is not None else "")


def markdown(rows: Sequence[dict[str, Any]], task_names: Sequence[str]) -> str:
    width = max((len(r["final_scores"]) for r in rows), default=0)
    names = [task_names[j] if j < len(task_names) else f"task {j}" for j in range(width)]
    header = ["λ", "runs", "avg acc", "AMF", "BWT", *[f"final {n}" for n in names]]
    lines = ["| " + " | ".join(header) + " |", "| --- | " + " | ".join("---:" for _ in header[1:]) + " |"]
    for r in rows:
        finals = [cell(s) for s in r["final_scores"]] + ["n/a"] * (width - len(r["final_scores"]))
        lines.append("| " + " | ".join([lambda_label(r["lambda"]), str(len(r["seeds"])), cell(r["average_accuracy"]),
                                         cell(r["average_max_forgetting"]), cell(r["bwt"]), *finals]) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lambdas", type=float, nargs="+", default=LAMBDAS, help="default: 0 1 10 100 1e3 1e4 1e5")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--output", type=Path, help="default: runs/ewc-lambda-sweep (runs/ewc-lambda-sweep-quick with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_EPOCHS} epoch, {QUICK_TRAIN_EXAMPLES} training / {QUICK_EVAL_EXAMPLES} evaluation "
                        "examples per task: a smoke run")
    parser.add_argument("--config", help="experiment config (default: the embedded default benchmark)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="extra --set for climb run")
    parser.add_argument("--no-run", action="store_true", help="only read the results already in --output")
    args = parser.parse_args(argv)
    if args.output is None:
        args.output = Path("runs/ewc-lambda-sweep-quick" if args.quick else "runs/ewc-lambda-sweep")
    extra = quick_overrides(args.config, args.overrides) if args.quick else []
    failed = []
    if not args.no_run:
        for value in args.lambdas:
            if not run_lambda(value, args, extra):
                failed.append(value)
    rows, task_names = [], []
    for value in args.lambdas:
        runs = read_runs(args.output / f"lambda-{lambda_label(value)}", args.seeds)
        if runs:
            rows.append(row_for(value, runs))
            task_names = task_names or list(runs[0].get("tasks") or [])
        else:
            print(f"lambda {lambda_label(value)}: no complete results in {args.output}", file=sys.stderr)
    table = markdown(rows, task_names)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "ewc-lambda-sweep.md").write_text(table + "\n")
    (args.output / "ewc-lambda-sweep.json").write_text(json.dumps({"seeds": args.seeds, "quick": args.quick, "rows": rows}, indent=2))
    print(table)
    return 1 if failed or len(rows) < len(args.lambdas) else 0


if __name__ == "__main__":
    sys.exit(main())
