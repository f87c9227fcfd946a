"""A plugin of small real components, for tests and for trying the harness in seconds.

Load it with ``climb run --plugin climb_harness.testing.plugin``: tasks ``synthetic-colour``,
``synthetic-yesno`` (questions about coloured squares) and ``synthetic-shade`` (vision-only),
encoder ``tiny`` and algorithm ``finetune``
(plain sequential fine-tuning, the :class:`climb_harness.api.Algorithm` base). It is not installed
as an entry point, so it never shows up in a user's ``climb list`` unless asked for.
"""

from __future__ import annotations

from climb_harness.api import API_VERSION, Component, algorithm, encoder, hookimpl, task
from climb_harness.testing.manifests import TINY_ENCODER_MANIFEST, synthetic_manifest

_NO_OPTIONS = {"type": "object", "properties": {}, "additionalProperties": False}


@hookimpl
def climb_tasks() -> list[Component]:
    """The synthetic tasks.

    Returns:
        ``synthetic-colour``, ``synthetic-yesno`` and the vision-only ``synthetic-shade``.
    """
    factory = "climb_harness.testing.components:SyntheticTask"
    return [
        task(synthetic_manifest("synthetic-colour", "colour"), factory),
        task(synthetic_manifest("synthetic-yesno", "yesno"), factory),
        task(synthetic_manifest("synthetic-shade", "shade"), factory),
    ]


@hookimpl
def climb_encoders() -> list[Component]:
    """TinyEncoder.

    Returns:
        The encoder ``tiny``.
    """
    manifest = {k: v for k, v in TINY_ENCODER_MANIFEST.items() if k != "kind"}
    return [encoder(manifest, "climb_harness.testing.components:TinyEncoder")]


@hookimpl
def climb_algorithms() -> list[Component]:
    """Plain sequential fine-tuning.

    Returns:
        The algorithm ``finetune`` (the :class:`climb_harness.api.Algorithm` base class).
    """
    return [
        algorithm(
            {"name": "finetune", "api_version": API_VERSION, "family": "baseline", "options": _NO_OPTIONS,
             "summary": "Plain sequential fine-tuning (the Algorithm base class).", "data_parallel": True},
            "climb_harness.api:Algorithm",
        )
    ]
