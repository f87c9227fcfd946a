"""``climb show NAME``: one component's manifest and options, readable without opening its code."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from climb_harness.api.errors import shorten

_CONSTRAINTS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern", "enum", "minItems", "maxItems")
_SHOWN_ELSEWHERE = {"name", "kind", "summary", "description", "paper", "options", "api_version"}


def option_rows(options_schema: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """One row per option: name, type, default, constraints and description, as strings.

    >>> option_rows({"type": "object", "properties": {"lr": {"type": "number", "minimum": 0, "default": 0.1}}})
    [{'option': 'lr', 'type': 'number', 'default': '0.1', 'constraints': 'minimum 0', 'description': ''}]
    """
    rows = []
    properties = (options_schema or {}).get("properties", {})
    for name, spec in properties.items() if isinstance(properties, Mapping) else ():
        spec = spec if isinstance(spec, Mapping) else {}
        kind = spec.get("type", "any")
        rows.append({
            "option": str(name),
            "type": "|".join(map(str, kind)) if isinstance(kind, list) else str(kind),
            "default": json.dumps(spec.get("default"), default=str),
            "constraints": ", ".join(f"{key} {json.dumps(spec[key], default=str)}" for key in _CONSTRAINTS if key in spec),
            "description": str(spec.get("description", "")),
        })
    return rows


def describe(entry: Any) -> str:
    """The text ``climb show`` prints for a registry entry."""
    manifest = entry.manifest
    lines = [
        f"{entry.name} ({entry.kind}) from {entry.plugin.distribution} {entry.plugin.version}, plugin {entry.plugin.name!r}: {entry.status}",
        f"  {manifest.get('summary', '')}",
    ]
    if manifest.get("description"):
        lines.append(f"  {manifest['description']}")
    if manifest.get("paper"):
        lines.append(f"  paper: {manifest['paper']}")
    for key, value in manifest.items():
        if key not in _SHOWN_ELSEWHERE:
            lines.append(f"  {key}: {shorten(json.dumps(value, default=str), 300)}")
    lines.append(f"  api_version: {manifest.get('api_version')}")
    for problem in entry.problems:
        lines.append(f"  invalid: {problem}")
    rows = option_rows(manifest.get("options"))
    if not rows:
        lines.append("options: (none)")
        return "\n".join(lines)
    lines.append(f"options (set them with --set '{entry.kind}s.N.options.OPTION=VALUE' or in the config):")
    columns = ["option", "type", "default", "constraints"]
    widths = {c: max(len(c), *(len(shorten(r[c], 40)) for r in rows)) for c in columns}
    lines.append("  " + "  ".join(c.upper().ljust(widths[c]) for c in columns) + "  DESCRIPTION")
    for row in rows:
        lines.append("  " + "  ".join(shorten(row[c], 40).ljust(widths[c]) for c in columns) + "  " + row["description"])
    return "\n".join(lines)
