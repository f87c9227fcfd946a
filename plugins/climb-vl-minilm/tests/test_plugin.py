"""The hook module: schema-valid manifest, torch-free import, entry point, factory, conformance."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource

from climb_vl_minilm import plugin
from climb_vl_minilm.manifest import option_defaults

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"


def _validator() -> jsonschema.Draft202012Validator:
    schemas = {
        name: json.loads((SCHEMAS / name).read_text())
        for name in ("encoder.schema.json", "options.schema.json")
    }
    registry = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values()
    )
    return jsonschema.Draft202012Validator(schemas["encoder.schema.json"], registry=registry)


def test_manifest_is_schema_valid_and_cites_papers():
    (component,) = plugin.climb_encoders()
    assert component.name == "vl-minilm" and component.kind == "encoder"
    errors = list(_validator().iter_errors(dict(component.manifest)))
    assert not errors, [e.message for e in errors]
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


def test_factory_names_an_encoder_class():
    from climb_harness.api import Encoder

    (component,) = plugin.climb_encoders()
    module, _, attr = component.factory.partition(":")
    assert issubclass(getattr(importlib.import_module(module), attr), Encoder)


def test_hook_module_imports_without_torch():
    code = (
        "import sys, climb_vl_minilm.plugin as p; p.climb_encoders(); "
        "heavy = [m for m in ('torch', 'transformers', 'PIL', 'efficientnet_lite_pytorch') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_entry_point_is_installed():
    found = {ep.name: ep.value for ep in entry_points(group="climb.plugins")}
    assert found.get("vl-minilm") == "climb_vl_minilm.plugin"


def test_conformance_kit_passes(climb_check):
    results = climb_check("climb-vl-minilm")
    assert any(r.name == "encodes vision-language, 2 images" and r.status == "passed" for r in results)
