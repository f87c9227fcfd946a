"""Hook module of climb-baselines (entry point ``baselines`` in the ``climb.plugins`` group).

Cheap to import: the manifests are plain data and the factories are ``"module:Class"`` strings,
so listing the algorithms never imports torch.
"""

from __future__ import annotations

from climb_harness.api import Component, algorithm, hookimpl

from climb_baselines.manifests import MANIFESTS

FACTORIES = {
    "sequential-ft": "climb_baselines.sequential_ft:SequentialFineTuning",
    "direct-ft": "climb_baselines.direct_ft:DirectFineTuning",
    "frozen-encoder": "climb_baselines.frozen_encoder:FrozenEncoder",
    "frozen-bottom-k": "climb_baselines.frozen_bottom_k:FrozenBottomK",
    "multitask": "climb_baselines.multitask:Multitask",
}


@hookimpl
def climb_algorithms() -> list[Component]:
    """sequential-ft, direct-ft, frozen-encoder, frozen-bottom-k, multitask."""
    return [algorithm(MANIFESTS[name], factory) for name, factory in FACTORIES.items()]
