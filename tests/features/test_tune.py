"""climb tune: the search space from --param and the options schema, and a study that resumes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from climb_harness.cli import main
from climb_harness.core.config import load_config
from climb_harness.api.errors import UsageError
from climb_harness.core.results import read_results
from climb_harness.tune.study import Param, parse_param

optuna = pytest.importorskip("optuna")
TEST_PLUGIN = "climb_harness.testing.plugin"
SCHEMA = {"properties": {
    "lam": {"type": "number", "minimum": 0},
    "k": {"type": "integer", "minimum": 1, "maximum": 8},
    "rate": {"type": "number", "minimum": 1e-4, "maximum": 1.0},
    "mode": {"enum": ["a", "b"]},
    "flag": {"type": "boolean"},
}}


@pytest.mark.parametrize(("text", "expected"), [
    ("lam=1:1e6:log", Param("lam", "float", 1, 1e6, True)),
    ("lam=0:2.5", Param("lam", "float", 0, 2.5, False)),
    ("k=2:6", Param("k", "int", 2, 6, False)),
    ("k", Param("k", "int", 1, 8, False)),
    ("rate", Param("rate", "float", 1e-4, 1.0, True)),  # four decades: a log scale
    ("mode", Param("mode", "categorical", choices=("a", "b"))),
    ("flag", Param("flag", "categorical", choices=(False, True))),
    ("lam=10,100,1000", Param("lam", "categorical", choices=(10, 100, 1000))),
])
def test_search_space_from_the_argument_or_the_schema(text, expected):
    assert parse_param(text, SCHEMA, "algo") == expected


@pytest.mark.parametrize(("text", "message"), [("lam", "declares no range"), ("nope=1:2", "has no option 'nope'"),
                                               ("lam=5:1", "LOW < HIGH"), ("lam=0:1:log", "LOW > 0")])
def test_bad_params_are_usage_errors(text, message):
    with pytest.raises(UsageError, match=message):
        parse_param(text, SCHEMA, "algo")


@pytest.fixture()
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLIMB_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump({
        "name": "tiny", "encoder": "tiny", "algorithms": ["ewc"], "training": {"epochs": 1, "progress": False},
        "tasks": [{"name": "synthetic-colour", "options": {"size": 32, "seed": 1}},
                  {"name": "synthetic-yesno", "options": {"size": 32, "seed": 2}}],
    }))
    return path


def _tune(config: Path, out: Path, trials: int, *extra: str):
    return CliRunner().invoke(main, ["tune", "--config", str(config), "--plugin", TEST_PLUGIN, "--algorithm", "ewc",
                                     "--param", "ewc_lambda=1:1e6:log", "--param", "penalty", "--trials", str(trials),
                                     "--tasks", "1", "--output", str(out), *extra])


def test_a_study_resumes_after_an_interruption_and_writes_the_best_config(config, tmp_path):
    out = tmp_path / "study"
    first = _tune(config, out, 2)
    assert first.exit_code == 0, first.output
    storage = f"sqlite:///{out / 'study.db'}"
    before = [t.params for t in optuna.load_study(study_name="climb-tune", storage=storage).trials]
    optuna.load_study(study_name="climb-tune", storage=storage).ask()  # a trial a killed process left running
    refused = _tune(config, out, 3)
    assert refused.exit_code == 2 and "--resume" in refused.output
    resumed = _tune(config, out, 3, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert "left running by an interrupted process" in resumed.output
    trials = optuna.load_study(study_name="climb-tune", storage=storage).trials
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 3 and [t.params for t in complete[:2]] == before
    assert complete[2].params not in before  # the resumed sampler does not replay the first proposals
    # each trial ran the first task (--tasks 1) and read only the selection split
    run = read_results(Path(complete[0].user_attrs["run"]) / "results.json")
    assert run["tasks"] == ["synthetic-colour"] and run["protocol"]["report_split"] == "val"
    # the best options as a config for every task, which climb run accepts
    best = load_config(str(out / "best.yaml"))
    assert len(best["tasks"]) == 2 and best["algorithms"][0]["name"] == "ewc"
    study = optuna.load_study(study_name="climb-tune", storage=storage)
    assert best["algorithms"][0]["options"] == study.best_trial.params


def test_resuming_with_another_search_space_is_refused_and_a_killed_trial_folder_is_removed(config, tmp_path):
    out = tmp_path / "study"
    assert _tune(config, out, 1).exit_code == 0
    other = CliRunner().invoke(main, ["tune", "--config", str(config), "--plugin", TEST_PLUGIN, "--algorithm", "ewc",
                                      "--param", "ewc_lambda=1:10", "--trials", "2", "--tasks", "1", "--output",
                                      str(out), "--resume"])
    assert other.exit_code == 2 and "another search" in other.output and "space" in other.output
    storage = f"sqlite:///{out / 'study.db'}"
    left = optuna.load_study(study_name="climb-tune", storage=storage).ask()  # a trial a killed process left running
    half = out / "trials" / f"trial-{left.number}"
    (half / "seed-0").mkdir(parents=True)
    (half / "seed-0" / "results.json").write_text("{")  # half-written
    resumed = _tune(config, out, 2, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert not half.exists() and "folder removed" in resumed.output
