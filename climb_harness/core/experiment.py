"""From a resolved experiment config to runs: one per (seed, algorithm), each in its own folder.

Layout of ``output``::

    experiment.json                 the resolved config
    references/...                  (the direct fine-tuning cache lives in the user cache dir)
    <algorithm label>/seed-<s>/     results.json, config.json, checkpoints/
    summary.md                      the aggregated table, rewritten after every run

Everything is written atomically (:func:`climb_harness.core.results.atomic_write_bytes`): a failed write
(full disk, read-only folder) or a file where a folder should be is a RunError naming the path, and
the runs already finished keep their results.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from climb_harness.api import Algorithm
from climb_harness.core.config import run_label
from climb_harness.api.errors import ConfigError, RunError
from climb_harness.core import fingerprint
from climb_harness.core.references import (
    cache_dir,
    code_hash,
    direct_key,
    direct_reference,
    read_statistics,
    requirement_versions,
)
from climb_harness.core.registry import Registry
from climb_harness.core.io import atomic_write_bytes, ensure_dir, remove_orphan_temps, write_json, writes_enabled
from climb_harness.core.results import RESULTS_FILE, read_results

#: The experiment-level files whose orphan temporary files ``--resume`` removes.
EXPERIMENT_FILES = ("experiment.json", "summary.md")


def run_config(config: Mapping[str, Any], algorithm: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """The part of the experiment one run depends on (what --resume compares)."""
    keep = ("name", "tasks", "encoder", "training", "protocol", "references")
    return {**{k: copy.deepcopy(config[k]) for k in keep}, "algorithm": dict(algorithm), "seed": seed}


class Experiment:
    def __init__(self, config: Mapping[str, Any], registry: Registry, echo: Callable[[str], None] = print,
                 summarise: Callable[[list[tuple[Mapping[str, Any], Path]]], str] | None = None) -> None:
        #: Turns the complete runs (results and their paths) into summary.md's text (None: no summary.md).
        self.summarise = summarise
        self.config = dict(config)
        self.registry = registry
        self.echo = echo
        self.output = Path(config["output"])
        self._lock: Any = None
        self._check_names()
        self.training_options = self._training()
        self._check_device()

    def _check_names(self) -> None:
        """Fail before any training on a wrong name or option anywhere in the config."""
        for i, task in enumerate(self.config["tasks"]):
            self.registry.resolve_options("task", task["name"], task["options"], f"tasks[{i}].options")
        self.registry.resolve_options("encoder", self.config["encoder"]["name"], self.config["encoder"]["options"], "encoder.options")
        for i, algorithm in enumerate(self.config["algorithms"]):
            self.registry.resolve_options("algorithm", algorithm["name"], algorithm["options"], f"algorithms[{i}].options")
            self.registry.check_capabilities(algorithm["name"], self.config["encoder"]["name"], f"algorithms[{i}]")
        for i, logger in enumerate(self.config.get("loggers", [])):
            self.registry.resolve_options("logger", logger["name"], logger["options"], f"loggers[{i}].options")
            self._check_packages(logger["name"], f"loggers[{i}]")

    def _check_packages(self, name: str, where: str) -> None:
        """A logger whose optional packages are missing is refused before anything runs, with the install command."""
        import importlib.util

        manifest = self.registry.get("logger", name).manifest
        missing = [p for p in manifest.get("requires_packages", []) if importlib.util.find_spec(p) is None]
        if missing:
            install = manifest.get("install") or f"pip install {' '.join(missing)}"
            raise ConfigError(f"The logger {name!r} at {where} needs {', '.join(missing)}, which is not installed. "
                              f"Install it ({install}) or remove it from loggers.")

    def build_loggers(self) -> list[Any]:
        """One fresh object per enabled logger (a run's loggers are its own)."""
        return [self.registry.build("logger", item["name"], item["options"], f"loggers[{i}]")
                for i, item in enumerate(self.config.get("loggers", []))]

    def _training(self) -> Any:
        from climb_harness.core.engine import TrainingOptions

        return TrainingOptions.from_dict(self.config["training"])

    def _check_device(self) -> None:
        """Fail before anything is written on a training.device this machine does not have."""
        from climb_harness.core.engine import resolve_device

        resolve_device(self.training_options.device)

    def _source(self, kind: str, name: str) -> str:
        entry = self.registry.get(kind, name)
        return f"{entry.plugin.distribution} {entry.plugin.version}"

    def sources(self, tasks: list[Any], algorithm: Mapping[str, Any] | None) -> dict[str, str]:
        """Where each component of a run comes from (``RunSpec.sources``), for the errors that blame one."""
        found = {"encoder": self._source("encoder", self.config["encoder"]["name"])}
        found.update({f"task:{task.name}": self._source("task", task.name) for task in tasks})
        if algorithm is not None:
            found["algorithm"] = self._source("algorithm", algorithm["name"])
        return found

    # ------------------------------------------------------------------ components
    def build_tasks(self) -> list[Any]:
        return [self.registry.build("task", t["name"], t["options"], f"tasks[{i}]") for i, t in enumerate(self.config["tasks"])]

    def encoder_factory(self) -> Callable[[], Any]:
        encoder = self.config["encoder"]
        return lambda: self.registry.build("encoder", encoder["name"], encoder["options"], "encoder")

    # ------------------------------------------------------------------ references
    def _identity(self, kind: str, spec: Mapping[str, Any], where: str) -> dict[str, Any]:
        """What a component's scores depend on: name, resolved options, distribution version, code hash."""
        entry = self.registry.get(kind, spec["name"])
        return {**self._component(kind, spec, where), "requirements": requirement_versions(entry.plugin.distribution),
                "code": code_hash(entry.component.factory)}

    def references(self, tasks: list[Any], seed: int) -> dict[str, Any]:
        refs: dict[str, Any] = {"random": {t.name: float(t.manifest["random_baseline"]) for t in tasks}, "direct": {},
                                "direct_ci": {}, "direct_source": {}}
        if not self.config["references"]["direct"]:
            refs["direct"] = {t.name: None for t in tasks}
            refs["direct_ci"] = {t.name: None for t in tasks}
            return refs
        encoder_cfg = self.config["encoder"]
        encoder_id = self._identity("encoder", encoder_cfg, "encoder.options")
        cache = cache_dir(self.config["references"]["cache_dir"])
        for i, (spec, task) in enumerate(zip(self.config["tasks"], tasks)):
            task_id = {**self._identity("task", spec, f"tasks[{i}].options"), "fingerprint": task.fingerprint()}
            key = direct_key(encoder_id, task_id, self.config["training"], seed, self.config["protocol"])

            def compute(tmp: Path, task: Any = task) -> tuple[float, list[float], Any]:
                self.echo(f"direct fine-tuning reference: {task.name} (seed {seed}), cached for later runs")
                sources = {**self.sources([task], None), "algorithm": "climb-harness (direct fine-tuning)"}
                config = {"reference": "direct", "task": task.name}
                runner = self._runner([task], Algorithm(), seed, tmp, config, {}, None, sources)
                results = runner.run()  # (in memory: under data parallelism only the main process writes files)
                statistics = runner.scores.row(1, task.name)
                return float(results["accuracy_matrix"][0][0]), list(results["accuracy_matrix_ci"][0][0]), statistics

            score, interval, path, _ = direct_reference(
                key, task.name, cache, compute, {"encoder": encoder_cfg, "task_options": spec["options"], "seed": seed},
                self.echo)
            refs["direct"][task.name] = score
            refs["direct_ci"][task.name] = interval
            refs["direct_source"][task.name] = path
        return refs

    def _runner(self, tasks: list[Any], algorithm: Any, seed: int, out: Path, config: dict[str, Any], refs: dict[str, Any],
                label: str | None = None, sources: Mapping[str, str] | None = None, loggers: Sequence[Any] = (),
                experiment: Mapping[str, Any] | None = None) -> Any:
        from climb_harness.core.engine import Runner, RunSpec

        if not refs:
            refs = {"random": {t.name: float(t.manifest["random_baseline"]) for t in tasks}, "direct": {t.name: None for t in tasks},
                    "direct_ci": {t.name: None for t in tasks}}
        spec = RunSpec(
            tasks=tasks, encoder_factory=self.encoder_factory(), algorithm=algorithm, seed=seed, training=self.training_options,
            output_dir=out, config=config, references=refs, plugins=self.registry.provenance(), hooks=self.registry.pm.hook,
            selection_split=self.config["protocol"]["selection_split"], report_split=self.config["protocol"]["report_split"],
            confidence={"level": self.config["protocol"]["confidence_level"], "resamples": self.config["protocol"]["bootstrap_resamples"]},
            label=label, echo=self.echo, sources=dict(sources or {}), loggers=list(loggers),
            direct_statistics=self._direct_statistics(refs), experiment=experiment,
        )
        return Runner(spec)

    @staticmethod
    def _direct_statistics(refs: Mapping[str, Any]) -> dict[str, Any]:
        """Per task, the cached direct reference's per-example statistics (where the cache has them)."""
        found = {}
        for task, path in (refs.get("direct_source") or {}).items():
            statistics = read_statistics(path) if isinstance(path, str) else None
            if statistics is not None:
                found[task] = statistics
        return found

    # ------------------------------------------------------------------ fingerprints
    def _component(self, kind: str, spec: Mapping[str, Any], where: str) -> dict[str, Any]:
        entry = self.registry.get(kind, spec["name"])
        return {"name": spec["name"], "options": self.registry.resolve_options(kind, spec["name"], spec["options"], where),
                "distribution": entry.plugin.distribution, "version": entry.plugin.version}

    def experiment_record(self, index: int, algorithm: Mapping[str, Any]) -> dict[str, Any]:
        """results.json's ``experiment`` for the algorithm at ``index`` (:mod:`climb_harness.core.fingerprint`)."""
        from climb_harness._version import __version__

        settings = {
            "tasks": [self._component("task", t, f"tasks[{i}].options") for i, t in enumerate(self.config["tasks"])],
            "encoder": self._component("encoder", self.config["encoder"], "encoder.options"),
            "training": fingerprint.training_settings(self.config["training"]),
            "protocol": dict(self.config["protocol"]),
            "references": {"direct": bool(self.config["references"]["direct"])},
            "harness_version": __version__,
        }
        method = {**self._component("algorithm", algorithm, f"algorithms[{index}].options"), "label": run_label(algorithm)}
        return fingerprint.record(str(self.config["name"]), settings, method)

    # ------------------------------------------------------------------ the grid
    def run_dir(self, algorithm: Mapping[str, Any], seed: int) -> Path:
        return self.output / run_label(algorithm) / f"seed-{seed}"

    def start(self, resume: bool) -> None:
        """Create the output folder and take its lock (:mod:`climb_harness.core.lock`: one writing process per folder;
        under data parallelism the main process holds it), then, with ``resume``, clear orphan temporary files,
        and write experiment.json. :meth:`close` releases the lock (the process's exit does too)."""
        from climb_harness.core.lock import acquire

        ensure_dir(self.output)
        if writes_enabled() and self._lock is None:
            self._lock = acquire(self.output, "climb run", self.echo)
        if resume:
            self._remove_orphans()
        write_json(self.output / "experiment.json", self.config)

    def close(self) -> None:
        """Release the output folder's lock."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def cells(self) -> list[tuple[int, dict[str, Any], int]]:
        """Every (algorithm index, algorithm, seed) of the grid, seed-major."""
        return [(i, algorithm, seed) for seed in self.config["seeds"] for i, algorithm in enumerate(self.config["algorithms"])]

    def finished(self, algorithm: Mapping[str, Any], seed: int) -> dict[str, Any] | None:
        """The results of a cell already complete under this config, else None."""
        return self._finished(self.run_dir(algorithm, seed), run_config(self.config, algorithm, seed))

    def run_cell(self, index: int, algorithm: Mapping[str, Any], seed: int, tasks: list[Any], refs: dict[str, Any],
                 resume: bool) -> dict[str, Any]:
        """Run one (algorithm, seed) into its folder with the given tasks and references."""
        out = self.run_dir(algorithm, seed)
        config = run_config(self.config, algorithm, seed)
        algo = self.registry.build("algorithm", algorithm["name"], algorithm["options"], f"algorithms[{index}]")
        self.echo(f"{run_label(algorithm)} seed {seed}: running {' -> '.join(t.name for t in tasks)} into {out}")
        write_json(out / "config.json", config)
        sources = self.sources(tasks, algorithm)
        runner = self._runner(tasks, algo, seed, out, config, refs, run_label(algorithm), sources, self.build_loggers(),
                              self.experiment_record(index, algorithm))
        return runner.run(resume=resume)

    def run(self, resume: bool = False) -> list[dict[str, Any]]:
        try:
            return self._run_grid(resume)
        finally:
            self.close()

    def _run_grid(self, resume: bool) -> list[dict[str, Any]]:
        self.start(resume)
        all_results = []
        prepared: dict[int, tuple[list[Any], dict[str, Any]]] = {}
        for i, algorithm, seed in self.cells():
            existing = self.finished(algorithm, seed)
            if existing is not None:
                self.echo(f"{run_label(algorithm)} seed {seed}: already complete in {self.run_dir(algorithm, seed)}, skipped")
                all_results.append(existing)
                continue
            if seed not in prepared:
                tasks = self.build_tasks()
                prepared = {seed: (tasks, self.references(tasks, seed))}  # one seed's tasks at a time
            tasks, refs = prepared[seed]
            all_results.append(self.run_cell(i, algorithm, seed, tasks, refs, resume))
            self.write_summary(all_results)
        return all_results

    def _remove_orphans(self) -> None:
        count, size = remove_orphan_temps([self.output], EXPERIMENT_FILES)
        if count:
            self.echo(f"--resume removed {count} orphan temporary file(s) ({size} bytes) left in "
                      f"{self.output} by an interrupted write.")

    @staticmethod
    def _finished(out: Path, config: Mapping[str, Any]) -> dict[str, Any] | None:
        path = out / RESULTS_FILE
        if not path.exists():
            return None
        results = read_results(path)
        if results.get("status") == "complete" and results.get("config") == config:
            return results
        return None

    def completed(self, results: Sequence[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], Path]]:
        """The complete runs among ``results``, each with the path of its results.json (its scores file sits beside)."""
        return [(r, self.output / str(r.get("algorithm")) / f"seed-{r.get('seed')}" / RESULTS_FILE)
                for r in results if r.get("status") == "complete"]

    def write_summary(self, results: list[dict[str, Any]]) -> None:
        """Rewrite ``summary.md`` with the summary the caller gave (the report feature's, for ``climb run``)."""
        if self.summarise is None or not writes_enabled():  # data parallel: the main process writes
            return
        complete = self.completed(results)
        if complete:
            try:
                table = self.summarise(complete)
            except ValueError as exc:  # e.g. one algorithm over two task orders
                raise RunError(f"Cannot summarise the runs in {self.output}: {exc}") from exc
            fix = "free space (or make the folder writable) and rerun with --resume (finished runs are kept)"
            atomic_write_bytes(self.output / "summary.md", (table + "\n").encode("utf-8"), fix)
