"""Phase II (``climb transfer``): low-shot fine-tuning of each upstream checkpoint on tasks it has not seen.

CLiMB's second question: does upstream continual learning help an encoder learn *new* tasks from few
examples? A **cell** is one (upstream model, target task, low-shot size, seed): the encoder is rebuilt
from the Phase I run's config, adapted to the tasks its checkpoint records, given the checkpoint's
encoder weights, and fully fine-tuned with a fresh head on the seed's low-shot sample
(:mod:`climb_harness.transfer.lowshot`), the epoch chosen on the selection split and scored (with a bootstrap
interval) on the report split, exactly as a Phase I task is. The **pretrained** source does the same
from the encoder as the upstream run built it before learning anything (``pretrained/seed-<s>``: the
pretrained weights, and any randomly initialised parts drawn with the upstream run's seed ``s``): the
reference every upstream score of that run is compared with, cell by cell on the same sample and seed.
So an upstream model whose encoder never changed (``frozen-encoder``) transfers exactly like the
reference (low-shot transfer 0), and any difference is what upstream learning did.

Targets:

* the run's later multimodal tasks: the checkpoint after task ``i`` on every task ``j > i`` (CLiMB);
* the tasks named with ``--tasks`` (language-only, vision-only, or others), from the final checkpoint
  of each run (``--checkpoints all``: from every checkpoint).

Layout of the output folder::

    transfer.json         cells and summary (schemas/transfer.schema.json), rewritten after each cell
    cells/<cell>.json     one finished cell each, written atomically: what ``--resume`` keeps

Parameters an algorithm added to the encoder (e.g. adapters) are not part of the encoder being
transferred: they are left out, and each cell says how many tensors were (``ignored_tensors``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from climb_harness.api import Algorithm, Task
from climb_harness.api.errors import RunError, UsageError
from climb_harness.transfer.lowshot import LowShotTask, Shots, default_shots
from climb_harness.core.metrics import LOW_SHOT_UNDEFINED, low_shot_transfer
from climb_harness.core.registry import Registry
from climb_harness.core.comparison import mean_std
from climb_harness.core.io import ensure_dir, write_json
from climb_harness.core.messages import clip
from climb_harness.core.provenance import now
from climb_harness.core.results import RESULTS_FILE, read_results

__all__ = ["CELLS_DIR", "CLIMB_EPOCHS", "CLIMB_LR", "CLIMB_SEEDS", "PRETRAINED", "TRANSFER_FILE", "Cell", "Source", "TargetTask", "Transfer", "UpstreamRun", "cell_problem", "find_runs", "is_reference", "pretrained_source", "read_transfer", "summarise"]

TRANSFER_FILE = "transfer.json"
CELLS_DIR = "cells"
SCHEMA_VERSION = "1.0"
#: CLiMB's low-shot protocol: sampling seeds, learning rate, epochs.
CLIMB_SEEDS = (10, 50, 100)
CLIMB_LR = 4e-5
CLIMB_EPOCHS = 10
PRETRAINED = "pretrained"


@dataclasses.dataclass(frozen=True)
class Source:
    """An encoder to transfer: an upstream checkpoint, or the pretrained encoder as a run with seed
    ``upstream_seed`` built it (``checkpoint`` None)."""

    label: str
    algorithm: str | None = None
    upstream_seed: int | None = None
    after_task: str | None = None
    task_index: int | None = None
    checkpoint: Path | None = None


@dataclasses.dataclass(frozen=True)
class Cell:
    source: Source
    task: str
    shots: Shots
    seed: int

    @property
    def name(self) -> str:
        """A file name for the cell (readable, with a hash against clashes)."""
        text = f"{self.source.label}__{self.task}__{self.shots.label}__seed-{self.seed}"
        digest = hashlib.sha1(text.encode()).hexdigest()[:8]
        return re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:150] + f"-{digest}"


@dataclasses.dataclass
class UpstreamRun:
    folder: Path
    results: dict[str, Any]

    @property
    def config(self) -> dict[str, Any]:
        return self.results["config"]

    def checkpoint(self, index: int) -> Path:
        from climb_harness.core.checkpoints import checkpoint_path

        return checkpoint_path(self.folder, index, self.results["tasks"][index])

    def source(self, index: int) -> Source:
        task = self.results["tasks"][index]
        label = f"{self.results['algorithm']}/seed-{self.results['seed']}/after-{index + 1}-{task}"
        return Source(label, str(self.results["algorithm"]), int(self.results["seed"]), task, index, self.checkpoint(index))


def find_runs(paths: Sequence[Path]) -> list[UpstreamRun]:
    """The complete Phase I runs (results.json with checkpoints) in ``paths`` (run folders or experiment folders)."""
    found: list[UpstreamRun] = []
    for path in paths:
        files = [path / RESULTS_FILE] if (path / RESULTS_FILE).is_file() else sorted(path.rglob(RESULTS_FILE))
        for file in files:
            results = read_results(file)
            config = results.get("config") or {}
            if "algorithm" not in config or "encoder" not in config:  # a transfer cell's own work, or a reference run
                continue
            if results.get("status") != "complete":
                raise UsageError(f"{file} holds an unfinished Phase I run ({len(results['accuracy_matrix'])} of "
                                 f"{len(results['tasks'])} tasks); finish it with climb run --resume before transferring it.")
            run = UpstreamRun(file.parent, results)
            missing = [str(run.checkpoint(i)) for i in range(len(results["tasks"])) if not run.checkpoint(i).is_file()]
            if missing:
                raise UsageError(f"The run in {file.parent} has no checkpoint {missing[0]}"
                                 f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}; transfer needs every "
                                 "task's checkpoint. Rerun it (climb run) into a new folder.")
            found.append(run)
    if not found:
        raise UsageError(f"No finished Phase I run (results.json with checkpoints/) under {', '.join(map(str, paths))}. "
                         "Point climb transfer at the output folder of climb run.")
    encoders = {json.dumps(r.config["encoder"], sort_keys=True) for r in found}
    if len(encoders) > 1:
        raise UsageError(f"The runs under {', '.join(map(str, paths))} use {len(encoders)} different encoder configs; "
                         "the pretrained reference is one encoder, so transfer the runs of one encoder at a time.")
    return found


@dataclasses.dataclass
class TargetTask:
    name: str
    options: dict[str, Any]
    shots: list[Shots]


def cell_problem(record: Any) -> str | None:
    """What is wrong with a cell file's contents (None when it is a valid cell): the transfer schema's cell,
    an ``identity`` object, and an interval that holds the score."""
    from climb_harness.core.schemas import validate

    if not isinstance(record, dict) or not isinstance(record.get("identity"), dict):
        return "it is not a cell record (a JSON object with an 'identity' object)"
    cell = {k: v for k, v in record.items() if k != "identity"}
    problems = [str(v) for v in validate("transfer", {"cells": [cell]}) if str(v).startswith("$.cells[0]")]
    if problems:
        return "; ".join(problems[:2])
    low, high = record["ci"]
    if not low <= record["score"] <= high:
        return f"its interval [{low}, {high}] does not hold its score {record['score']}"
    return None


class Transfer:
    """Plans and runs the cells; :meth:`run` returns the transfer.json dict."""

    def __init__(self, runs: Sequence[UpstreamRun], registry: Registry, output: Path, *,
                 tasks: Sequence[Mapping[str, Any]] = (), shots: Sequence[str] | None = None,
                 seeds: Sequence[int] = CLIMB_SEEDS, checkpoints: str = "last", later: bool = True,
                 training: Mapping[str, Any] | None = None, echo: Callable[[str], None] = print) -> None:
        self.runs, self.registry, self.output, self.echo = list(runs), registry, Path(output), echo
        self.seeds = [int(s) for s in dict.fromkeys(seeds)]
        if not self.seeds:
            raise UsageError("climb transfer needs at least one --seeds value.")
        self.shots = [Shots.parse(s) for s in shots] if shots else None
        self.checkpoints, self.later = checkpoints, later
        self.encoder = dict(self.runs[0].config["encoder"])
        self.protocol = dict(self.runs[0].config["protocol"])
        self.training = self._training(training or {})
        self.extra = [self._target(dict(t)) for t in tasks]
        self._tasks: dict[str, Task] = {}
        self._low_shot: dict[tuple[str, str, int], LowShotTask] = {}
        self._split_cache: dict[Any, Any] = {}
        self.cells = self._plan()

    # ------------------------------------------------------------------ the plan
    def _training(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """The run's training options with the low-shot protocol's epochs and learning rate (CLiMB's unless given)."""
        base = dict(self.runs[0].config["training"])
        base.update({"epochs": CLIMB_EPOCHS, "lr": CLIMB_LR})
        base.update({k: v for k, v in overrides.items() if v is not None})
        base["max_steps_per_epoch"] = overrides.get("max_steps_per_epoch")
        return base

    def _target(self, spec: dict[str, Any]) -> TargetTask:
        name = str(spec["name"])
        options = self.registry.resolve_options("task", name, spec.get("options") or {}, f"--tasks {name}")
        manifest = self.registry.get("task", name).manifest
        shots = self.shots or [Shots.parse(s) for s in (spec.get("shots") or default_shots(manifest))]
        return TargetTask(name, options, shots)

    def _plan(self) -> list[Cell]:
        cells: list[Cell] = []
        targets: dict[str, TargetTask] = {t.name: t for t in self.extra}
        for run in self.runs:
            order = run.results["tasks"]
            if self.later:
                specs = {t["name"]: t for t in run.config["tasks"]}
                for j in range(1, len(order)):
                    target = targets.setdefault(order[j], self._target(specs[order[j]]))
                    for i in range(j):
                        cells += self._cells(run.source(i), target)
            chosen = range(len(order)) if self.checkpoints == "all" else [len(order) - 1]
            for target in self.extra:
                if target.name in order:
                    raise UsageError(f"Task {target.name!r} was learned upstream by the run in {run.folder}; "
                                     "--tasks names tasks the runs have not seen (later tasks are transferred to without it).")
                for i in chosen:
                    cells += self._cells(run.source(i), target)
        self.targets = targets
        for seed in dict.fromkeys(int(run.results["seed"]) for run in self.runs):
            for target in targets.values():
                cells += self._cells(pretrained_source(seed), target)
        unique = list(dict.fromkeys(cells))
        return unique

    def _cells(self, source: Source, target: TargetTask) -> list[Cell]:
        return [Cell(source, target.name, shots, seed) for shots in target.shots for seed in self.seeds]

    # ------------------------------------------------------------------ running
    def _task(self, name: str) -> Task:
        if name not in self._tasks:
            self._tasks[name] = self.registry.build("task", name, self.targets[name].options, f"transfer task {name}")
        return self._tasks[name]

    def _low_shot_task(self, cell: Cell) -> LowShotTask:
        key = (cell.task, cell.shots.label, cell.seed)
        if key not in self._low_shot:
            self._low_shot[key] = LowShotTask(self._task(cell.task), cell.shots, cell.seed)
        return self._low_shot[key]

    def identity(self, cell: Cell) -> dict[str, Any]:
        """Everything a cell's score depends on (what --resume compares)."""
        checkpoint = None
        if cell.source.checkpoint is not None:
            stat = cell.source.checkpoint.stat()
            checkpoint = {"path": str(cell.source.checkpoint.resolve()), "size": stat.st_size}
        return {"source": cell.source.label, "checkpoint": checkpoint, "task": cell.task,
                "task_options": self.targets[cell.task].options, "shots": cell.shots.label, "seed": cell.seed,
                "encoder": self.encoder, "training": self.training, "protocol": self.protocol}

    def run(self, resume: bool = False) -> dict[str, Any]:
        from climb_harness.core.lock import acquire

        ensure_dir(self.output / CELLS_DIR)
        with acquire(self.output, "climb transfer", self.echo):
            return self._run_cells(resume)

    def _run_cells(self, resume: bool) -> dict[str, Any]:
        started = time.perf_counter()
        records: list[dict[str, Any]] = []
        for number, cell in enumerate(self.cells, 1):
            path = self.output / CELLS_DIR / f"{cell.name}.json"
            identity = self.identity(cell)
            record = self._existing(path, identity, resume)
            if record is None:
                self.echo(f"[{number}/{len(self.cells)}] {cell.source.label} -> {cell.task} ({cell.shots.label}, seed {cell.seed})")
                record = self._run_cell(cell, identity)
                write_json(path, record)
            records.append(record)
            self._write(self.results(records, "running", time.perf_counter() - started))
        final = self.results(records, "complete", time.perf_counter() - started)
        self._write(final)
        return final

    def _write(self, results: Mapping[str, Any]) -> None:
        """transfer.json, atomically, after checking it against its schema (a failure is the harness's bug)."""
        from climb_harness.core.schemas import validate

        problems = [str(v) for v in validate("transfer", dict(results))]
        if problems:
            raise RunError(f"climb-harness built a transfer.json that fails its schema ({clip('; '.join(problems[:3]), 400)}); "
                           "this is a bug in the harness: please report it. The finished cells are kept in "
                           f"{self.output / CELLS_DIR}.")
        write_json(self.output / TRANSFER_FILE, results)

    def _existing(self, path: Path, identity: Mapping[str, Any], resume: bool) -> dict[str, Any] | None:
        from climb_harness.api.bounded_json import load

        if not path.exists():
            return None
        try:
            record = load(path)
            problem = cell_problem(record)
            if problem:
                raise ValueError(problem)
        except (OSError, ValueError) as exc:
            if resume:  # a cell file is written atomically: an unreadable or invalid one was damaged later; redo it
                self.echo(f"warning: {path} cannot be used ({clip(exc, 160)}); that cell is run again.")
                return None
            raise RunError(f"{path} cannot be used ({clip(exc, 200)}). Nothing was overwritten; rerun with --resume "
                           "(the cell is run again) or choose another --output folder.") from None
        if not resume:
            raise RunError(f"{self.output} already holds transfer cells ({path.name}). Nothing was overwritten; pass "
                           "--resume to keep the finished cells and run the rest, or choose another --output folder.")
        if record.get("identity") != identity:
            raise RunError(f"{path} was computed under another configuration (task options, training, checkpoint or "
                           "encoder differ), so --resume would mix two experiments. Nothing was changed; resume with "
                           "the same arguments, or choose another --output folder.")
        return record

    def _run_cell(self, cell: Cell, identity: Mapping[str, Any]) -> dict[str, Any]:
        from climb_harness.core.checkpoints import adapted_tasks, load_checkpoint
        from climb_harness.core.engine import Runner, RunSpec, TrainingOptions

        task = self._low_shot_task(cell)
        adapt_to: list[Any] = []
        if cell.source.checkpoint is None:
            encoder_state = self._pretrained_state(int(cell.source.upstream_seed or 0), task)
        else:
            state, metadata, _ = load_checkpoint(cell.source.checkpoint)
            adapt_to = adapted_tasks(cell.source.checkpoint, metadata)
            encoder_state = {k.removeprefix("encoder."): v for k, v in state.items() if k.startswith("encoder.")}
        work = self.output / CELLS_DIR / ".work" / cell.name
        shutil.rmtree(work, ignore_errors=True)
        encoder = self.encoder
        spec = RunSpec(
            tasks=[task], algorithm=Algorithm(), seed=cell.seed, training=TrainingOptions.from_dict(self.training),
            encoder_factory=lambda: self.registry.build("encoder", encoder["name"], encoder["options"], "encoder"),
            output_dir=work, config={"transfer": cell.name},
            references={"random": {task.name: float(task.manifest["random_baseline"])}, "direct": {task.name: None},
                        "direct_ci": {task.name: None}},
            plugins=self.registry.provenance(), selection_split=self.protocol["selection_split"],
            report_split=self.protocol["report_split"],
            confidence={"level": self.protocol["confidence_level"], "resamples": self.protocol["bootstrap_resamples"]},
            label=f"transfer {cell.source.label}", echo=self.echo, adapt_to=adapt_to, encoder_state=encoder_state,
            save_checkpoints=False, split_cache=self._split_cache,
        )
        started = time.perf_counter()
        runner = Runner(spec)
        results = runner.run()
        shutil.rmtree(work, ignore_errors=True)
        source = cell.source
        return {
            "source": source.label, "algorithm": source.algorithm, "upstream_seed": source.upstream_seed,
            "after_task": source.after_task, "task_index": source.task_index,
            "checkpoint": None if source.checkpoint is None else str(source.checkpoint),
            "task": cell.task, "modality": task.info.modality, "shots": cell.shots.label, "seed": cell.seed,
            "train_examples": len(task.examples("train")), "score": results["accuracy_matrix"][0][0],
            "ci": results["accuracy_matrix_ci"][0][0], "best_epoch": results["best_epochs"][0],
            "random": float(task.manifest["random_baseline"]), "seconds": round(time.perf_counter() - started, 3),
            "ignored_tensors": len(runner.ignored_encoder_tensors), "identity": dict(identity),
        }

    def _pretrained_state(self, seed: int, task: Task) -> dict[str, Any]:
        """The encoder's weights as a Phase I run with ``seed`` built them (adapted to ``task``), on the CPU."""
        import torch

        from climb_harness.core.engine import isolated_rng, seed_everything

        with isolated_rng(torch.device("cpu")):
            seed_everything(seed)  # what Runner._build does before building the encoder
            encoder = self.registry.build("encoder", self.encoder["name"], self.encoder["options"], "encoder")
            encoder.adapt_to_tasks([task.info])
            return {k: v.detach().clone() for k, v in encoder.state_dict().items()}

    # ------------------------------------------------------------------ the file
    def results(self, records: Sequence[Mapping[str, Any]], status: str, seconds: float) -> dict[str, Any]:
        from climb_harness._version import __version__

        cells = [{k: v for k, v in r.items() if k != "identity"} for r in records]
        return {
            "schema_version": SCHEMA_VERSION, "kind": "transfer", "status": status,
            "runs": [str(r.folder) for r in self.runs], "encoder": self.encoder,
            "protocol": {"selection_split": self.protocol["selection_split"], "report_split": self.protocol["report_split"],
                         "seeds": self.seeds, "epochs": self.training["epochs"], "lr": self.training["lr"],
                         "batch_size": self.training.get("batch_size"), "checkpoints": self.checkpoints,
                         "later_tasks": self.later,
                         "sampling": "stratified by label, a function of (training split, size, seed): every source "
                                     "of a seed is fine-tuned on the same examples"},
            "cells": cells, "summary": summarise(cells),
            "provenance": {"harness_version": __version__, "written_at": now()},
            "timing": {"total_seconds": round(seconds, 3)},
        }


def pretrained_source(seed: int) -> Source:
    """The pretrained encoder as a Phase I run with ``seed`` built it: the reference of that run's checkpoints."""
    return Source(f"{PRETRAINED}/seed-{seed}", None, seed)


def is_reference(source: str) -> bool:
    return source == PRETRAINED or source.startswith(PRETRAINED + "/")


def summarise(cells: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per (source, task, shots): mean score over seeds and low-shot transfer against the
    pretrained encoder on the same seeds (paired), with 95% t-intervals over seeds.

    The pretrained rows come first (their ``low_shot_transfer`` is ``None`` with the reason "reference");
    an upstream model of seed ``s`` is compared with ``pretrained/seed-<s>``.
    """
    by_key: dict[tuple[str, str, str], dict[int, Mapping[str, Any]]] = {}
    for cell in cells:
        by_key.setdefault((cell["source"], cell["task"], cell["shots"]), {})[int(cell["seed"])] = cell
    rows = []
    keys = sorted(by_key, key=lambda k: (not is_reference(k[0]), k[1], k[2], k[0]))
    for source, task, shots in keys:
        seeds = by_key[(source, task, shots)]
        first = next(iter(seeds.values()))
        reference = by_key.get((pretrained_source(int(first.get("upstream_seed") or 0)).label, task, shots), {})
        paired = sorted(s for s in seeds if s in reference)
        row: dict[str, Any] = {
            "source": source, "algorithm": first.get("algorithm"), "upstream_seed": first.get("upstream_seed"),
            "after_task": first.get("after_task"), "task": task, "shots": shots, "seeds": sorted(seeds),
            "random": first["random"], "score": mean_std([seeds[s]["score"] for s in sorted(seeds)]),
            "pretrained": None, "low_shot_transfer": None, "low_shot_transfer_per_seed": None, "undefined": None,
        }
        if is_reference(source):
            row["undefined"] = "reference"
        elif not paired:
            row["undefined"] = "no pretrained-encoder cell with the same task, size and seed"
        else:
            pre = mean_std([reference[s]["score"] for s in paired])
            mine = mean_std([seeds[s]["score"] for s in paired])
            row["pretrained"] = pre
            value = low_shot_transfer(mine["mean"], pre["mean"], first["random"])  # type: ignore[arg-type]
            per_seed = [low_shot_transfer(seeds[s]["score"], reference[s]["score"], first["random"]) for s in paired]
            low = None if pre["ci95"] is None else pre["mean"] - pre["ci95"]  # type: ignore[operator]
            if value is None:
                row["undefined"] = LOW_SHOT_UNDEFINED.format(pretrained=pre["mean"], random=first["random"])
            elif low is not None and low <= first["random"]:  # as Phase I: the denominator must be clearly > 0
                row["undefined"] = (f"low-shot transfer is not reported: the pretrained encoder's score "
                                    f"{pre['mean']:.2f} ± {pre['ci95']:.2f} (95% t-interval over seeds) does not clear "
                                    f"the random baseline {first['random']:.2f}, so the ratio's denominator may be ~0")
            else:
                row["low_shot_transfer"] = value
                row["low_shot_transfer_per_seed"] = mean_std(per_seed)
        rows.append(row)
    return rows


def read_transfer(path: Path) -> dict[str, Any]:
    """``path`` parsed and checked against ``schemas/transfer.schema.json``; a RunError naming it otherwise."""
    from climb_harness.core.schemas import validate

    from climb_harness.api.bounded_json import load

    try:  # bounded, and NaN or Infinity refused with the line and column
        data = load(path)
    except (OSError, ValueError) as exc:
        raise RunError(f"{path} cannot be read as JSON ({clip(exc, 300)}); it was left as it is.") from None
    problems = [f"{v.path}: {clip(v.message, 120)}" for v in validate("transfer", data)]
    if problems:
        raise RunError(f"{path} is not a valid climb-harness transfer results file: {'; '.join(problems[:3])}. "
                       "It was left as it is; rerun climb transfer --resume to rewrite it from its cells.")
    return data
