"""climb-vilt's hook module (entry point ``vilt`` in the ``climb.plugins`` group).

It imports no torch or transformers: the factories are ``"module:Class"`` strings.
"""

from __future__ import annotations

from climb_harness.api import Component, encoder, hookimpl

from climb_vilt.manifests import VILT_BERT_MANIFEST, VILT_MANIFEST


@hookimpl
def climb_encoders() -> list[Component]:
    return [
        encoder(VILT_MANIFEST, "climb_vilt.vilt:ViltEncoder"),
        encoder(VILT_BERT_MANIFEST, "climb_vilt.vilt_bert:ViltBertEncoder"),
    ]
