"""The hook module: a schema-valid manifest, options with defaults, entry point, no torch at import."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

from climb_ewc.plugin import DEFAULT_OPTIONS, MANIFEST, climb_algorithms

from climb_harness.schemas import check_options_schema, options_with_defaults, validate


def test_manifest_is_schema_valid():
    (component,) = climb_algorithms()
    assert component.kind == "algorithm" and component.name == "ewc"
    assert validate("algorithm", dict(component.manifest)) == []
    assert check_options_schema(component.manifest["options"]) == []
    assert component.manifest["family"] == "regularization" and "Kirkpatrick" in component.manifest["paper"]


def test_validator_rejects_an_unknown_manifest_field():
    assert validate("algorithm", {**MANIFEST, "kind": "algorithm", "surprise": 1}) != []


def test_option_defaults_and_unknown_options_are_rejected():
    # ewc_lambda and penalty are CLiMB's; the Fisher sample is larger than CLiMB's 1% (see the README)
    assert DEFAULT_OPTIONS == {"ewc_lambda": 1e5, "fisher_sample_percentage": 0.1, "fisher_max_batches": 64,
                               "fisher_batch_size": None, "fisher_backend": "auto", "fisher_vmap_chunk_size": None,
                               "penalty": "random-past"}
    schema = MANIFEST["options"]
    assert schema["additionalProperties"] is False
    resolved, problems = options_with_defaults(schema, {})
    assert resolved == DEFAULT_OPTIONS and problems == []
    assert options_with_defaults(schema, {"lambda": 1.0})[1] != []
    assert options_with_defaults(schema, {"penalty": "all"})[1] != []
    assert options_with_defaults(schema, {"fisher_sample_percentage": 0})[1] != []
    assert options_with_defaults(schema, {"ewc_lambda": -1})[1] != []
    assert options_with_defaults(schema, {"fisher_backend": "jit"})[1] != []
    assert options_with_defaults(schema, {"fisher_vmap_chunk_size": 0})[1] != []
    # 0.1.0's fisher_normalization is gone: "batches" only rescaled lambda, and "samples" is now the definition
    assert options_with_defaults(schema, {"fisher_normalization": "samples"})[1] != []


def test_manifest_states_the_estimator_and_the_penalty_form():
    text = MANIFEST["description"]
    assert "per-example" in MANIFEST["summary"] and "(1/N) sum_n (d loss_n / d theta_i)^2" in text
    assert "ewc_lambda * sum_i F_i (theta_i - theta*_i)^2" in text and "2 * ewc_lambda" in text
    assert "vmap" in text and "random-past" in text


def test_versions_agree():
    import climb_ewc

    assert climb_ewc.__version__ == "0.2.0"
    pyproject = (Path(climb_ewc.__file__).parents[1] / "pyproject.toml").read_text()
    assert 'version = "0.2.0"' in pyproject


def test_entry_point_names_the_hook_module():
    eps = [ep for ep in metadata.entry_points(group="climb.plugins") if ep.name == "ewc"]
    assert [ep.value for ep in eps] == ["climb_ewc.plugin"]
    assert eps[0].dist.name == "climb-ewc"


def test_import_does_not_import_torch():
    code = ("import sys, climb_ewc.plugin; climb_ewc.plugin.climb_algorithms(); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


def test_core_registry_finds_and_builds_it():
    from climb_ewc.ewc import EWC

    from climb_harness.registry import Registry

    registry = Registry()
    entry = registry.get("algorithm", "ewc")
    assert entry.plugin.distribution == "climb-ewc" and entry.problems == []
    algorithm = registry.build("algorithm", "ewc", {"penalty": "all-past"})
    assert isinstance(algorithm, EWC) and algorithm.mode == "all-past" and algorithm.ewc_lambda == 1e5
    assert algorithm.name == "ewc"
