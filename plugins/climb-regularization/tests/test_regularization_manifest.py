"""The hook module: three schema-valid manifests whose texts cite the paper and name the deviations."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from climb_regularization.plugin import climb_algorithms

from climb_harness.api import Algorithm
from climb_harness.testing import check_options_schema, options_with_defaults, validate_manifest

DEFAULTS = {
    "lwf": {"lambda_old": 1.0, "temperature": 2.0},
    "si": {"si_c": 0.1, "xi": 1e-3},
    "mas": {"mas_lambda": 1.0, "importance_sample_percentage": 1.0, "importance_max_examples": 2048},
}
PAPERS = {"lwf": "Li, Z., Hoiem", "si": "Zenke, F.", "mas": "Aljundi, R."}


def test_three_regularization_methods():
    assert [c.name for c in climb_algorithms()] == list(DEFAULTS)
    assert all(c.manifest["family"] == "regularization" for c in climb_algorithms())


@pytest.mark.parametrize("component", climb_algorithms(), ids=lambda c: c.name)
def test_manifest_is_valid_cites_its_paper_and_declares_data_parallelism(component):
    manifest = dict(component.manifest)
    assert validate_manifest("algorithm", manifest) == [] and check_options_schema(manifest["options"]) == []
    assert PAPERS[component.name] in manifest["paper"] and "Deviation" in manifest["description"]
    assert manifest["data_parallel"] is True
    module, attr = component.factory.split(":")
    assert issubclass(getattr(importlib.import_module(module), attr), Algorithm)
    resolved, problems = options_with_defaults(manifest["options"], {})
    assert resolved == DEFAULTS[component.name] and problems == []
    assert options_with_defaults(manifest["options"], {"strength": 1.0})[1] != []


def test_versions_agree():
    import climb_regularization

    pyproject = (Path(climb_regularization.__file__).parents[1] / "pyproject.toml").read_text()
    assert f'version = "{climb_regularization.__version__}"' in pyproject


def test_readme_documents_every_method_and_option():
    import climb_regularization

    readme = (Path(climb_regularization.__file__).parents[1] / "README.md").read_text()
    for name, options in DEFAULTS.items():
        assert f"`{name}`" in readme, name
        assert all(f"`{option}`" in readme for option in options), name
