"""Hook module of climb-prompts (entry point ``prompts`` in the ``climb.plugins`` group).

Plain data and ``"module:Class"`` factories: listing the algorithms imports no torch.
"""

from __future__ import annotations

from climb_harness.api import Component, algorithm, hookimpl

from climb_prompts.manifests import CODA_MANIFEST, DUALPROMPT_MANIFEST, L2P_MANIFEST


@hookimpl
def climb_algorithms() -> list[Component]:
    return [
        algorithm(L2P_MANIFEST, "climb_prompts.l2p:L2P"),
        algorithm(DUALPROMPT_MANIFEST, "climb_prompts.dualprompt:DualPrompt"),
        algorithm(CODA_MANIFEST, "climb_prompts.coda:CodaPrompt"),
    ]
