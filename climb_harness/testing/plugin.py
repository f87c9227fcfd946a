"""A plugin of small real components, for tests and for trying the harness in seconds.

Load it with ``climb run --plugin climb_harness.testing.plugin``: tasks ``synthetic-colour`` and
``synthetic-yesno`` (questions about coloured squares), encoder ``tiny`` and algorithm ``finetune``
(plain sequential fine-tuning, the :class:`climb_harness.api.Algorithm` base). It is not installed
as an entry point, so it never shows up in a user's ``climb list`` unless asked for.
"""

from __future__ import annotations

from climb_harness.api import API_VERSION, Component, algorithm, encoder, hookimpl, task
from climb_harness.testing.manifests import TINY_ENCODER_MANIFEST, synthetic_manifest

_NO_OPTIONS = {"type": "object", "properties": {}, "additionalProperties": False}


@hookimpl
def climb_tasks() -> list[Component]:
    return [
        task(synthetic_manifest("synthetic-colour", "colour"), "climb_harness.testing.components:SyntheticTask"),
        task(synthetic_manifest("synthetic-yesno", "yesno"), "climb_harness.testing.components:SyntheticTask"),
    ]


@hookimpl
def climb_encoders() -> list[Component]:
    return [encoder({k: v for k, v in TINY_ENCODER_MANIFEST.items() if k != "kind"}, "climb_harness.testing.components:TinyEncoder")]


@hookimpl
def climb_algorithms() -> list[Component]:
    return [
        algorithm(
            {"name": "finetune", "api_version": API_VERSION, "summary": "Plain sequential fine-tuning (the Algorithm base class).",
             "family": "baseline", "options": _NO_OPTIONS},
            "climb_harness.api:Algorithm",
        )
    ]
