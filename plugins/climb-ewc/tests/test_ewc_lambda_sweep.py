"""benchmarks/ewc_lambda_sweep.py (the repository's lambda sweep): its --set values and its table, without runs."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "ewc_lambda_sweep.py"
pytestmark = pytest.mark.skipif(not SCRIPT.exists(), reason="outside the climb-harness repository")


@pytest.fixture(scope="module")
def sweep():
    spec = importlib.util.spec_from_file_location("ewc_lambda_sweep", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("value", [0.0, 1.0, 100.0, 1e5, 1e20, 0.5, 2.5e-7])
def test_lambda_reaches_the_config_as_a_float(sweep, value):
    from climb_harness.testing import apply_override

    config = {}
    apply_override(config, f"algorithms=[{{name: ewc, options: {{ewc_lambda: {sweep.yaml_float(value)}}}}}]")
    assert config["algorithms"][0]["options"]["ewc_lambda"] == value
    assert isinstance(config["algorithms"][0]["options"]["ewc_lambda"], float)


def test_folder_labels(sweep):
    assert [sweep.lambda_label(v) for v in (0.0, 100.0, 1e5, 0.5)] == ["0", "100", "100000", "0.5"]


def test_table_reads_only_the_documented_fields(sweep, tmp_path):
    for seed, (acc, amf, bwt, final) in enumerate([(40.0, 20.0, -20.0, [30.0, 40.0, 50.0]),
                                                    (50.0, 10.0, -10.0, [40.0, 50.0, 60.0])]):
        run = tmp_path / "lambda-100" / "ewc" / f"seed-{seed}"
        run.mkdir(parents=True)
        results = {"status": "complete", "seed": seed, "tasks": ["a", "b", "c"], "some_new_key": {"x": 1},
                   "metrics": {"average_accuracy": acc, "average_max_forgetting": amf, "bwt": bwt, "new_metric": 3},
                   "accuracy_matrix": [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], final]}
        (run / "results.json").write_text(json.dumps(results))
    assert sweep.main(["--no-run", "--lambdas", "100", "--seeds", "0", "1", "--output", str(tmp_path)]) == 0
    table = (tmp_path / "ewc-lambda-sweep.md").read_text().splitlines()
    assert table[0] == "| λ | runs | avg acc | AMF | BWT | final a | final b | final c |"
    assert table[2] == "| 100 | 2 | 45.00 ± 7.07 | 15.00 ± 7.07 | -15.00 ± 7.07 | 35.00 ± 7.07 | 45.00 ± 7.07 | 55.00 ± 7.07 |"
    # a lambda without results is reported and makes the exit status 1
    assert sweep.main(["--no-run", "--lambdas", "100", "10", "--seeds", "0", "--output", str(tmp_path)]) == 1
