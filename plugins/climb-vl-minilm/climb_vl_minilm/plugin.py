"""climb-vl-minilm's hook module (entry point ``vl-minilm`` in the ``climb.plugins`` group).

It imports no torch or transformers: the factory is a ``"module:Class"`` string.
"""

from __future__ import annotations

from climb_harness.api import Component, encoder, hookimpl

from climb_vl_minilm.manifest import MANIFEST


@hookimpl
def climb_encoders() -> list[Component]:
    return [encoder(MANIFEST, "climb_vl_minilm.encoder:VlMiniLmEncoder")]
