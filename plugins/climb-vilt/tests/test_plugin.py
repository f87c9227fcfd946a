"""The hook module: schema-valid manifests, torch-free import, entry point, factories."""

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

from climb_vilt import plugin
from climb_vilt.manifests import option_defaults

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


def test_manifests_are_schema_valid_and_cite_papers():
    components = plugin.climb_encoders()
    assert [c.name for c in components] == ["vilt", "vilt-bert"]
    validator = _validator()
    for component in components:
        errors = list(validator.iter_errors(dict(component.manifest)))
        assert not errors, [e.message for e in errors]
        assert component.kind == "encoder"
        assert "Kim" in component.manifest["paper"] and "Srinivasan" in component.manifest["paper"]


def test_options_defaults_validate_and_unknown_options_are_refused():
    for component in plugin.climb_encoders():
        options_schema = component.manifest["options"]
        assert options_schema["additionalProperties"] is False
        jsonschema.validate(option_defaults(component.manifest), options_schema)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**option_defaults(component.manifest), "hiden_size": 3}, options_schema)


def test_factories_name_encoder_classes():
    from climb_harness.api import Encoder

    for component in plugin.climb_encoders():
        module, _, attr = component.factory.partition(":")
        assert issubclass(getattr(importlib.import_module(module), attr), Encoder)


def test_hook_module_imports_without_torch():
    code = (
        "import sys, climb_vilt.plugin as p; p.climb_encoders(); "
        "heavy = [m for m in ('torch', 'transformers', 'PIL') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_entry_point_is_installed():
    found = {ep.name: ep.value for ep in entry_points(group="climb.plugins")}
    assert found.get("vilt") == "climb_vilt.plugin"
