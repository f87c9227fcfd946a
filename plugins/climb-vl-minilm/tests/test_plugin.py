"""The hook module: schema-valid manifest, its capability and test options, option defaults, factory.

A torch-free import, the entry point and every other conformance check are the kit's items
(test_vl_minilm_conformance.py).
"""

from __future__ import annotations

import importlib

import jsonschema
import pytest

from climb_vl_minilm import plugin
from climb_vl_minilm.manifest import option_defaults

from climb_harness.testing import validate_manifest


def test_manifest_is_schema_valid_and_cites_papers():
    (component,) = plugin.climb_encoders()
    assert component.name == "vl-minilm" and component.kind == "encoder"
    assert validate_manifest("encoder", dict(component.manifest)) == []
    # the fused layers are a transformers BertModel; prompts and prefixes enter them (tests/test_prompting.py)
    assert component.manifest["provides"] == ["hf-transformer", "prompt-tuning", "prefix-tuning"]
    assert all(name in component.manifest["paper"] for name in ("VisualBERT", "MiniLM", "EfficientNet"))


def test_option_defaults_validate_and_unknown_options_are_refused():
    (component,) = plugin.climb_encoders()
    schema = component.manifest["options"]
    assert schema["additionalProperties"] is False
    jsonschema.validate(option_defaults(), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**option_defaults(), "fusion_layer": 2}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**option_defaults(), "pooling": "max"}, schema)
    jsonschema.validate({**option_defaults(), **component.manifest["test_options"]}, schema)


def test_factory_names_an_encoder_class():
    from climb_harness.api import Encoder

    (component,) = plugin.climb_encoders()
    module, _, attr = component.factory.partition(":")
    assert issubclass(getattr(importlib.import_module(module), attr), Encoder)
