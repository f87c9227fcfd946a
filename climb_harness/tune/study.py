"""``climb tune``: hyper-parameter search with Optuna over an algorithm's options.

A trial is one Phase I run of the config's first ``prefix`` tasks (CL-Gym's roadmap item; BCL keeps
its first tasks for cross-validation the same way) with the trial's options, one seed; its objective
is the average accuracy on the **selection split** after the last of those tasks, so the report split
(test) is never looked at while tuning. The search space is each ``--param``: ``NAME=LOW:HIGH`` (a
float range, ``:log`` for a log scale; integers when both bounds are integers and the option is an
integer), ``NAME=a,b,c`` (choices), or a bare ``NAME`` whose range or choices the option's schema
declares (``minimum`` and ``maximum``, ``enum``, or a boolean).

The study lives in ``OUTPUT/study.db`` (SQLite), so ``--resume`` continues it: finished trials are
kept, a trial a killed process left running is marked failed and run again, and new trials are
added until ``--trials`` have finished. Each trial's run is in ``OUTPUT/trials/trial-<n>/``; the best
options are written as ``OUTPUT/best.yaml``: the full config (every task) with those options, ready
for ``climb run --config``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from climb_harness.api.errors import UsageError
from climb_harness.core.io import atomic_write_bytes, ensure_dir
from climb_harness.core.messages import clip

__all__ = ["BEST_FILE", "OBJECTIVE", "STUDY_FILE", "Param", "Tuner", "parse_param"]

STUDY_FILE = "study.db"
BEST_FILE = "best.yaml"
OBJECTIVE = "average accuracy on the selection split after the last tuned task"


@dataclasses.dataclass(frozen=True)
class Param:
    """One dimension of the search space."""

    name: str
    kind: str  # "float", "int" or "categorical"
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: Any) -> Any:
        if self.kind == "categorical":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)  # type: ignore[arg-type]
        return trial.suggest_float(self.name, float(self.low), float(self.high), log=self.log)  # type: ignore[arg-type]


def parse_param(text: str, schema: Mapping[str, Any], algorithm: str) -> Param:
    """``NAME``, ``NAME=LOW:HIGH[:log]`` or ``NAME=a,b,c`` against the algorithm's options schema."""
    from climb_harness.core.config import override_value

    name, sep, spec = text.partition("=")
    name = name.strip()
    properties = (schema or {}).get("properties", {})
    if name not in properties:
        raise UsageError(f"--param {text!r}: algorithm {algorithm!r} has no option {name!r}; its options are "
                         f"{', '.join(sorted(properties)) or '(none)'}.")
    option = properties[name]
    types = option.get("type")
    types = set(types) if isinstance(types, list) else {types}
    if sep and ":" in spec:
        parts = spec.split(":")
        log = parts[-1].strip() == "log"
        bounds = parts[:-1] if log else parts
        if len(bounds) != 2:
            raise UsageError(f"--param {text!r}: write NAME=LOW:HIGH or NAME=LOW:HIGH:log.")
        low, high = (_number(b) for b in bounds)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)) or not low < high:
            raise UsageError(f"--param {text!r}: LOW and HIGH must be numbers with LOW < HIGH.")
        if log and low <= 0:
            raise UsageError(f"--param {text!r}: a log scale needs LOW > 0.")
        integer = "integer" in types and "number" not in types and isinstance(low, int) and isinstance(high, int)
        return Param(name, "int" if integer else "float", low, high, log)
    if sep:
        choices = tuple(override_value(name, c.strip()) for c in spec.split(","))
        return Param(name, "categorical", choices=choices)
    if "enum" in option:
        return Param(name, "categorical", choices=tuple(option["enum"]))
    if types == {"boolean"}:
        return Param(name, "categorical", choices=(False, True))
    if "minimum" in option and "maximum" in option:
        low, high = option["minimum"], option["maximum"]
        kind = "int" if "integer" in types and "number" not in types else "float"
        return Param(name, kind, low, high, log=kind == "float" and low > 0 and high / low >= 100)
    raise UsageError(f"--param {name}: the options schema of {algorithm!r} declares no range or choices for it "
                     f"(it has {', '.join(k for k in ('minimum', 'maximum', 'exclusiveMinimum', 'enum') if k in option) or 'none'}); "
                     f"give one: --param {name}=LOW:HIGH[:log] or --param {name}=a,b,c.")


class Tuner:
    """Runs (or resumes) a study; :meth:`run` returns a summary dict."""

    def __init__(self, config: Mapping[str, Any], registry: Any, algorithm: str, params: Sequence[str],
                 output: Path, *, trials: int = 10, prefix: int = 2, seed: int | None = None,
                 echo: Callable[[str], None] = print) -> None:
        self.config, self.registry, self.output, self.echo = dict(config), registry, Path(output), echo
        matching = [a for a in self.config["algorithms"] if a["name"] == algorithm or a.get("label") == algorithm]
        if not matching:
            names = ", ".join(a.get("label") or a["name"] for a in self.config["algorithms"])
            raise UsageError(f"--algorithm {algorithm!r} is not in the config's algorithms ({names}).")
        self.algorithm = dict(matching[0])
        schema = registry.get("algorithm", self.algorithm["name"]).manifest.get("options", {})
        self.params = [parse_param(p, schema, self.algorithm["name"]) for p in params]
        if not self.params:
            raise UsageError("climb tune needs at least one --param to search over.")
        if not 1 <= prefix <= len(self.config["tasks"]):
            raise UsageError(f"--tasks {prefix}: the config has {len(self.config['tasks'])} task(s); tune on 1 to that many.")
        if trials < 1:
            raise UsageError("--trials must be at least 1.")
        self.trials, self.prefix = trials, prefix
        self.seed = int(self.config["seeds"][0] if seed is None else seed)

    def _trial_config(self, number: int, options: Mapping[str, Any]) -> dict[str, Any]:
        config = copy.deepcopy(self.config)
        protocol = dict(config["protocol"])
        protocol["report_split"] = protocol["selection_split"]  # the objective never reads the report split
        config.update(tasks=config["tasks"][: self.prefix], seeds=[self.seed], protocol=protocol,
                      algorithms=[{**self.algorithm, "options": {**self.algorithm.get("options", {}), **options},
                                   "label": f"trial-{number}"}],
                      references={**config["references"], "direct": False},
                      output=str(self.output / "trials"))
        return config

    def _one_trial(self, optuna: Any, study: Any, database: Path) -> None:
        """Ask for a trial, run it, tell the study; a failed or interrupted trial is recorded as failed."""
        from climb_harness.core.experiment import Experiment

        trial = study.ask()
        try:
            options = {p.name: p.suggest(trial) for p in self.params}
            trial.set_user_attr("run", str(self.output / "trials" / f"trial-{trial.number}" / f"seed-{self.seed}"))
            self.echo(f"trial {trial.number}: {options}")
            results = Experiment(self._trial_config(trial.number, options), self.registry, echo=self.echo).run()[0]
        except KeyboardInterrupt:
            _fail(optuna, study, trial)
            self.echo(f"climb tune interrupted during trial {trial.number}: the finished trials are kept in {database}; "
                      "continue the study with --resume (the interrupted trial is run again).")
            raise
        except BaseException:
            _fail(optuna, study, trial)
            raise
        final = results["accuracy_matrix"][-1]
        study.tell(trial, sum(final) / len(final))

    def search(self) -> dict[str, Any]:
        """What makes two studies comparable: the algorithm, its fixed options, the search space, the tasks
        tuned on, the seed and the objective. A study resumed with anything else would mix two searches."""
        return {"algorithm": self.algorithm, "space": [dataclasses.asdict(p) for p in self.params],
                "tasks": [t["name"] for t in self.config["tasks"][: self.prefix]], "seed": self.seed,
                "objective": OBJECTIVE}

    def run(self, resume: bool = False) -> dict[str, Any]:
        from climb_harness.core.lock import acquire

        optuna = _optuna()
        ensure_dir(self.output)
        with acquire(self.output, "climb tune", self.echo):
            return self._run(optuna, resume)

    def _open_study(self, optuna: Any, resume: bool) -> Any:
        """Create the study, or (``--resume``) open it after checking it searches what this command does."""
        database = self.output / STUDY_FILE
        if database.exists() and not resume:
            raise UsageError(f"{database} already holds a study. Nothing was changed; pass --resume to continue it, "
                             "or choose another --output folder.")
        storage = f"sqlite:///{database}"
        study = optuna.create_study(study_name="climb-tune", storage=storage, load_if_exists=True, direction="maximize")
        search = json.loads(json.dumps(self.search(), default=str))
        recorded = study.user_attrs.get("search")
        if recorded is None:
            study.set_user_attr("search", search)
        elif recorded != search:
            differs = sorted(k for k in search if recorded.get(k) != search.get(k))
            raise UsageError(f"{database} holds a study of another search ({', '.join(differs)} differ: the study "
                             f"searched {clip(recorded, 300)}). Nothing was changed; resume with the same --algorithm, "
                             "--param, --tasks and seed, or start a new study in another --output folder.")
        # The sampler's seed moves on with the study: a resumed study must not propose its first trials again.
        sampler = optuna.samplers.TPESampler(seed=self.seed * 10_007 + len(study.trials))
        return optuna.load_study(study_name="climb-tune", storage=storage, sampler=sampler)

    def _run(self, optuna: Any, resume: bool) -> dict[str, Any]:
        database = self.output / STUDY_FILE
        study = self._open_study(optuna, resume)
        for stale in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            study._storage.set_trial_state_values(stale._trial_id, optuna.trial.TrialState.FAIL)  # noqa: SLF001
            folder = self.output / "trials" / f"trial-{stale.number}"
            shutil.rmtree(folder, ignore_errors=True)  # half-written by the killed process; never read again
            self.echo(f"trial {stale.number} was left running by an interrupted process: marked failed and its folder "
                      "removed; a new trial runs in its place")
        done = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
        remaining = max(0, self.trials - done)
        if done:
            self.echo(f"resuming the study in {database}: {done} trial(s) finished, {remaining} to go")
        for _ in range(remaining):
            self._one_trial(optuna, study, database)
        best = study.best_trial
        best_options = {**self.algorithm.get("options", {}), **best.params}
        self._write_best(best_options, best.value)
        complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        return {"best_value": best.value, "best_params": dict(best.params), "best_trial": best.number,
                "trials": [(t.number, dict(t.params), t.value) for t in complete], "best_config": str(self.output / BEST_FILE)}

    def _write_best(self, options: Mapping[str, Any], value: float) -> None:
        import yaml

        config = {key: copy.deepcopy(self.config[key]) for key in ("name", "tasks", "encoder", "seeds", "training", "protocol", "references")}
        config["algorithms"] = [{**{k: v for k, v in self.algorithm.items() if k != "options"}, "options": dict(options)}]
        if self.config.get("plugins"):
            config["plugins"] = list(self.config["plugins"])
        header = (f"# climb tune: the best of the study in {self.output / STUDY_FILE} ({OBJECTIVE}: {value:.2f}, on the "
                  f"first {self.prefix} task(s)).\n# Run it with: climb run --config {self.output / BEST_FILE}\n")
        text = header + yaml.safe_dump(_plain_floats(config), sort_keys=False)
        atomic_write_bytes(self.output / BEST_FILE, text.encode("utf-8"))


def _fail(optuna: Any, study: Any, trial: Any) -> None:
    """Record ``trial`` as failed unless it is already finished (a signal may land inside Optuna's own calls)."""
    try:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    except ValueError:  # already failed: nothing to record
        pass


def _number(text: str) -> Any:
    """``"3"`` -> 3, ``"1e6"`` -> 1000000.0 (YAML would read 1e6 as a string); anything else as given."""
    text = text.strip()
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            continue
    return text


def _plain_floats(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_floats(v) for v in value]
    if isinstance(value, float) and math.isfinite(value):
        return float(value)
    return value


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise UsageError("climb tune searches with Optuna, which is not installed: pip install climb-harness[tune] "
                         "(or pip install optuna), then rerun.") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna
