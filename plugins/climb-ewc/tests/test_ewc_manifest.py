"""The hook module: a schema-valid manifest, options with defaults, the registry building it.

The entry point and a torch-free import are the kit's items (test_ewc_conformance.py).
"""

from __future__ import annotations

from pathlib import Path

from climb_ewc.plugin import DEFAULT_OPTIONS, MANIFEST, climb_algorithms

from climb_harness.testing import check_options_schema, options_with_defaults, validate_manifest


def test_manifest_is_schema_valid():
    (component,) = climb_algorithms()
    assert component.kind == "algorithm" and component.name == "ewc"
    assert validate_manifest("algorithm", dict(component.manifest)) == []
    assert check_options_schema(component.manifest["options"]) == []
    assert component.manifest["family"] == "regularization" and "Kirkpatrick" in component.manifest["paper"]


def test_validator_rejects_an_unknown_manifest_field():
    assert validate_manifest("algorithm", {**MANIFEST, "kind": "algorithm", "surprise": 1}) != []


def test_option_defaults_and_unknown_options_are_rejected():
    # ewc_lambda and penalty are CLiMB's; the Fisher sample is larger than CLiMB's 1% (see the README)
    assert DEFAULT_OPTIONS == {"ewc_lambda": 1e5, "fisher_sample_percentage": 0.1, "fisher_max_batches": 64,
                               "fisher_batch_size": None, "fisher_backend": "auto", "fisher_vmap_chunk_size": None,
                               "penalty": "random-past", "online": False, "gamma": 1.0}
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
    assert "layer hooks" in text and "random-past" in text and "running sums" in text


def test_versions_agree():
    import climb_ewc

    assert climb_ewc.__version__ == "0.4.0"
    pyproject = (Path(climb_ewc.__file__).parents[1] / "pyproject.toml").read_text()
    assert 'version = "0.4.0"' in pyproject




def test_core_registry_finds_and_builds_it(climb_registry):
    from climb_ewc.ewc import EWC

    registry = climb_registry
    entry = registry.get("algorithm", "ewc")
    assert entry.plugin.distribution == "climb-ewc" and entry.problems == []
    algorithm = registry.build("algorithm", "ewc", {"penalty": "all-past"})
    assert isinstance(algorithm, EWC) and algorithm.mode == "all-past" and algorithm.ewc_lambda == 1e5
    assert algorithm.name == "ewc"
