"""The hook module: schema-valid manifests, their capabilities and test options, option defaults, factories.

A torch-free import and the entry point are the kit's items (test_vilt_conformance.py).
"""

from __future__ import annotations

import importlib

import jsonschema
import pytest

from climb_vilt import plugin
from climb_vilt.manifests import option_defaults

from climb_harness.testing import validate_manifest


def test_manifests_are_schema_valid_and_cite_papers():
    components = plugin.climb_encoders()
    assert [c.name for c in components] == ["vilt", "vilt-bert"]
    for component in components:
        assert validate_manifest("encoder", dict(component.manifest)) == []
        assert component.kind == "encoder"
        # `transformer` is a transformers ViltModel; prompts and prefixes enter it (tests/test_prompting.py)
        assert component.manifest["provides"] == ["hf-transformer", "prompt-tuning", "prefix-tuning"]
        assert "Kim" in component.manifest["paper"] and "Srinivasan" in component.manifest["paper"]


def test_options_defaults_validate_and_unknown_options_are_refused():
    for component in plugin.climb_encoders():
        options_schema = component.manifest["options"]
        assert options_schema["additionalProperties"] is False
        jsonschema.validate(option_defaults(component.manifest), options_schema)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**option_defaults(component.manifest), "hiden_size": 3}, options_schema)
        jsonschema.validate({**option_defaults(component.manifest), **component.manifest["test_options"]}, options_schema)


def test_factories_name_encoder_classes():
    from climb_harness.api import Encoder

    for component in plugin.climb_encoders():
        module, _, attr = component.factory.partition(":")
        assert issubclass(getattr(importlib.import_module(module), attr), Encoder)
