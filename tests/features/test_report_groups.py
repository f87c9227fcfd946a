"""climb report never pools different experiments: runs are grouped by their experiment fingerprint, a seed is
never counted twice, and every run keeps the per-example scores its metric intervals come from."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from climb_harness.cli import main
from climb_harness.core.example_scores import SCORES_FILE, ScoresError, read_run_scores
from climb_harness.core.results import read_results

CONFIG = {
    "name": "tiny",
    "tasks": [{"name": "synthetic-colour", "options": {"size": 48, "seed": 1}},
              {"name": "synthetic-yesno", "options": {"size": 48, "seed": 2}}],
    "encoder": "tiny",
    "algorithms": ["finetune"],
    "seeds": [0],
    "training": {"epochs": 1, "progress": False, "batch_size": 16},
    "references": {"direct": True},
}


@pytest.fixture(scope="module")
def two_experiments(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("groups")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLIMB_CACHE_DIR", str(root / "cache"))
        for name, batch in (("small", 16), ("large", 8)):
            config = {**CONFIG, "training": {**CONFIG["training"], "batch_size": batch}}
            path = root / f"{name}.yaml"
            path.write_text(yaml.safe_dump(config))
            done = CliRunner().invoke(main, ["run", "--config", str(path), "--plugin", "climb_harness.testing.plugin",
                                             "--output", str(root / name)], catch_exceptions=False)
            assert done.exit_code == 0, done.output
    return root


def test_two_experiments_with_the_same_seed_are_two_groups_not_two_seeds(two_experiments: Path) -> None:
    done = CliRunner().invoke(main, ["report", str(two_experiments / "small"), str(two_experiments / "large")],
                              catch_exceptions=False)
    assert done.exit_code == 0, done.output
    headings = [line for line in done.output.splitlines() if line.startswith("## Experiment")]
    assert len(headings) == 2
    assert all("training.batch" in line and "size=" in line.replace("\\", "") for line in headings)
    assert "| finetune | 2 |" not in done.output and "| finetune | 1 |" in done.output
    assert "Not ranked" in done.output  # one seed per method


def test_the_same_run_given_twice_is_refused_naming_both_files(two_experiments: Path) -> None:
    run = two_experiments / "small" / "finetune" / "seed-0"
    copy = two_experiments / "copy" / "finetune" / "seed-0"
    copy.mkdir(parents=True)
    for name in ("results.json", SCORES_FILE):
        (copy / name).write_bytes((run / name).read_bytes())
    done = CliRunner().invoke(main, ["report", str(run), str(copy)], catch_exceptions=False)
    assert done.exit_code == 2
    assert "both seed 0" in done.output and str(copy) in done.output


def test_each_run_keeps_valid_per_example_scores_and_metric_intervals(two_experiments: Path) -> None:
    folder = two_experiments / "small" / "finetune" / "seed-0"
    results = read_results(folder / "results.json")  # schema-valid
    scores = read_run_scores(folder / SCORES_FILE, 3)
    colour = scores.scores["synthetic-colour"]
    assert colour.rows.shape[0] == 3 and colour.direct is not None
    # the stored statistics give the stored scores exactly
    for row, expected in zip(colour.rows, [results["initial_scores"][0]] + [r[0] for r in results["accuracy_matrix"]]):
        assert 100 * row[:, 0].mean() == pytest.approx(expected, abs=1e-4)
    assert 100 * colour.direct[:, 0].mean() == pytest.approx(results["references"]["direct"]["synthetic-colour"], abs=1e-4)
    ci = results["metrics_ci"]
    low, high = ci["average_accuracy"]
    assert low <= results["metrics"]["average_accuracy"] <= high
    assert results["experiment"]["fingerprint"] != read_results(
        two_experiments / "large" / "finetune" / "seed-0" / "results.json")["experiment"]["fingerprint"]
    assert results["provenance"]["threads"] == 1 and results["provenance"]["processes"] == 1


def test_a_damaged_scores_file_is_named_with_its_key(two_experiments: Path, tmp_path: Path) -> None:
    from safetensors.numpy import load_file, save_file

    source = two_experiments / "small" / "finetune" / "seed-0" / SCORES_FILE
    tensors = load_file(str(source))
    tensors["row.1.0.stats"] = np.full_like(tensors["row.1.0.stats"], 7.0)  # accuracies must lie in [0, 1]
    from safetensors import safe_open

    with safe_open(str(source), framework="numpy") as handle:
        metadata = handle.metadata()
    bad = tmp_path / SCORES_FILE
    save_file(tensors, str(bad), metadata=metadata)
    with pytest.raises(ScoresError, match=r"row\.1\.0\.stats holds values outside \[0, 1\]"):
        read_run_scores(bad, 3)
    (tmp_path / "junk").write_bytes(b"\x00" * 64)
    with pytest.raises(ScoresError, match="not a readable safetensors file"):
        read_run_scores(tmp_path / "junk", 1)
    assert json.loads((two_experiments / "small" / "experiment.json").read_text())["name"] == "tiny"
